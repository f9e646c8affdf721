//! The synthetic tenant: deterministic by seed, valid, and with the usual problems in it.

use crate::common::{bin, scan_json};

#[test]
fn the_same_seed_gives_the_same_tenant_and_another_seed_does_not() {
    let dir = tempfile::tempdir().expect("temp");
    for (name, seed) in [("a", "5"), ("b", "5"), ("c", "6")] {
        bin()
            .args(["generate", "--users", "5000", "--seed", seed, "--out"])
            .arg(dir.path().join(name))
            .assert()
            .success();
    }
    let read = |n: &str| std::fs::read(dir.path().join(n).join("users.jsonl")).expect("users");
    assert_eq!(read("a"), read("b"));
    assert_ne!(read("a"), read("c"));
    let lines = String::from_utf8(read("a")).expect("utf-8").lines().count();
    assert_eq!(lines, 5000);
}

#[test]
fn a_generated_tenant_has_ready_blocked_and_excluded_accounts() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = dir.path().join("t");
    bin()
        .args(["generate", "--users", "20000", "--out"])
        .arg(&snap)
        .assert()
        .success();
    let v = scan_json(&snap, &[]);
    let s = &v["summary"];
    let n = |k: &str| s[k].as_u64().expect("count");
    assert_eq!(n("usersTotal"), 20000);
    assert!(
        n("ready") > n("blocked") && n("blocked") > 0 && n("excluded") > 0,
        "{s}"
    );
    // Every user rule that the generator plants problems for fires.
    for id in [
        "onprem-upn-present",
        "mail-missing",
        "mail-invalid",
        "mail-in-verified-domain",
        "mail-collision",
        "domain-blocked-by-policy",
        "mailbox-present",
    ] {
        let r = v["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .find(|r| r["id"] == id)
            .expect("rule");
        assert!(r["count"].as_u64().expect("count") > 0, "{id} never fired");
    }
}

#[test]
fn thousands_of_accounts_on_one_address_each_collide_with_the_smallest_other_id() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = dir.path().join("t");
    bin()
        .args([
            "generate",
            "--users",
            "6000",
            "--shared-address",
            "3000",
            "--out",
        ])
        .arg(&snap)
        .assert()
        .success();
    // Expected, computed the plain way: every holder of the shared address.
    let users = std::fs::read_to_string(snap.join("users.jsonl")).expect("users");
    let mut holders: Vec<(String, String)> = users
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter(|u| {
            let shared = "accounts-payable@vendor-shared.example";
            let list = |k: &str| u[k].as_array().cloned().unwrap_or_default();
            u["mail"]
                .as_str()
                .is_some_and(|m| m.eq_ignore_ascii_case(shared))
                || list("otherMails")
                    .iter()
                    .any(|m| m.as_str().is_some_and(|m| m.eq_ignore_ascii_case(shared)))
                || list("proxyAddresses").iter().any(|p| {
                    p.as_str()
                        .is_some_and(|p| p.eq_ignore_ascii_case(&format!("smtp:{shared}")))
                })
        })
        .map(|u| {
            (
                u["id"].as_str().expect("id").to_owned(),
                u["userPrincipalName"].as_str().expect("upn").to_owned(),
            )
        })
        .collect();
    holders.sort();
    assert!(
        holders.len() > 3000,
        "some neighbours also list it in otherMails"
    );

    let findings = scan_json(&snap, &[]);
    let collisions: Vec<&serde_json::Value> = findings["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "mail-collision")
        .filter(|f| f["evidence"]["mail"] == "accounts-payable@vendor-shared.example")
        .collect();
    assert_eq!(
        collisions.len(),
        3000,
        "every holder is in scope and collides"
    );
    for f in collisions {
        let id = f["subject"]["id"].as_str().expect("id");
        let other = if id == holders[0].0 {
            &holders[1]
        } else {
            &holders[0]
        };
        assert_eq!(
            f["evidence"]["mail_collision_count"],
            holders.len() - 1,
            "{id}"
        );
        assert_eq!(
            f["evidence"]["mail_collision_with"],
            other.1.as_str(),
            "{id}"
        );
    }
}

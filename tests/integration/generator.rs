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
    // Expected, computed the plain way: every holder of the shared address, among the users
    // (mail, otherMails, smtp proxies, UPN), the contacts (mail, smtp proxies) and the deleted
    // users (mail, smtp proxies, UPN without its id prefix).
    let shared = "accounts-payable@vendor-shared.example";
    let records = |name: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(snap.join(format!("{name}.jsonl")))
            .expect("collection")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect()
    };
    let holds = |v: &serde_json::Value, upn: Option<String>| {
        let list = |k: &str| v[k].as_array().cloned().unwrap_or_default();
        let is = |m: &str| m.eq_ignore_ascii_case(shared);
        v["mail"].as_str().is_some_and(is)
            || upn.as_deref().is_some_and(is)
            || list("otherMails")
                .iter()
                .any(|m| m.as_str().is_some_and(is))
            || list("proxyAddresses").iter().any(|p| {
                p.as_str()
                    .is_some_and(|p| p.eq_ignore_ascii_case(&format!("smtp:{shared}")))
            })
    };
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let mut holders: Vec<(String, String, &str)> = Vec::new();
    for u in records("users") {
        if holds(&u, Some(text(&u, "userPrincipalName"))) {
            holders.push((text(&u, "id"), text(&u, "userPrincipalName"), "user"));
        }
    }
    for c in records("contacts") {
        if holds(&c, None) {
            holders.push((text(&c, "id"), text(&c, "mail"), "contact"));
        }
    }
    for d in records("deletedUsers") {
        let prefix = text(&d, "id").replace('-', "");
        let upn = text(&d, "userPrincipalName");
        let upn = upn.strip_prefix(&prefix).unwrap_or(&upn).to_owned();
        if holds(&d, Some(upn.clone())) {
            holders.push((text(&d, "id"), upn, "deleted-user"));
        }
    }
    assert!(
        holders.iter().any(|h| h.2 == "contact"),
        "a contact holds the address too"
    );
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
        assert_eq!(f["evidence"]["mail_collision_id"], other.0.as_str(), "{id}");
        assert_eq!(f["evidence"]["mail_collision_kind"], other.2, "{id}");
    }
}

#[test]
fn bench_scan_compares_with_the_baseline_round_by_round_and_names_each_phase() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = bin()
        .args([
            "bench",
            "scan",
            "--users",
            "2000",
            "--shared-address",
            "200",
        ])
        .args(["--blocked-pct", "45", "--dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let ratio = stdout
        .lines()
        .find_map(|l| l.strip_prefix("scan / Value baseline:"))
        .expect("the ratio");
    let ratio: f64 = ratio
        .trim()
        .split('x')
        .next()
        .unwrap_or("")
        .parse()
        .expect("a number");
    assert!(ratio > 0.0, "{stdout}");
    assert!(stdout.contains("median of the rounds"), "{stdout}");
    for phase in [
        "read users",
        "collisions",
        "arrange",
        "write findings.json + findings.csv",
    ] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(phase)),
            "{phase}: {stdout}"
        );
    }
    let written = dir.path().join("out-2000");
    for file in [
        "findings.json",
        "findings.csv",
        "verdicts.csv",
        "report.html",
    ] {
        assert!(written.join(file).is_file(), "{file}");
    }
}

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

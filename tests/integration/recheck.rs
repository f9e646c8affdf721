//! Judging single accounts again on live values, through the library: the same verdicts as the
//! full scan for unchanged accounts, and the live values deciding when they changed.

use std::borrow::Cow;

use b2bready::model::{Verdict, user as col};
use b2bready::pipeline::{self, Purpose, ScanFlags, Settings};
use b2bready::scan::ScanResult;
use b2bready::scan::recheck::Checker;
use serde_json::Value;

use crate::common::contoso;

fn settings() -> Settings {
    let flags = ScanFlags {
        no_config: true,
        ..ScanFlags::default()
    };
    Settings::resolve(&flags, None).expect("no config")
}

fn records() -> Vec<Value> {
    std::fs::read_to_string(contoso().join("users.jsonl"))
        .expect("users.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON user"))
        .collect()
}

fn record(id: &str) -> Value {
    records()
        .into_iter()
        .find(|r| r["id"] == id)
        .expect("the account is in the snapshot")
}

fn setup() -> (ScanResult, Checker) {
    let settings = settings();
    let full = pipeline::scan(&contoso(), &settings, Purpose::Plan).expect("scan");
    let checker = pipeline::checker(&contoso(), &settings).expect("checker");
    (full, checker)
}

fn ready_ids(full: &ScanResult) -> Vec<String> {
    full.verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Ready)
        .map(|v| full.user_text(col::ID, v.row).unwrap_or("").to_owned())
        .collect()
}

#[test]
fn unchanged_accounts_get_the_verdict_of_the_full_scan() {
    let (full, checker) = setup();
    assert!(full.verdicts.len() > 10);
    for v in &full.verdicts {
        let id = full.user_text(col::ID, v.row).expect("id");
        let checked = checker.check(&[record(id)]).expect("check");
        assert_eq!(checked.len(), 1, "{id}");
        let c = &checked[0];
        assert_eq!(c.id, id);
        assert_eq!(c.verdict, v.verdict, "{id}");
        assert_eq!(c.blockers, full.rule_ids(&v.blockers), "{id}");
        assert_eq!(c.warnings, full.rule_ids(&v.warnings), "{id}");
        assert_eq!(
            c.excluded,
            full.exclusion_reason(v).map(Cow::into_owned),
            "{id}"
        );
    }
}

#[test]
fn live_values_decide_when_an_account_changed() {
    let (full, checker) = setup();
    let ready = ready_ids(&full);
    let (a, b) = (&ready[0], &ready[1]);

    let mut synced = record(a);
    synced["onPremisesUserPrincipalName"] = "vendor@contoso.local".into();
    let c = &checker.check(&[synced]).expect("check")[0];
    assert_eq!(c.verdict, Verdict::Blocked);
    assert!(
        c.blockers.contains(&"onprem-upn-present".to_owned()),
        "{c:?}"
    );

    // Taking another account's address collides with it, as the snapshot holds it.
    let mut taken = record(a);
    taken["mail"] = record(b)["mail"].clone();
    let c = &checker.check(&[taken]).expect("check")[0];
    assert!(c.blockers.contains(&"mail-collision".to_owned()), "{c:?}");

    // Two live accounts that now share one address collide with each other.
    let mut first = record(a);
    let mut second = record(b);
    first["mail"] = "shared@fabrikam.example".into();
    second["mail"] = "shared@fabrikam.example".into();
    let both = checker.check(&[first, second]).expect("check");
    assert_eq!(both.len(), 2);
    assert_eq!(
        (both[0].id.as_str(), both[1].id.as_str()),
        (a.as_str(), b.as_str())
    );
    assert!(
        both.iter()
            .all(|c| c.blockers.contains(&"mail-collision".to_owned()))
    );

    let mut invited = record(a);
    invited["externalUserState"] = "PendingAcceptance".into();
    let c = &checker.check(&[invited]).expect("check")[0];
    assert_eq!(c.verdict, Verdict::Pending);
    assert_eq!(c.excluded, None);

    let mut redeemed = record(a);
    redeemed["externalUserState"] = "Accepted".into();
    let c = &checker.check(&[redeemed]).expect("check")[0];
    assert_eq!(c.verdict, Verdict::Excluded);
    assert_eq!(
        c.excluded.as_deref(),
        Some("already invited: externalUserState is Accepted")
    );
}

#[test]
fn a_malformed_live_object_is_an_error_not_a_verdict() {
    let (_, checker) = setup();
    let err = checker
        .check(&[serde_json::json!({"id": 7})])
        .expect_err("an id must be text");
    assert!(err.to_string().contains("live user objects"), "{err}");
}

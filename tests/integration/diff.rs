//! `b2bready diff`: the example tenant against a later state of itself, from a findings.json
//! or a snapshot on either side.

use std::path::Path;

use serde_json::Value;

use crate::common::{Tenant, bin, contoso, stderr_of};

const OMAR: &str = "1ee67eca-ac68-4f62-b741-fa848b3316a5";
const RAVI: &str = "53ddfb2f-56c8-4a13-b69a-02de5bb99fc7";
const TOM: &str = "54b69122-8523-42b8-a5dd-0d14156993f2";
const DANIEL: &str = "86bbbb46-6434-48a3-8344-1de629525199";
const NEWCOMER: &str = "0e6a1f3b-7c2d-4e8f-9a1b-5c4d3e2f1a0b";

/// Edits the users of a tenant line by line: `f` gets each user and returns it changed, or
/// `None` to drop it.
fn edit_users(t: &mut Tenant, f: impl Fn(Value) -> Option<Value>) {
    let users: Vec<String> = t.collections["users"]
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| f(serde_json::from_str(l).expect("user")))
        .map(|u| u.to_string())
        .collect();
    t.set("users", &(users.join("\n") + "\n"));
}

/// Contoso a night later: one ready account synced from AD (blocked), one converted, one given
/// a mailbox (ready), one deleted, one new local guest, and invitations opened to everyone.
fn later(dir: &Path) -> std::path::PathBuf {
    let mut t = Tenant::from_dir(&contoso());
    edit_users(&mut t, |mut u| {
        match u["id"].as_str() {
            Some(OMAR) => {
                u["onPremisesSyncEnabled"] = true.into();
                u["onPremisesUserPrincipalName"] = "omar.farouk@corp.contoso.com".into();
            }
            Some(RAVI) => {
                u["externalUserState"] = "Accepted".into();
                u["externalUserStateChangeDateTime"] = "2026-11-21T09:00:00Z".into();
            }
            Some(TOM) => u["mail"] = "tom.becker@adatum.com".into(),
            Some(DANIEL) => return None,
            _ => {}
        }
        Some(u)
    });
    t.add_users(
        &serde_json::json!({
            "id": NEWCOMER,
            "displayName": "=cmd|' /C calc'!A0",
            "userPrincipalName": "new.vendor@contoso.com",
            "mail": "new.vendor@fabrikam.net",
            "userType": "Guest",
            "accountEnabled": true,
            "creationType": null,
        })
        .to_string(),
    );
    let policy = t.collections["authorizationPolicy"].replace(
        "\"allowInvitesFrom\":\"adminsAndGuestInviters\"",
        "\"allowInvitesFrom\":\"everyone\"",
    );
    t.set("authorizationPolicy", &policy);
    t.write(&dir.join("later"))
}

fn diff(dir: &Path, args: &[&str]) -> std::process::Output {
    bin()
        .current_dir(dir)
        .arg("diff")
        .args(args)
        .output()
        .expect("diff runs")
}

#[test]
fn diff_names_every_account_whose_verdict_changed() {
    let dir = tempfile::tempdir().expect("temp");
    let old = dir.path().join("old");
    let scan = bin()
        .args(["scan", "-q", "--fail-on", "never", "-f", "json", "-o"])
        .arg(&old)
        .arg(contoso())
        .output()
        .expect("scan runs");
    assert_eq!(scan.status.code(), Some(0), "{}", stderr_of(&scan));
    later(dir.path());

    let out = diff(
        dir.path(),
        &[
            "old/findings.json",
            "later",
            "-f",
            "table,json,csv,markdown",
            "-o",
            "d",
            "--fail-on-new-blockers",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("fails: 1 account ready before is blocked now"));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("omar.farouk@contoso.com"), "{table}");

    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("d/diff.json")).expect("json"))
            .expect("JSON");
    assert_eq!(json["schema"], "b2bready-diff/1");
    assert_eq!(
        (json["old"]["kind"].as_str(), json["new"]["kind"].as_str()),
        (Some("findings"), Some("snapshot"))
    );
    let changes: Vec<(String, String, String, String)> = json["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or("-").to_owned();
            (s("id"), s("change"), s("oldVerdict"), s("newVerdict"))
        })
        .collect();
    let expect = |id: &str, change: &str, old: &str, new: &str| {
        (
            id.to_owned(),
            change.to_owned(),
            old.to_owned(),
            new.to_owned(),
        )
    };
    assert_eq!(
        changes,
        vec![
            expect(OMAR, "became-blocked", "ready", "blocked"),
            expect(TOM, "became-ready", "blocked", "ready"),
            expect(RAVI, "converted", "ready", "excluded"),
            expect(NEWCOMER, "appeared", "-", "ready"),
            expect(DANIEL, "disappeared", "ready", "-"),
        ]
    );
    assert_eq!(
        json["accounts"][0]["newBlockers"],
        serde_json::json!(["onprem-upn-present"])
    );
    assert_eq!(json["summary"]["readyNowBlocked"], 1);
    assert_eq!(
        json["tenantRules"],
        serde_json::json!([{
            "rule": "invitations-admins-only",
            "change": "resolved",
            "severity": "warning",
            "message": json["tenantRules"][0]["message"],
        }])
    );

    let csv = std::fs::read_to_string(dir.path().join("d/diff.csv")).expect("csv");
    assert!(csv.starts_with("\u{FEFF}id,user_principal_name,display_name,mail,change,"));
    assert!(csv.contains(",'=cmd|' /C calc'!A0,"), "{csv}");
    let md = std::fs::read_to_string(dir.path().join("d/diff.md")).expect("md");
    assert!(md.contains("| became\\-blocked | 1 |"), "{md}");
    assert!(md.contains("omar\\.farouk\\@\u{200B}contoso\\.com"), "{md}");

    // Without --fail-on-new-blockers the same diff passes; a snapshot on both sides works too.
    let out = diff(
        dir.path(),
        &[&contoso().display().to_string(), "later", "-q"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn diff_of_a_tenant_with_itself_lists_nothing() {
    let dir = tempfile::tempdir().expect("temp");
    let c = contoso().display().to_string();
    let out = diff(dir.path(), &[&c, &c, "--fail-on-new-blockers"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no account changed its verdict"));
}

#[test]
fn diff_refuses_two_tenants_and_files_that_are_not_findings() {
    let dir = tempfile::tempdir().expect("temp");
    let other = Tenant::base().write(&dir.path().join("other"));
    let out = diff(
        dir.path(),
        &[
            &contoso().display().to_string(),
            &other.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("different tenants"),
        "{}",
        stderr_of(&out)
    );

    std::fs::write(
        dir.path().join("x.json"),
        "{\"schema\":\"something-else/1\"}",
    )
    .expect("write");
    let out = diff(dir.path(), &["x.json", &contoso().display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("x.json is not a findings.json b2bready wrote"),
        "{}",
        stderr_of(&out)
    );
}

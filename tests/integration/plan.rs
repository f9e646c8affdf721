//! `b2bready plan`: only ready accounts, valid invitation bodies, safe PowerShell and CSV,
//! reproducible files, a digest that catches edits, and `--check` against a newer snapshot.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::{Tenant, bin, contoso, fixtures, scan_json, stderr_of};

pub(crate) fn plan(snapshot: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let o = bin()
        .args(["plan"])
        .arg(snapshot)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).expect("plan.json"))
        .expect("plan.json is JSON")
}

fn ids(values: impl Iterator<Item = String>) -> BTreeSet<String> {
    values.collect()
}

#[test]
fn only_ready_accounts_are_planned_and_the_rest_are_listed_with_their_blockers() {
    let dir = tempfile::tempdir().expect("temp");
    let identities = fixtures().join("contoso-identities.csv");
    let args = ["--external-identities", identities.to_str().expect("utf-8")];
    let p = plan(&contoso(), dir.path(), &args);
    let scan = scan_json(&contoso(), &args);
    let verdicts = scan["verdicts"].as_array().expect("verdicts");
    let with = |v: &str| {
        ids(verdicts
            .iter()
            .filter(|x| x["verdict"] == v)
            .map(|x| x["id"].as_str().expect("id").to_owned()))
    };
    let planned = ids(p["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned()));
    assert_eq!(planned, with("ready"));
    let left: Vec<_> = p["leftOut"].as_array().expect("leftOut").iter().collect();
    let left_ids = ids(left
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned()));
    assert_eq!(
        left_ids,
        &(&with("blocked") | &with("excluded")) | &with("pending")
    );
    for l in left {
        if l["verdict"] == "blocked" {
            assert!(
                !l["blockers"].as_array().expect("blockers").is_empty(),
                "{l}"
            );
        }
    }
}

/// The invitation resource's rules, checked on every body the plan would send.
fn assert_valid_invitation(body: &serde_json::Value, account: &serde_json::Value) {
    let obj = body.as_object().expect("body is an object");
    let allowed = [
        "invitedUserEmailAddress",
        "inviteRedirectUrl",
        "sendInvitationMessage",
        "invitedUserMessageInfo",
        "invitedUser",
    ];
    assert!(obj.keys().all(|k| allowed.contains(&k.as_str())), "{body}");
    assert_eq!(body["invitedUserEmailAddress"], account["mail"]);
    assert!(
        body["inviteRedirectUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://"))
    );
    assert!(body["sendInvitationMessage"].is_boolean());
    let user = body["invitedUser"].as_object().expect("invitedUser");
    assert_eq!(user.len(), 1, "invitedUser must carry only the id: {body}");
    assert_eq!(user["id"], account["id"]);
    if let Some(info) = body.get("invitedUserMessageInfo") {
        let cc = info
            .get("ccRecipients")
            .and_then(|c| c.as_array())
            .map_or(0, Vec::len);
        assert!(cc <= 1, "Graph takes at most one cc recipient: {body}");
    }
}

#[test]
fn every_request_and_batch_is_a_valid_invitation() {
    let dir = tempfile::tempdir().expect("temp");
    let message = dir.path().join("message.txt");
    std::fs::write(
        &message,
        "Dear {{ display_name }}, {{ tenant_name }} invites {{ mail }}. Teams: {{ teams_url }}",
    )
    .expect("write");
    let out = dir.path().join("plan");
    let p = plan(
        &contoso(),
        &out,
        &[
            "--cc",
            "it-desk@contoso.com",
            "--message-language",
            "de-DE",
            "--message-file",
            message.to_str().expect("utf-8"),
            "--wave-size",
            "3",
        ],
    );
    let accounts = p["accounts"].as_array().expect("accounts");
    assert!(accounts.len() >= 10);
    for a in accounts {
        assert_valid_invitation(&a["request"], a);
        let info = &a["request"]["invitedUserMessageInfo"];
        assert_eq!(info["messageLanguage"], "de-DE");
        assert_eq!(
            info["ccRecipients"][0]["emailAddress"]["address"],
            "it-desk@contoso.com"
        );
        let body = info["customizedMessageBody"].as_str().expect("body");
        assert!(
            body.starts_with("Dear ") && body.contains("teams.microsoft.com/?tenantId="),
            "{body}"
        );
    }
    // Waves of three, in order.
    let waves: Vec<u64> = accounts
        .iter()
        .map(|a| a["wave"].as_u64().expect("wave"))
        .collect();
    assert_eq!(
        waves,
        (0..accounts.len() as u64)
            .map(|i| i / 3 + 1)
            .collect::<Vec<_>>()
    );
    // $batch files: at most 20 requests each, ids that are the accounts' ids, same bodies.
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(out.join("batches")).expect("batches") {
        let path = entry.expect("entry").path();
        let batch: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("batch")).expect("json");
        let requests = batch["requests"].as_array().expect("requests");
        assert!(!requests.is_empty() && requests.len() <= 20);
        for r in requests {
            assert_eq!(r["method"], "POST");
            assert_eq!(r["url"], "/invitations");
            assert_eq!(r["headers"]["Content-Type"], "application/json");
            let account = accounts
                .iter()
                .find(|a| a["id"] == r["id"])
                .expect("request id maps to an account");
            assert_eq!(r["body"], account["request"]);
            assert!(
                seen.insert(r["id"].as_str().expect("id").to_owned()),
                "duplicate request id"
            );
        }
    }
    assert_eq!(seen.len(), accounts.len());
}

#[test]
fn no_invitation_message_still_renders_the_communication_file() {
    let dir = tempfile::tempdir().expect("temp");
    let p = plan(&contoso(), dir.path(), &["--no-invitation-message"]);
    for a in p["accounts"].as_array().expect("accounts") {
        assert_eq!(a["request"]["sendInvitationMessage"], false);
    }
    let mut reader = csv::Reader::from_path(dir.path().join("communication.csv")).expect("csv");
    let rows: Vec<_> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(
        rows.len(),
        p["accounts"].as_array().expect("accounts").len()
    );
    assert!(
        rows.iter().all(|r| r[4].contains(&r[2])),
        "each message names its address"
    );
}

#[test]
fn the_same_snapshot_and_options_give_byte_identical_files() {
    let dir = tempfile::tempdir().expect("temp");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    plan(&contoso(), &a, &["--wave-size", "4"]);
    plan(&contoso(), &b, &["--wave-size", "4"]);
    let files = |d: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        for name in ["plan.json", "invite.ps1", "review.csv", "communication.csv"] {
            out.push((name.into(), std::fs::read(d.join(name)).expect("file")));
        }
        let mut batches: Vec<_> = std::fs::read_dir(d.join("batches"))
            .expect("batches")
            .map(|e| e.expect("e").path())
            .collect();
        batches.sort();
        for p in batches {
            out.push((
                p.file_name().expect("name").into(),
                std::fs::read(&p).expect("batch"),
            ));
        }
        out
    };
    assert_eq!(files(&a), files(&b));
}

#[test]
fn an_edited_plan_is_refused_by_check() {
    let dir = tempfile::tempdir().expect("temp");
    plan(&contoso(), dir.path(), &[]);
    bin()
        .args(["plan", "--check"])
        .arg(dir.path())
        .arg(contoso())
        .assert()
        .code(0);
    let path = dir.path().join("plan.json");
    let text = std::fs::read_to_string(&path).expect("plan");
    std::fs::write(
        &path,
        text.replacen("@wingtiptoys.com", "@attacker.example", 1),
    )
    .expect("write");
    let o = bin()
        .args(["plan", "--check"])
        .arg(dir.path())
        .arg(contoso())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr_of(&o).contains("plan.json: was edited after the plan was made"),
        "{}",
        stderr_of(&o)
    );
}

#[test]
fn check_catches_an_account_that_became_blocked_or_changed_its_mail() {
    let dir = tempfile::tempdir().expect("temp");
    let before = Tenant::from_dir(&contoso());
    let snap = before.write(&dir.path().join("before"));
    let out = dir.path().join("plan");
    plan(&snap, &out, &[]);
    // Entra Connect starts writing onPremisesUserPrincipalName for Ravi, and Omar's mail moves.
    let mut after = before.clone();
    let users = after.collections["users"]
        .lines()
        .map(|l| {
            let mut u: serde_json::Value = serde_json::from_str(l).expect("json");
            if u["userPrincipalName"] == "ravi.patel@contoso.com" {
                u["onPremisesUserPrincipalName"] = "ravi.patel@corp.contoso.com".into();
            }
            if u["userPrincipalName"] == "omar.farouk@contoso.com" {
                u["mail"] = "omar.farouk@fabrikam.net".into();
            }
            u.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    after.set("users", &users);
    let snap2 = after.write(&dir.path().join("after"));
    let o = bin()
        .args(["plan", "--check"])
        .arg(&out)
        .arg(&snap2)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("ravi.patel@contoso.com") && stdout.contains("blocked: onprem-upn-present"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("mail changed from omar.farouk@wingtiptoys.com to omar.farouk@fabrikam.net"),
        "{stdout}"
    );
    assert!(stdout.contains("2 of "), "{stdout}");
}

#[test]
fn guest_usertype_needs_a_linked_subscription_unless_forced() {
    let dir = tempfile::tempdir().expect("temp");
    let o = bin()
        .args(["plan", "--set-guest-usertype", "--out"])
        .arg(dir.path().join("refused"))
        .arg(contoso())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr_of(&o).contains("no Azure subscription is linked"),
        "{}",
        stderr_of(&o)
    );
    assert!(!dir.path().join("refused").join("plan.json").exists());
    let p = plan(
        &contoso(),
        &dir.path().join("forced"),
        &["--set-guest-usertype", "--force"],
    );
    for a in p["accounts"].as_array().expect("accounts") {
        let step = &a["postSteps"][0];
        assert_eq!(step["step"], "set-user-type-guest");
        assert_eq!(step["request"]["method"], "PATCH");
        assert_eq!(step["request"]["body"]["userType"], "Guest");
    }
    let script =
        std::fs::read_to_string(dir.path().join("forced").join("invite.ps1")).expect("ps1");
    assert!(script.contains("'User.ReadWrite.All'") && script.contains("Update-MgUser -UserId '"));
}

#[test]
fn bad_plan_options_are_refused() {
    let dir = tempfile::tempdir().expect("temp");
    let run = |args: &[&str]| {
        let o = bin()
            .arg("plan")
            .arg(contoso())
            .arg("--out")
            .arg(dir.path())
            .args(args)
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        stderr_of(&o)
    };
    assert!(run(&["--cc", "not an address"]).contains("--cc"));
    assert!(run(&["--redirect-url", "javascript:alert(1)"]).contains("--redirect-url"));
    assert!(run(&["--wave-size", "0"]).contains("wave-size"));
    let template = dir.path().join("t.txt");
    std::fs::write(&template, "Hi {{ no_such_field }}").expect("write");
    let err = run(&["--message-file", template.to_str().expect("utf-8")]);
    assert!(err.contains("t.txt"), "{err}");
}

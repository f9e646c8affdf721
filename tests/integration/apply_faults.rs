//! `b2bready apply` under faults, over HTTP against the simulator process: throttling, 5xx
//! and answers lost after the invitation was recorded, a run killed mid-wave and resumed, a
//! new guest object created instead of a conversion, tokens expiring under parallel
//! invitations, and a plan of another cloud. Every
//! account is counted on the simulator's side: posted, and recorded (took effect) exactly once.

use serde_json::json;

use crate::apply::{
    CONTOSO, apply, apply_process, count, events, http, invitations, journal, make_plan, planned,
    planned_ids, recorded_once,
};
use crate::common::{Simulator, bin, contoso, stderr_of};

#[test]
fn throttling_errors_and_dropped_answers_never_invite_twice() {
    let sim = Simulator::start(
        &contoso(),
        &[
            "--throttle-every",
            "4",
            "--retry-after",
            "0",
            "--unavailable-every",
            "7",
            "--drop-after-invite-every",
            "2",
            "--unavailable-after-invite-every",
            "3",
        ],
    );
    let (_dir, plan) = applied_once_by_three_workers(&sim);
    let read_back = journal(&plan)
        .iter()
        .filter(|r| r["event"] == "sent" && r["readBack"] == true)
        .count();
    assert!(read_back >= 2, "answers lost after recording are read back");
}

/// Applies a plan of the example tenant with three workers and checks that it succeeds, that
/// every planned account was recorded exactly once and that each has its `sent` event.
fn applied_once_by_three_workers(sim: &Simulator) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, plan) = make_plan(&contoso(), &[]);
    let ids = planned_ids(&plan);
    let o = apply(sim, &plan, &contoso(), CONTOSO)
        .args(["--yes", "--parallel", "3"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    recorded_once(sim, &ids);
    assert_eq!(events(&plan, "sent").len(), ids.len());
    (dir, plan)
}

#[test]
fn tokens_expiring_under_parallel_invitations_invite_each_account_once() {
    // Every fourth request finds its token expired, also the one renewed for a repeat when
    // another worker's request made it expire meanwhile: a 401 took no effect, so the read or
    // the invitation is sent again with a newer token, never left undone nor sent twice.
    let sim = Simulator::start(&contoso(), &["--expire-token-every", "4"]);
    applied_once_by_three_workers(&sim);
}

#[test]
fn a_killed_run_resumes_with_every_account_invited_exactly_once() {
    let sim = Simulator::start(&contoso(), &["--latency-ms", "150"]);
    let (_dir, plan) = make_plan(&contoso(), &[]);
    let ids = planned_ids(&plan);
    let mut child = apply_process(&sim, &plan, &contoso(), CONTOSO)
        .args(["--yes", "--parallel", "2", "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start apply");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while events(&plan, "sent").len() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let sent_before = events(&plan, "sent").len();
    assert!(sent_before >= 3 && sent_before < ids.len(), "{sent_before}");
    // Two accounts not reached yet: one whose intent was journaled but whose request never left
    // (killed in between), one whose request reached Graph without its answer being journaled.
    let sent = events(&plan, "sent");
    let intents = events(&plan, "intent");
    let untouched: Vec<&String> = ids
        .iter()
        .filter(|i| !sent.contains_key(*i) && !intents.contains_key(*i))
        .collect();
    assert!(untouched.len() >= 2, "{untouched:?}");
    let digest = journal(&plan)[0]["planDigest"].clone();
    let account = |id: &str| {
        planned(&plan)
            .into_iter()
            .find(|a| a["id"] == id)
            .expect("planned")
    };
    let reached = account(untouched[1]);
    http(
        &sim,
        CONTOSO,
        "POST",
        "/v1.0/invitations",
        Some(reached["request"].clone()),
    );
    let mut text = std::fs::read_to_string(plan.join("journal.jsonl")).expect("journal");
    for id in [untouched[0], untouched[1]] {
        text.push_str(&format!(
            "{}\n",
            json!({"time": "2026-12-03T10:00:00Z", "event": "intent", "accountId": id, "planDigest": digest, "attempt": 1})
        ));
    }
    // And a record cut off by the kill, which never completed.
    text.push_str("{\"time\":\"2026-12-03T10:00:01Z\",\"event\":\"sent\",\"accou");
    std::fs::write(plan.join("journal.jsonl"), text).expect("write journal");
    let o = apply(&sim, &plan, &contoso(), CONTOSO)
        .args(["--yes", "--resume"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    recorded_once(&sim, &ids);
    let inv = invitations(&sim, CONTOSO);
    assert_eq!(
        count(&inv["posted"], untouched[1]),
        1,
        "read back, not sent again: {inv}"
    );
    assert_eq!(events(&plan, "sent").len(), ids.len());
    assert!(events(&plan, "sent").values().all(|&n| n == 1));
}

#[test]
fn a_refusal_is_explained_and_a_new_guest_stops_the_run() {
    let sim = Simulator::start(&contoso(), &["--new-guest-every", "3"]);
    let (_dir, plan) = make_plan(&contoso(), &[]);
    let accounts = planned(&plan);
    // A user created after the snapshot holds the first account's address: only Graph knows.
    let mail = accounts[0]["mail"].as_str().expect("mail");
    http(
        &sim,
        CONTOSO,
        "POST",
        "/_simulator/users",
        Some(json!({
            "id": "bbbbbbbb-0000-4000-8000-000000000001",
            "userPrincipalName": "late.arrival@contoso.com",
            "mail": mail,
            "userType": "Member",
        })),
    );
    let o = apply(&sim, &plan, &contoso(), CONTOSO)
        .args(["--yes", "--parallel", "1"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let records = journal(&plan);
    let first = records
        .iter()
        .find(|r| r["event"] == "failed" && r["accountId"] == accounts[0]["id"])
        .expect("the refusal is journaled");
    assert_eq!(first["status"], 400);
    assert!(
        first["message"]
            .as_str()
            .expect("message")
            .contains("Non-external user already exists")
    );
    assert!(
        first["reason"]
            .as_str()
            .expect("reason")
            .contains("another user, contact or deleted user")
    );
    let guest = records
        .iter()
        .find(|r| r["invitedUserId"].is_string())
        .expect("the new guest is journaled");
    let new_id = guest["invitedUserId"].as_str().expect("id");
    assert!(out.contains(new_id) && out.contains("stopped"), "{out}");
    let acted = events(&plan, "sent").len() + events(&plan, "failed").len();
    assert!(acted < accounts.len(), "the run stopped at the new guest");
    // Resumed: the account that got a new guest is not invited again.
    let guest_account = guest["accountId"].as_str().expect("account");
    let o = apply(&sim, &plan, &contoso(), CONTOSO)
        .args(["--yes", "--resume", "--parallel", "1"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    let inv = invitations(&sim, CONTOSO);
    assert_eq!(count(&inv["posted"], guest_account), 1, "{inv}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("not sent again"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn a_plan_from_another_cloud_is_refused_before_signing_in() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = crate::common::Tenant::from_dir(&contoso()).write(&dir.path().join("s"));
    let manifest = snap.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        text.replace(r#""cloud": "global""#, r#""cloud": "usgov""#),
    )
    .expect("write");
    let (_plan_dir, plan) = make_plan(&snap, &[]);
    let o = bin()
        .arg("apply")
        .arg(&plan)
        .arg("--snapshot")
        .arg(&snap)
        .args(["--dry-run", "--tenant", CONTOSO, "--access-token-file"])
        .arg(dir.path().join("no-token-needed"))
        .output()
        .expect("run");
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the plan was made from a snapshot of the usgov cloud, and this run signs in to global: pass --cloud usgov"),
        "{err}"
    );
}

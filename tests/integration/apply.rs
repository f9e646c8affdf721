//! `b2bready apply` against the simulator process over HTTP: every ready account converted
//! exactly once (counted on the simulator's side); accounts changed since the plan skipped;
//! wrong plans, tenants and unconfirmed runs refused. Faults, kills and resumes are in
//! `apply_faults`; the helpers here serve both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::{SIM_CLIENT, SIM_SECRET, Simulator, Tenant, bin, contoso, stderr_of};

pub(crate) const CONTOSO: &str = "2f6a3b1c-8d4e-4f5a-9b7c-1e2d3c4b5a69";

/// A plan of `snapshot` in a new folder.
pub(crate) fn make_plan(snapshot: &Path, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("plan");
    let o = bin()
        .arg("plan")
        .arg(snapshot)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .output()
        .expect("run plan");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    (dir, out)
}

pub(crate) fn planned(plan: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(plan.join("plan.json")).expect("plan.json");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    v["accounts"].as_array().expect("accounts").clone()
}

pub(crate) fn planned_ids(plan: &Path) -> Vec<String> {
    planned(plan)
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect()
}

/// `b2bready apply PLAN --snapshot SNAPSHOT` signed in to the simulator.
pub(crate) fn apply(
    sim: &Simulator,
    plan: &Path,
    snapshot: &Path,
    tenant: &str,
) -> assert_cmd::Command {
    assert_cmd::Command::from_std(apply_process(sim, plan, snapshot, tenant))
}

pub(crate) fn apply_process(
    sim: &Simulator,
    plan: &Path,
    snapshot: &Path,
    tenant: &str,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("b2bready"));
    cmd.arg("apply")
        .arg(plan)
        .arg("--snapshot")
        .arg(snapshot)
        .args(["--graph-url", &sim.url, "--login-url", &sim.url])
        .args(["--retry-base-ms", "5", "--read-back-delay-ms", "0"])
        .env("AZURE_TENANT_ID", tenant)
        .env("AZURE_CLIENT_ID", SIM_CLIENT)
        .env("AZURE_CLIENT_SECRET", SIM_SECRET)
        .env_remove("B2BREADY_ACCESS_TOKEN")
        .env_remove("AZURE_AUTHORITY_HOST");
    cmd
}

pub(crate) fn journal(plan: &Path) -> Vec<Value> {
    std::fs::read_to_string(plan.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
        .collect()
}

pub(crate) fn events(plan: &Path, event: &str) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for r in journal(plan).iter().filter(|r| r["event"] == event) {
        *by.entry(r["accountId"].as_str().expect("id").to_owned())
            .or_default() += 1;
    }
    by
}

/// The simulator's own count of invitations: posted (any answer) and recorded (took effect).
pub(crate) fn invitations(sim: &Simulator, tenant: &str) -> Value {
    http(sim, tenant, "GET", "/_simulator/invitations", None)
}

pub(crate) fn http(
    sim: &Simulator,
    tenant: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let client = reqwest::blocking::Client::new();
    let url = format!("{}{path}", sim.url);
    let request = match method {
        "GET" => client.get(&url),
        "PATCH" => client.patch(&url),
        "DELETE" => client.delete(&url),
        _ => client.post(&url),
    };
    let request = match body {
        Some(b) => request.json(&b),
        None => request,
    };
    let response = request
        .bearer_auth(sim.token(tenant))
        .send()
        .expect("request to the simulator");
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    assert!(status < 300, "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

pub(crate) fn count(v: &Value, id: &str) -> u64 {
    v[id].as_u64().unwrap_or(0)
}

pub(crate) fn recorded_once(sim: &Simulator, ids: &[String]) {
    let inv = invitations(sim, CONTOSO);
    for id in ids {
        assert_eq!(count(&inv["recorded"], id), 1, "{id}: {inv}");
    }
    assert_eq!(
        inv["recorded"].as_object().map(|o| o.len()),
        Some(ids.len()),
        "{inv}"
    );
}

fn status_json(sim: &Simulator, plan: &Path) -> Vec<Value> {
    let o = apply(sim, plan, &contoso(), CONTOSO)
        .args(["--status", "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    serde_json::from_slice::<Value>(&o.stdout)
        .expect("status JSON")
        .as_array()
        .expect("rows")
        .clone()
}

#[test]
fn a_plan_is_applied_once_and_its_status_goes_from_pending_to_accepted() {
    let sim = Simulator::start(&contoso(), &["--accept-after-ms", "3000"]);
    let (_dir, plan) = make_plan(&contoso(), &["--set-guest-usertype", "--force"]);
    let ids = planned_ids(&plan);
    assert!(ids.len() >= 5, "{ids:?}");
    let o = apply(&sim, &plan, &contoso(), CONTOSO)
        .arg("--yes")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    recorded_once(&sim, &ids);
    let sent = events(&plan, "sent");
    assert_eq!(sent.keys().cloned().collect::<Vec<_>>(), {
        let mut s = ids.clone();
        s.sort();
        s
    });
    assert!(sent.values().all(|&n| n == 1), "{sent:?}");
    for r in journal(&plan) {
        assert_eq!(r["planDigest"].as_str().map(str::len), Some(64), "{r}");
        assert!(
            r["time"].is_string() && r["attempt"].as_u64() >= Some(1),
            "{r}"
        );
        assert!(
            !r.to_string().contains("ticket"),
            "no redemption link kept: {r}"
        );
        if r["event"] == "sent" {
            assert_eq!(r["inviteRedeemUrlPresent"], true, "{r}");
        }
    }
    // The post-step switched userType, and the synced account's password is left to a person.
    let user = http(
        &sim,
        CONTOSO,
        "GET",
        &format!("/v1.0/users/{}?$select=userType", ids[0]),
        None,
    );
    assert_eq!(user["userType"], "Guest", "{user}");
    let manual = std::fs::read_to_string(plan.join("manual-steps.csv")).expect("manual steps");
    assert!(
        manual.contains("randomize-on-premises-password"),
        "{manual}"
    );
    let rows = status_json(&sim, &plan);
    assert_eq!(rows.len(), ids.len());
    assert!(rows.iter().all(|r| r["state"] == "pending"), "{rows:?}");
    std::thread::sleep(std::time::Duration::from_millis(3200));
    let rows = status_json(&sim, &plan);
    assert!(rows.iter().all(|r| r["state"] == "accepted"), "{rows:?}");
    // Run again: nothing is sent twice.
    let o = apply(&sim, &plan, &contoso(), CONTOSO)
        .args(["--yes", "--resume"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("already sent"));
    recorded_once(&sim, &ids);
    assert_eq!(
        invitations(&sim, CONTOSO)["total"].as_u64(),
        Some(ids.len() as u64)
    );
}

#[test]
fn accounts_changed_since_the_plan_are_skipped_with_the_change_named() {
    let sim = Simulator::start(&contoso(), &[]);
    let (_dir, plan) = make_plan(&contoso(), &[]);
    let accounts = planned(&plan);
    let id = |i: usize| accounts[i]["id"].as_str().expect("id").to_owned();
    let edit = |i: usize, body: Value| {
        http(
            &sim,
            CONTOSO,
            "PATCH",
            &format!("/_simulator/users/{}", id(i)),
            Some(body),
        );
    };
    edit(0, json!({"mail": "someone.else@fabrikam.com"}));
    edit(
        1,
        json!({"onPremisesUserPrincipalName": "synced@corp.contoso.com"}),
    );
    edit(2, json!({"externalUserState": "PendingAcceptance"}));
    http(
        &sim,
        CONTOSO,
        "DELETE",
        &format!("/v1.0/users/{}", id(3)),
        None,
    );
    // Deleted and restored: the same account again, planned and sent as any other.
    for (method, path) in [
        ("DELETE", format!("/v1.0/users/{}", id(4))),
        (
            "POST",
            format!("/v1.0/directory/deletedItems/{}/restore", id(4)),
        ),
    ] {
        http(&sim, CONTOSO, method, &path, None);
    }
    let o = apply(&sim, &plan, &contoso(), CONTOSO)
        .arg("--yes")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    let reasons: BTreeMap<String, String> = journal(&plan)
        .iter()
        .filter(|r| r["event"] == "skipped")
        .map(|r| {
            (
                r["accountId"].as_str().expect("id").to_owned(),
                r["reason"].as_str().expect("reason").to_owned(),
            )
        })
        .collect();
    assert!(reasons[&id(0)].contains("mail changed"), "{reasons:?}");
    assert!(
        reasons[&id(1)].contains("on-premises-upn-present") || reasons[&id(1)].contains("blocked"),
        "{reasons:?}"
    );
    assert!(reasons[&id(2)].contains("already invited"), "{reasons:?}");
    assert!(reasons[&id(3)].contains("no longer exists"), "{reasons:?}");
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    let inv = invitations(&sim, CONTOSO);
    for i in 0..4 {
        assert_eq!(count(&inv["posted"], &id(i)), 0, "{inv}");
    }
    let others: Vec<String> = (4..accounts.len()).map(id).collect();
    recorded_once(&sim, &others);
}

#[test]
fn an_edited_plan_another_tenant_and_an_unconfirmed_run_are_refused_and_send_nothing() {
    let sim = Simulator::start(&contoso(), &[]);
    let (_dir, plan) = make_plan(&contoso(), &[]);
    // Not confirmed: no terminal and no --yes.
    let o = apply(&sim, &plan, &contoso(), CONTOSO)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_of(&o).contains("--yes"), "{}", stderr_of(&o));
    // Edited.
    let path = plan.join("plan.json");
    let text = std::fs::read_to_string(&path).expect("plan.json");
    std::fs::write(&path, text.replacen("\"wave\": 1", "\"wave\": 2", 1)).expect("edit");
    let o = apply(&sim, &plan, &contoso(), CONTOSO)
        .arg("--yes")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_of(&o).contains("edited"), "{}", stderr_of(&o));
    // Another tenant's plan, signed in to contoso.
    let other = tempfile::tempdir().expect("temp");
    let mut t = Tenant::base();
    t.add_users(&crate::common::clean_guest(
        "aaaaaaaa-0000-4000-8000-000000000001",
        "vendor.one@contoso.com",
        "vendor.one@fabrikam.com",
    ));
    let snapshot = t.write(other.path());
    let (_d2, other_plan) = make_plan(&snapshot, &[]);
    let tenant = manifest_tenant(&snapshot);
    let o = apply(&sim, &other_plan, &snapshot, &tenant)
        .arg("--yes")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("tenant"), "{}", stderr_of(&o));
    assert_eq!(invitations(&sim, CONTOSO)["total"].as_u64(), Some(0));
}

#[test]
fn a_dry_run_and_a_missing_permission_send_nothing() {
    let sim = Simulator::start(&contoso(), &["--deny", "invitations"]);
    let (_dir, plan) = make_plan(&contoso(), &[]);
    let o = apply(&sim, &plan, &contoso(), CONTOSO)
        .arg("--dry-run")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("would send"));
    assert!(!plan.join("journal.jsonl").exists());
    let o = apply(&sim, &plan, &contoso(), CONTOSO)
        .arg("--yes")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2), "{}", stderr_of(&o));
    assert!(
        stderr_of(&o).contains("User.Invite.All"),
        "{}",
        stderr_of(&o)
    );
    assert_eq!(invitations(&sim, CONTOSO)["recorded"], json!({}));
}

fn manifest_tenant(snapshot: &Path) -> String {
    let text = std::fs::read_to_string(snapshot.join("manifest.json")).expect("manifest");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    v["tenantId"].as_str().expect("tenantId").to_owned()
}

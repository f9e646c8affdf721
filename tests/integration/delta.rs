//! `export --since`: the users changed since an earlier snapshot, read through Graph's users
//! delta from the simulator, give the snapshot a full export at the same moment gives.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::common::{Simulator, contoso, stderr_of, verdicts_csv};
use crate::export::CONTOSO;

const OMAR: &str = "1ee67eca-ac68-4f62-b741-fa848b3316a5";
const RAVI: &str = "53ddfb2f-56c8-4a13-b69a-02de5bb99fc7";
const TOM: &str = "54b69122-8523-42b8-a5dd-0d14156993f2";
const DANIEL: &str = "86bbbb46-6434-48a3-8344-1de629525199";
const INGRID: &str = "ad4363d6-8a1b-48d1-8e11-3ee68f731a24";
const NEWCOMER: &str = "0e6a1f3b-7c2d-4e8f-9a1b-5c4d3e2f1a0b";

fn call(sim: &Simulator, method: reqwest::Method, path: &str, body: Option<Value>) {
    let mut request = reqwest::blocking::Client::new()
        .request(method.clone(), format!("{}{path}", sim.url))
        .bearer_auth(sim.token(CONTOSO));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().expect("the simulator answers");
    assert!(
        response.status().is_success(),
        "{method} {path}: {}",
        response.status()
    );
}

/// Runs an export into `out` (with `extra`) and returns its standard error.
fn export(sim: &Simulator, out: &Path, extra: &[&str]) -> String {
    let o = sim
        .export(CONTOSO)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("runs");
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    err
}

/// Every file of a snapshot with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("snapshot")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                std::fs::read(&p).expect("read"),
            )
        })
        .collect()
}

/// The users of a snapshot, one line each, sorted (the contract leaves their order open).
fn users(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("users.jsonl")).expect("users");
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

fn counts(dir: &Path) -> Value {
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("json");
    let mut counts = serde_json::Map::new();
    for (name, entry) in m["collections"].as_object().expect("collections") {
        counts.insert(
            name.clone(),
            json!([entry["status"], entry["count"], entry["sha256"]]),
        );
    }
    Value::Object(counts)
}

#[test]
fn an_export_since_an_earlier_one_equals_a_full_export() {
    let sim = Simulator::start(&contoso(), &[]);
    let dir = tempfile::tempdir().expect("temp");
    let (old, delta, full) = (
        dir.path().join("old"),
        dir.path().join("delta"),
        dir.path().join("full"),
    );
    export(&sim, &old, &[]);
    let link =
        serde_json::from_slice::<Value>(&std::fs::read(old.join("manifest.json")).expect("m"))
            .expect("json")["usersDeltaLink"]
            .as_str()
            .map(str::to_owned)
            .expect("a full export keeps the users delta link");
    assert!(
        link.starts_with(&format!("{}/v1.0/users/delta?", sim.url)),
        "{link}"
    );
    let before = files(&old);

    use reqwest::Method;
    let newcomer = json!({"id": NEWCOMER, "userPrincipalName": "new.vendor@contoso.com",
        "mail": "new.vendor@fabrikam.net", "userType": "Guest", "accountEnabled": true, "displayName": "New Vendor"});
    call(&sim, Method::POST, "/_simulator/users", Some(newcomer));
    call(
        &sim,
        Method::PATCH,
        &format!("/_simulator/users/{OMAR}"),
        Some(json!({"mail": "omar@fabrikam.net"})),
    );
    call(
        &sim,
        Method::PATCH,
        &format!("/_simulator/users/{RAVI}"),
        Some(
            json!({"onPremisesUserPrincipalName": "ravi@corp.contoso.com", "onPremisesSyncEnabled": true}),
        ),
    );
    call(&sim, Method::DELETE, &format!("/v1.0/users/{DANIEL}"), None);
    call(
        &sim,
        Method::DELETE,
        &format!("/_simulator/users/{TOM}"),
        None,
    );
    call(&sim, Method::DELETE, &format!("/v1.0/users/{INGRID}"), None);
    call(
        &sim,
        Method::POST,
        &format!("/v1.0/directory/deletedItems/{INGRID}/restore"),
        None,
    );

    let err = export(&sim, &delta, &["--since", &old.display().to_string()]);
    assert!(
        err.contains("and the 6 changed, added or removed since"),
        "{err}"
    );
    export(&sim, &full, &[]);
    assert_eq!(
        files(&old),
        before,
        "the earlier snapshot is left as it was"
    );
    assert_eq!(users(&delta), users(&full));
    assert_eq!(counts(&delta), counts(&full));
    assert_eq!(verdicts_csv(&delta, &[]), verdicts_csv(&full, &[]));
    let ids: Vec<String> = users(&delta)
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(ids.iter().any(|i| i == NEWCOMER) && ids.iter().any(|i| i == INGRID));
    assert!(!ids.iter().any(|i| i == TOM || i == DANIEL));

    // A second round goes on from the link the delta export kept.
    call(
        &sim,
        Method::PATCH,
        &format!("/_simulator/users/{OMAR}"),
        Some(json!({"mail": "omar@northwind.example"})),
    );
    let again = dir.path().join("again");
    let err = export(&sim, &again, &["--since", &delta.display().to_string()]);
    assert!(
        err.contains("and the 1 changed, added or removed since"),
        "{err}"
    );
    assert!(
        std::fs::read_to_string(again.join("users.jsonl"))
            .expect("users")
            .contains("omar@northwind.example")
    );
}

#[test]
fn an_expired_or_reset_delta_token_falls_back_to_reading_all_users() {
    let sim = Simulator::start(&contoso(), &[]);
    let dir = tempfile::tempdir().expect("temp");
    let old = dir.path().join("old");
    export(&sim, &old, &[]);
    reqwest_edit(&sim);
    let full = dir.path().join("full");
    export(&sim, &full, &[]);
    for (how, out) in [("syncStateNotFound", "expired"), ("reset", "reset")] {
        call(
            &sim,
            reqwest::Method::POST,
            "/_simulator/delta",
            Some(json!({"expire": how})),
        );
        let out = dir.path().join(out);
        let err = export(&sim, &out, &["--since", &old.display().to_string()]);
        assert!(
            err.contains("Graph no longer knows the delta token"),
            "{err}"
        );
        assert!(err.contains("reading all users"), "{err}");
        assert_eq!(users(&out), users(&full), "{how}");
    }

    // A link that leads elsewhere is not followed: the token would go with it.
    let tampered = dir.path().join("tampered");
    std::fs::create_dir(&tampered).expect("dir");
    for (name, bytes) in files(&old) {
        std::fs::write(tampered.join(&name), bytes).expect("copy");
    }
    let manifest = std::fs::read_to_string(tampered.join("manifest.json")).expect("m");
    let moved = manifest.replace(&sim.url, "http://127.0.0.2:9");
    assert_ne!(manifest, moved);
    std::fs::write(tampered.join("manifest.json"), moved).expect("write");
    let err = export(
        &sim,
        &dir.path().join("fromtampered"),
        &["--since", &tampered.display().to_string()],
    );
    assert!(err.contains("does not lead to"), "{err}");
}

/// One change, so the rounds have something to say.
fn reqwest_edit(sim: &Simulator) {
    call(
        sim,
        reqwest::Method::PATCH,
        &format!("/_simulator/users/{OMAR}"),
        Some(json!({"mail": "omar@fabrikam.net"})),
    );
}

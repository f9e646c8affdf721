//! The real `export` against the simulator over HTTP on loopback: every sign-in method this
//! build offers, every fault, a kill and resume, and the round trip back through `scan`.

use std::path::Path;

use crate::common::{SIM_SECRET, Simulator, contoso, stderr_of, verdicts_csv};

pub(crate) const CONTOSO: &str = "2f6a3b1c-8d4e-4f5a-9b7c-1e2d3c4b5a69";

/// Runs an export that must fail with exit code 2 and returns its stderr.
fn refused(cmd: &mut assert_cmd::Command) -> String {
    let o = cmd.output().expect("run");
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    err
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"))
        .expect("json")
}

/// Exports the example tenant through a simulator with `faults`, checks the export succeeded
/// and that it scans to the same verdicts as the fixture itself. Returns the export's stderr.
fn round_trip(faults: &[&str], extra: &[&str]) -> String {
    let sim = Simulator::start(&contoso(), faults);
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("snapshot");
    let o = sim
        .export(CONTOSO)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .output()
        .expect("run");
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(manifest(&out)["complete"], true);
    assert_eq!(
        verdicts_csv(&out, &[]),
        verdicts_csv(&contoso(), &[]),
        "{err}"
    );
    err
}

#[test]
fn round_trip_with_a_client_secret_gives_the_same_verdicts() {
    let err = round_trip(&[], &["--page-size", "5"]);
    assert!(err.contains("users: ok (43 records"), "{err}");
}

#[test]
fn a_pre_acquired_token_exports_graph_and_skips_arm_without_its_token() {
    let sim = Simulator::start(&contoso(), &[]);
    let dir = tempfile::tempdir().expect("temp");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, sim.token(CONTOSO)).expect("write token");
    let out = dir.path().join("snapshot");
    let o = sim
        .export(CONTOSO)
        .env_remove("AZURE_CLIENT_SECRET")
        .arg("--access-token-file")
        .arg(&token_file)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let m = manifest(&out);
    assert_eq!(m["collections"]["users"]["count"], 43);
    assert_eq!(m["collections"]["guestUsages"]["status"], "skipped");
}

#[test]
fn throttling_is_retried_after_retry_after_in_seconds_or_as_a_date() {
    let err = round_trip(
        &["--throttle-every", "3", "--retry-after", "0"],
        &["--page-size", "10"],
    );
    assert!(err.contains("throttled"), "{err}");
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    round_trip(
        &["--throttle-every", "4", "--retry-after", &date],
        &["--page-size", "10"],
    );
    // Without Retry-After, the client backs off on its own.
    round_trip(
        &["--throttle-every", "4", "--retry-after", "none"],
        &["--page-size", "10"],
    );
}

#[test]
fn unavailable_and_dropped_connections_are_retried() {
    round_trip(&["--unavailable-every", "3"], &["--page-size", "8"]);
    round_trip(&["--drop-every", "4"], &["--page-size", "8"]);
}

#[test]
fn a_request_that_times_out_is_retried() {
    let err = round_trip(
        &["--stall-every", "5", "--stall-ms", "2000"],
        &["--page-size", "10", "--request-timeout-ms", "400"],
    );
    assert!(!err.contains(" 0 retries"), "{err}");
}

#[test]
fn an_expired_token_is_refreshed_and_the_request_repeated() {
    // Every other request finds its token expired: requests running side by side (the domain
    // lookups) see the token they signed in again for expire under them too, and are repeated
    // with a newer one.
    let err = round_trip(&["--expire-token-every", "2"], &["--page-size", "6"]);
    // "…, N token refreshes; wrote …": N must not be 0 (and "20 token refreshes" is not 0).
    let refreshes = err
        .split(" token refreshes")
        .next()
        .and_then(|head| head.rsplit([' ', ',']).next())
        .and_then(|n| n.parse::<u32>().ok());
    assert!(refreshes.is_some_and(|n| n > 0), "{err}");
}

#[test]
fn an_expired_or_repeated_page_token_restarts_the_collection_without_duplicates() {
    let err = round_trip(&["--expire-page-token-at", "3"], &["--page-size", "4"]);
    assert!(
        err.contains("the page token expired; starting the collection over"),
        "{err}"
    );
    let err = round_trip(&["--repeat-next-link-at", "4"], &["--page-size", "4"]);
    assert!(err.contains("a next link repeated"), "{err}");
}

#[test]
fn a_denied_collection_names_the_permission_and_its_rules_are_not_evaluated() {
    let sim = Simulator::start(&contoso(), &["--deny", "b2bManagementPolicies"]);
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("snapshot");
    sim.export(CONTOSO).arg("--out").arg(&out).assert().code(0);
    let entry = &manifest(&out)["collections"]["b2bManagementPolicies"];
    assert_eq!(entry["status"], "denied");
    assert!(
        entry["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Policy.Read.All")),
        "{entry}"
    );
    let scan = crate::common::scan_json(&out, &[]);
    let rule = scan["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["id"] == "domain-blocked-by-policy")
        .cloned()
        .expect("rule");
    assert_eq!(rule["status"], "not-evaluated");
}

#[test]
fn a_collection_that_keeps_failing_fails_the_export_and_leaves_it_incomplete() {
    let sim = Simulator::start(&contoso(), &["--unavailable-every", "1"]);
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("snapshot");
    let err = refused(
        sim.export(CONTOSO)
            .arg("--out")
            .arg(&out)
            .args(["--max-attempts", "2"]),
    );
    assert!(
        err.starts_with("error: collection organization failed") && err.contains("--resume"),
        "{err}"
    );
    assert_eq!(manifest(&out)["complete"], false);
    let scan = crate::common::bin()
        .args(["scan", "-q"])
        .arg(&out)
        .output()
        .expect("scan");
    assert_eq!(scan.status.code(), Some(2));
}

#[test]
fn a_wrong_secret_fails_clearly_and_no_secret_or_token_is_written_anywhere() {
    let sim = Simulator::start(&contoso(), &[]);
    let dir = tempfile::tempdir().expect("temp");
    let err = refused(
        sim.export(CONTOSO)
            .env("AZURE_CLIENT_SECRET", "wrong-secret-value")
            .arg("--out")
            .arg(dir.path().join("refused")),
    );
    assert!(
        err.contains("invalid_client") && !err.contains("wrong-secret-value"),
        "{err}"
    );

    let out = dir.path().join("snapshot");
    let o = sim
        .export(CONTOSO)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    let all = format!("{}{}", stderr_of(&o), String::from_utf8_lossy(&o.stdout));
    assert!(!all.contains(SIM_SECRET) && !all.contains("sim."), "{all}");
    for entry in std::fs::read_dir(&out).expect("out") {
        let text = std::fs::read_to_string(entry.expect("e").path()).unwrap_or_default();
        assert!(
            !text.contains(SIM_SECRET) && !text.contains("Bearer"),
            "a secret reached a file"
        );
    }
}

#[test]
fn an_export_killed_midway_resumes_to_each_user_exactly_once() {
    let sim = Simulator::start(&contoso(), &["--latency-ms", "60"]);
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("snapshot");
    let exe = assert_cmd::cargo::cargo_bin("b2bready");
    let mut child = std::process::Command::new(exe)
        .arg("export")
        .args([
            "--graph-url",
            &sim.url,
            "--login-url",
            &sim.url,
            "--arm-url",
            &sim.url,
            "--page-size",
            "2",
            "--quiet",
        ])
        .arg("--out")
        .arg(&out)
        .env("AZURE_TENANT_ID", CONTOSO)
        .env("AZURE_CLIENT_ID", crate::common::SIM_CLIENT)
        .env("AZURE_CLIENT_SECRET", SIM_SECRET)
        .spawn()
        .expect("start export");
    // Wait until users are being written, then kill the process mid-collection.
    let partial = out.join("users.jsonl.partial");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) < 2000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the export never reached users"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("kill");
    let _ = child.wait();
    assert!(
        !out.join("users.jsonl").exists(),
        "users finished before the kill"
    );
    sim.export(CONTOSO)
        .arg("--resume")
        .arg(&out)
        .assert()
        .code(0);
    let users = std::fs::read_to_string(out.join("users.jsonl")).expect("users");
    let mut ids: Vec<String> = users
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!((total, ids.len()), (43, 43));
    assert_eq!(verdicts_csv(&out, &[]), verdicts_csv(&contoso(), &[]));
}

#[test]
fn a_used_folder_is_refused_and_plain_http_is_only_for_loopback() {
    let sim = Simulator::start(&contoso(), &[]);
    let o = sim
        .export(CONTOSO)
        .arg("--out")
        .arg(contoso())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_of(&o).contains("already holds a snapshot"));
    let o = crate::common::bin()
        .args([
            "export",
            "--out",
            "x",
            "--graph-url",
            "http://graph.example.com",
            "--access-token-file",
            "/dev/null",
        ])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr_of(&o).contains("plain http is accepted only for loopback"),
        "{}",
        stderr_of(&o)
    );
}

pub(crate) fn assertion(issuer: &str, subject: &str, expires_in: i64) -> String {
    use base64::Engine;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let exp = crate::common::now() + expires_in;
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "k1"})),
        b64(
            serde_json::json!({"aud": "api://AzureADTokenExchange", "iss": issuer, "sub": subject, "exp": exp})
        )
    )
}

#[test]
fn workload_identity_federation_exchanges_the_token_file_and_refuses_a_stranger() {
    let sim = Simulator::start(&contoso(), &[]);
    let dir = tempfile::tempdir().expect("temp");
    let token_file = dir.path().join("oidc-token");
    let issuer = "https://token.actions.githubusercontent.com";
    std::fs::write(
        &token_file,
        assertion(issuer, "repo:contoso/identity:ref:refs/heads/main", 600),
    )
    .expect("write");
    let out = dir.path().join("snapshot");
    let o = sim
        .export(CONTOSO)
        .env_remove("AZURE_CLIENT_SECRET")
        .env("AZURE_FEDERATED_TOKEN_FILE", &token_file)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(verdicts_csv(&out, &[]), verdicts_csv(&contoso(), &[]));

    // Another repository's token, or an expired one, is not exchanged.
    for bad in [
        assertion(issuer, "repo:mallory/fork:ref:refs/heads/main", 600),
        assertion(issuer, "repo:contoso/identity:ref:refs/heads/main", -60),
    ] {
        std::fs::write(&token_file, bad).expect("write");
        let o = sim
            .export(CONTOSO)
            .env_remove("AZURE_CLIENT_SECRET")
            .env("AZURE_FEDERATED_TOKEN_FILE", &token_file)
            .arg("--out")
            .arg(dir.path().join("refused"))
            .output()
            .expect("run");
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("AADSTS70021"), "{err}");
        let _ = std::fs::remove_dir_all(dir.path().join("refused"));
    }
}

#[test]
fn device_code_sign_in_shows_the_code_waits_and_serves_graph_and_arm() {
    let sim = Simulator::start(&contoso(), &[]);
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("snapshot");
    let o = sim
        .export(CONTOSO)
        .env_remove("AZURE_CLIENT_SECRET")
        .arg("--device-code")
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("and enter the code "), "{err}");
    // One sign-in: ARM's token came from the refresh token, not a second device code.
    assert_eq!(err.matches("enter the code").count(), 1, "{err}");
    let m = manifest(&out);
    assert_eq!(m["collections"]["guestUsages"]["status"], "ok");
    assert_eq!(verdicts_csv(&out, &[]), verdicts_csv(&contoso(), &[]));
}

#[test]
fn per_user_collections_go_through_batch_and_throttled_sub_requests_are_retried() {
    let sim = Simulator::start(&contoso(), &["--batch-throttle-every", "7"]);
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("snapshot");
    let o = sim
        .export(CONTOSO)
        .args(["--memberships", "--authentication-methods", "--out"])
        .arg(&out)
        .output()
        .expect("run");
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("(0 throttled)"), "{err}");
    let m = manifest(&out);
    for (name, key) in [
        ("memberships", "memberOf"),
        ("authenticationMethods", "methods"),
    ] {
        assert_eq!(m["collections"][name]["count"], 43, "{name}");
        let text = std::fs::read_to_string(out.join(format!("{name}.jsonl"))).expect("file");
        let mut ids: Vec<String> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json");
                assert!(v[key].as_array().is_some_and(|a| !a.is_empty()), "{l}");
                v["id"].as_str().expect("id").to_owned()
            })
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 43, "{name}: each user exactly once");
    }
    // Still a snapshot the scan reads the same way.
    assert_eq!(verdicts_csv(&out, &[]), verdicts_csv(&contoso(), &[]));

    let denied = Simulator::start(&contoso(), &["--deny", "memberships"]);
    let out = dir.path().join("denied");
    denied
        .export(CONTOSO)
        .args(["--memberships", "--out"])
        .arg(&out)
        .assert()
        .code(0);
    let entry = &manifest(&out)["collections"]["memberships"];
    assert_eq!(entry["status"], "denied");
    assert!(
        entry["reason"]
            .as_str()
            .is_some_and(|r| r.contains("GroupMember.Read.All")),
        "{entry}"
    );
}

#[test]
fn a_client_certificate_in_pem_or_pkcs12_signs_the_assertion() {
    let certs = crate::common::fixtures().join("certs");
    let registered = certs.join("cert.pem");
    let sim = Simulator::start(
        &contoso(),
        &["--client-certificate", registered.to_str().expect("utf-8")],
    );
    let dir = tempfile::tempdir().expect("temp");
    for (file, password) in [("client.pem", None), ("client.pfx", Some("test-password"))] {
        let out = dir.path().join(file);
        let mut cmd = sim.export(CONTOSO);
        cmd.env_remove("AZURE_CLIENT_SECRET")
            .env("AZURE_CLIENT_CERTIFICATE_PATH", certs.join(file))
            .arg("--out")
            .arg(&out);
        if let Some(p) = password {
            cmd.env("AZURE_CLIENT_CERTIFICATE_PASSWORD", p);
        }
        let o = cmd.output().expect("run");
        assert_eq!(o.status.code(), Some(0), "{file}: {}", stderr_of(&o));
        assert_eq!(verdicts_csv(&out, &[]), verdicts_csv(&contoso(), &[]));
    }
    // The same key against a simulator that registered another certificate: refused.
    let other = certs.join("other-cert.pem");
    let strict = Simulator::start(
        &contoso(),
        &["--client-certificate", other.to_str().expect("utf-8")],
    );
    let err = refused(
        strict
            .export(CONTOSO)
            .env_remove("AZURE_CLIENT_SECRET")
            .env("AZURE_CLIENT_CERTIFICATE_PATH", certs.join("client.pem"))
            .arg("--out")
            .arg(dir.path().join("refused")),
    );
    assert!(err.contains("AADSTS700027"), "{err}");
    // A wrong PKCS#12 password is a clear error, not a panic.
    let err = refused(
        sim.export(CONTOSO)
            .env_remove("AZURE_CLIENT_SECRET")
            .env("AZURE_CLIENT_CERTIFICATE_PATH", certs.join("client.pfx"))
            .env("AZURE_CLIENT_CERTIFICATE_PASSWORD", "wrong")
            .arg("--out")
            .arg(dir.path().join("wrong")),
    );
    assert!(
        err.contains("client.pfx") && !err.contains("panicked"),
        "{err}"
    );
}

//! Signing in the way people and pipelines already work, against the simulator: the Azure
//! CLI's session (`az login`, through a stand-in `az` on PATH that answers as the real one
//! does), a managed identity (hosting platform and instance metadata service) and an Azure
//! Pipelines service connection.

use std::path::Path;
#[cfg(unix)]
use std::path::PathBuf;

#[cfg(unix)]
use crate::common::now;
use crate::common::{SIM_CLIENT, Simulator, contoso, stderr_of, verdicts_csv};
use crate::export::CONTOSO;

#[cfg(unix)]
/// A folder holding an `az` that logs its arguments and prints `answers` in turn (the shape of
/// `az account get-access-token --output json`), then fails as the CLI does when signed out.
fn fake_az(dir: &Path, answers: &[serde_json::Value]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let script = bin.join("az");
    // Shell builtins only: PATH holds nothing but this folder.
    std::fs::write(
        &script,
        r#"#!/bin/sh
here=${0%/*}
printf '%s\n' "$*" >> "$here/calls.log"
n=0
while IFS= read -r _; do n=$((n + 1)); done < "$here/calls.log"
if [ -f "$here/answer-$n.json" ]; then
    while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "$line"; done < "$here/answer-$n.json"
    exit 0
fi
echo "ERROR: Please run 'az login' to setup account." >&2
exit 1
"#,
    )
    .expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for (i, answer) in answers.iter().enumerate() {
        std::fs::write(
            bin.join(format!("answer-{}.json", i + 1)),
            answer.to_string(),
        )
        .expect("answer");
    }
    bin
}

#[cfg(unix)]
fn calls(bin: &Path) -> Vec<String> {
    std::fs::read_to_string(bin.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// An export through the simulator that signs in with `--azure-cli` and nothing else.
#[cfg(unix)]
fn export_with_cli(sim: &Simulator, bin: &Path, out: &Path) -> std::process::Output {
    sim.export(CONTOSO)
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env("PATH", bin)
        .arg("--azure-cli")
        .arg("--out")
        .arg(out)
        .output()
        .expect("run")
}

#[cfg(unix)]
#[test]
fn azure_cli_tokens_serve_graph_and_arm_and_are_asked_for_again_near_expiry() {
    let sim = Simulator::start(&contoso(), &[]);
    let dir = tempfile::tempdir().expect("temp");
    // The first tokens are about to expire (inside the two minutes before expiry in which
    // b2bready renews), so each serves one request; the later ones last an hour.
    let tokens: Vec<String> = (0..40).map(|_| sim.token(CONTOSO)).collect();
    let answers: Vec<serde_json::Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let expires_on = now() + if i < 5 { 60 } else { 3600 };
            serde_json::json!({
                "accessToken": token,
                "expiresOn": "2026-12-03 17:00:00.000000",
                "expires_on": expires_on,
                "subscription": "00000000-0000-0000-0000-000000000000",
                "tenant": CONTOSO,
                "tokenType": "Bearer",
            })
        })
        .collect();
    let bin = fake_az(dir.path(), &answers);
    let out = dir.path().join("snapshot");
    let o = export_with_cli(&sim, &bin, &out);
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(verdicts_csv(&out, &[]), verdicts_csv(&contoso(), &[]));
    let calls = calls(&bin);
    let expected = format!(
        "account get-access-token --output json --resource {} --tenant {CONTOSO}",
        sim.url
    );
    assert!(calls.iter().all(|c| *c == expected), "{calls:?}");
    // Five short-lived tokens, then one lasting token each for Graph and ARM (a few more when
    // parallel requests miss the cache together), never one per request.
    assert!((7..=12).contains(&calls.len()), "{} calls", calls.len());
    for token in &tokens {
        assert!(!err.contains(token.as_str()), "a token reached the log");
    }
    for entry in walk(&out) {
        let text = std::fs::read(&entry).expect("read");
        for token in &tokens {
            assert!(
                !text.windows(token.len()).any(|w| w == token.as_bytes()),
                "{} holds a token",
                entry.display()
            );
        }
    }
}

#[cfg(unix)]
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[cfg(unix)]
#[test]
fn a_signed_out_or_missing_azure_cli_is_named_with_what_to_do() {
    let sim = Simulator::start(&contoso(), &[]);
    let dir = tempfile::tempdir().expect("temp");
    let bin = fake_az(dir.path(), &[]);
    let o = export_with_cli(&sim, &bin, &dir.path().join("a"));
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "az account get-access-token failed: ERROR: Please run 'az login' to setup account. (run az login --tenant {CONTOSO}"
        )),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let o = export_with_cli(&sim, &empty, &dir.path().join("b"));
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("the Azure CLI (az) is not on PATH"), "{err}");

    // A tenant that is not an id or a domain never reaches the command line.
    let o = export_with_cli(&sim, &bin, &dir.path().join("c"));
    assert_eq!(o.status.code(), Some(2));
    let asked = calls(&bin).len();
    let o = sim
        .export("x&calc")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env("PATH", &bin)
        .arg("--azure-cli")
        .arg("--out")
        .arg(dir.path().join("d"))
        .output()
        .expect("run");
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is not a tenant id or domain name"), "{err}");
    assert_eq!(
        calls(&bin).len(),
        asked,
        "the CLI was run with {:?}",
        calls(&bin).last()
    );
}

/// An export through the simulator signed in with `flag` and the environment `env`, without
/// the client secret.
fn export_signed_in(
    sim: &Simulator,
    flag: &str,
    env: &[(&str, &str)],
    out: &Path,
) -> std::process::Output {
    let mut cmd = sim.export(CONTOSO);
    cmd.env_remove("AZURE_CLIENT_SECRET")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("IDENTITY_HEADER")
        .env_remove("AZURE_POD_IDENTITY_AUTHORITY_HOST")
        .arg(flag)
        .arg("--out")
        .arg(out);
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    cmd.output().expect("run")
}

#[test]
fn a_managed_identity_signs_in_on_a_hosting_platform_and_on_a_virtual_machine() {
    use b2bready::simulator::identity::IDENTITY_HEADER;
    let sim = Simulator::start(&contoso(), &["--expire-token-every", "5"]);
    let dir = tempfile::tempdir().expect("temp");
    let msi = format!("{}/msi/token", sim.url);
    // App Service, Functions, Container Apps: the system-assigned identity.
    let hosting = [
        ("IDENTITY_ENDPOINT", msi.as_str()),
        ("IDENTITY_HEADER", IDENTITY_HEADER),
        ("AZURE_CLIENT_ID", ""),
    ];
    let out = dir.path().join("hosting");
    let o = export_signed_in(&sim, "--managed-identity", &hosting, &out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(verdicts_csv(&out, &[]), verdicts_csv(&contoso(), &[]));
    // A virtual machine's metadata service, and a user-assigned identity by its client id.
    let imds = [("AZURE_POD_IDENTITY_AUTHORITY_HOST", sim.url.as_str())];
    let out = dir.path().join("vm");
    let o = export_signed_in(&sim, "--managed-identity", &imds, &out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(verdicts_csv(&out, &[]), verdicts_csv(&contoso(), &[]));

    let refused = |env: &[(&str, &str)], name: &str| {
        let o = export_signed_in(&sim, "--managed-identity", env, &dir.path().join(name));
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            !err.contains(IDENTITY_HEADER),
            "the header reached the log: {err}"
        );
        err
    };
    let wrong = [
        ("IDENTITY_ENDPOINT", msi.as_str()),
        ("IDENTITY_HEADER", "not-the-header"),
    ];
    assert!(refused(&wrong, "wrong").contains("401"));
    let stranger = [
        ("AZURE_POD_IDENTITY_AUTHORITY_HOST", sim.url.as_str()),
        ("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000000"),
    ];
    assert!(refused(&stranger, "stranger").contains("Identity not found"));
    let nowhere = [("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")];
    assert!(refused(&nowhere, "nowhere").contains("no managed identity answered at"));
    let clear = [
        ("IDENTITY_ENDPOINT", "http://identity.example.com/msi/token"),
        ("IDENTITY_HEADER", IDENTITY_HEADER),
    ];
    assert!(refused(&clear, "clear").contains("must be https"));
}

#[test]
fn an_azure_pipelines_service_connection_asks_for_a_new_oidc_token_at_each_sign_in() {
    use b2bready::simulator::identity::{PIPELINE_ACCESS_TOKEN, SERVICE_CONNECTION};
    let sim = Simulator::start(
        &contoso(),
        &[
            "--federated-issuer",
            "https://vstoken.dev.azure.com/4c2f3a6e-8f0b-4d7a-9a51-2b7c1d0e5f31",
            "--federated-subject",
            "sc://contoso/identity/b2bready-nightly",
            "--expire-token-every",
            "5",
        ],
    );
    let dir = tempfile::tempdir().expect("temp");
    let uri = format!(
        "{}/contoso/_apis/distributedtask/hubs/build/plans/1/jobs/2/oidctoken",
        sim.url
    );
    let job = [
        ("SYSTEM_OIDCREQUESTURI", uri.as_str()),
        ("SYSTEM_ACCESSTOKEN", PIPELINE_ACCESS_TOKEN),
        (
            "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
            SERVICE_CONNECTION,
        ),
        ("AZURESUBSCRIPTION_CLIENT_ID", SIM_CLIENT),
        ("AZURESUBSCRIPTION_TENANT_ID", CONTOSO),
        ("AZURE_CLIENT_ID", ""),
        ("AZURE_TENANT_ID", ""),
    ];
    let out = dir.path().join("ok");
    let o = export_signed_in(&sim, "--azure-pipelines", &job, &out);
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(verdicts_csv(&out, &[]), verdicts_csv(&contoso(), &[]));
    // Tokens were expired on purpose: each renewal went through a fresh OIDC token.
    assert!(!err.contains(" 0 token refreshes"), "{err}");
    assert!(
        !err.contains(PIPELINE_ACCESS_TOKEN),
        "the job token reached the log"
    );

    let mut unmapped = job.to_vec();
    unmapped[1] = ("SYSTEM_ACCESSTOKEN", "");
    let o = export_signed_in(&sim, "--azure-pipelines", &unmapped, &dir.path().join("a"));
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("SYSTEM_ACCESSTOKEN: $(System.AccessToken)"),
        "{err}"
    );
    let mut other = job.to_vec();
    other[2] = ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "someone-elses");
    let o = export_signed_in(&sim, "--azure-pipelines", &other, &dir.path().join("b"));
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("refused an OIDC token for service connection someone-elses"),
        "{err}"
    );
}

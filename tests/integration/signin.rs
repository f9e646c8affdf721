//! Signing in the way people already work, against the simulator: the Azure CLI's session
//! (`az login`), through a stand-in `az` on PATH that answers as the real one does.

use std::path::{Path, PathBuf};

use crate::common::{SIM_CLIENT, Simulator, contoso, fixtures, stderr_of, verdicts_csv};
use crate::export::CONTOSO;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

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

fn calls(bin: &Path) -> Vec<String> {
    std::fs::read_to_string(bin.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// An export through the simulator that signs in with `--azure-cli` and nothing else.
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

/// Signs `claims` under `header` with the example client key, RSA-PSS or PKCS#1 v1.5.
fn signed(header: serde_json::Value, claims: serde_json::Value, pss: bool) -> String {
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair};
    use base64::Engine;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let pem = std::fs::read_to_string(fixtures().join("certs/client.pem")).expect("pem");
    let der = &b2bready::graph::cert::pem_blocks(&pem, "PRIVATE KEY")[0];
    let key = RsaKeyPair::from_pkcs8(der).expect("key");
    let input = format!("{}.{}", b64(&header), b64(&claims));
    let mut signature = vec![0; key.public_modulus_len()];
    let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = if pss {
        &RSA_PSS_SHA256
    } else {
        &RSA_PKCS1_SHA256
    };
    key.sign(
        padding,
        &aws_lc_rs::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .expect("sign");
    format!(
        "{input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature)
    )
}

/// The assertion b2bready signs must be the form Entra documents today, so the simulator takes
/// exactly that form: PS256, the certificate named by `x5t#S256`, a `jti`.
#[test]
fn the_simulator_takes_only_ps256_assertions_named_by_sha256_thumbprint() {
    let certs = fixtures().join("certs");
    let sim = Simulator::start(
        &contoso(),
        &[
            "--client-certificate",
            certs.join("cert.pem").to_str().expect("utf-8"),
        ],
    );
    let pem = std::fs::read_to_string(certs.join("cert.pem")).expect("pem");
    let thumbprint = b2bready::graph::cert::thumbprint(
        &b2bready::graph::cert::pem_blocks(&pem, "CERTIFICATE")[0],
    );
    let audience = format!("{}/{CONTOSO}/oauth2/v2.0/token", sim.url);
    let claims = |jti: bool| {
        let mut c = serde_json::json!({"aud": audience, "iss": SIM_CLIENT, "sub": SIM_CLIENT,
            "nbf": now(), "iat": now(), "exp": now() + 600});
        if jti {
            c["jti"] = "8f0c5b8e-2f4e-4a8e-9d1c-3e5b7a9c1d2f".into();
        }
        c
    };
    let status = |assertion: String| {
        reqwest::blocking::Client::new()
            .post(&audience)
            .form(&[
                ("client_id", SIM_CLIENT),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
                ("scope", &format!("{}/.default", sim.url)),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .expect("token request")
            .status()
            .as_u16()
    };
    let ps256 = serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": thumbprint});
    assert_eq!(status(signed(ps256.clone(), claims(true), true)), 200);
    assert_eq!(status(signed(ps256, claims(false), true)), 401, "no jti");
    let rs256 = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t#S256": thumbprint});
    assert_eq!(status(signed(rs256, claims(true), false)), 401, "RS256");
    let sha1_name = serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t": thumbprint});
    assert_eq!(status(signed(sha1_name, claims(true), true)), 401, "x5t");
}

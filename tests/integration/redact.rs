//! `--redact`: no UPN, mail address, display name or object id of the tenant in any output;
//! the same pseudonyms in every run with one key; counts and verdicts unchanged.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::common::{bin, contoso, stderr_of};

const KEY: &str = "a-redaction-key-for-the-tests-0001";

/// Every identifier of a person in the example tenant: ids, UPNs, mail, other addresses and
/// display names of its users, deleted users and contacts.
fn identifiers() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for collection in ["users", "deletedUsers", "contacts"] {
        let text =
            std::fs::read_to_string(contoso().join(format!("{collection}.jsonl"))).expect("read");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).expect("json");
            for key in [
                "id",
                "userPrincipalName",
                "mail",
                "displayName",
                "onPremisesUserPrincipalName",
            ] {
                found.extend(v[key].as_str().map(str::to_lowercase));
            }
            for key in ["otherMails", "proxyAddresses"] {
                for a in v[key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    found.insert(a.rsplit(':').next().unwrap_or(a).to_lowercase());
                }
            }
        }
    }
    found.retain(|v| v.len() > 3);
    found
}

/// Output text as a reader sees it: entities and escapes undone, so an escaped identifier
/// still counts.
fn readable(text: &str) -> String {
    text.replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace(['\\', '\u{200B}'], "")
        .to_lowercase()
}

fn assert_clean(what: &str, text: &str, ids: &BTreeSet<String>) {
    let text = readable(text);
    let leaks: Vec<&String> = ids.iter().filter(|id| text.contains(id.as_str())).collect();
    assert!(leaks.is_empty(), "{what} holds {leaks:?}");
}

const CONFIG: &str = r#"
[[exception]]
rule = "mail-missing"
subject = "tom.becker@contoso.com"
reason = "mailbox for tom.becker@contoso.com is created by HR onboarding"
owner = "identity-team@contoso.com"
"#;

/// `b2bready scan … contoso` in `dir`, with `key` as B2BREADY_REDACT_KEY (or none).
fn scan_with(dir: &Path, key: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut cmd = bin();
    cmd.current_dir(dir);
    match key {
        Some(key) => cmd.env("B2BREADY_REDACT_KEY", key),
        None => cmd.env_remove("B2BREADY_REDACT_KEY"),
    };
    cmd.arg("scan")
        .args(args)
        .arg(contoso())
        .output()
        .expect("scan runs")
}

fn scan(dir: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    scan_with(
        dir,
        Some(KEY),
        &[&["--fail-on", "never", "-o", out], extra].concat(),
    )
}

fn summary(dir: &Path, out: &str) -> (Value, Vec<Value>) {
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.join(out).join("findings.json")).expect("read"))
            .expect("json");
    let counts = json["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["count"].clone())
        .collect();
    (json["summary"].clone(), counts)
}

#[test]
fn no_output_of_a_redacted_scan_names_anyone() {
    let dir = tempfile::tempdir().expect("temp");
    std::fs::write(dir.path().join("b2bready.toml"), CONFIG).expect("config");
    let base = scan(dir.path(), "base", &["-q", "--scope", "all", "-f", "json"]);
    assert_eq!(base.status.code(), Some(0), "{}", stderr_of(&base));
    let formats = "table,json,csv,html,sarif,junit,markdown,github";
    let run = scan(
        dir.path(),
        "red",
        &[
            "--redact",
            "--baseline",
            "base/findings.json",
            "-f",
            formats,
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr_of(&run));
    let ids = identifiers();
    assert!(ids.len() > 100, "{} identifiers", ids.len());
    assert_clean(
        "standard output",
        &String::from_utf8_lossy(&run.stdout),
        &ids,
    );
    assert_clean("standard error", &stderr_of(&run), &ids);
    let files: Vec<_> = std::fs::read_dir(dir.path().join("red"))
        .expect("out")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 7, "{files:?}");
    for file in &files {
        assert_clean(
            &file.display().to_string(),
            &std::fs::read_to_string(file).expect("read"),
            &ids,
        );
    }
    let findings = std::fs::read_to_string(dir.path().join("red/findings.json")).expect("read");
    assert!(
        findings.contains("\"resolved\": [\n"),
        "the baseline's resolved findings are listed"
    );

    // The same counts, verdicts and rule hits as without --redact.
    let plain = scan(
        dir.path(),
        "plain",
        &["-q", "--baseline", "base/findings.json", "-f", "json"],
    );
    assert_eq!(plain.status.code(), Some(0), "{}", stderr_of(&plain));
    assert_eq!(summary(dir.path(), "red"), summary(dir.path(), "plain"));
}

#[test]
fn pseudonyms_are_stable_under_one_key_and_differ_under_another() {
    let dir = tempfile::tempdir().expect("temp");
    let verdicts = |out: &str| {
        std::fs::read_to_string(dir.path().join(out).join("verdicts.csv")).expect("read")
    };
    for (out, key) in [
        ("a", KEY),
        ("b", KEY),
        ("c", "another-key-of-enough-length"),
    ] {
        let args = [
            "-q",
            "--no-config",
            "--fail-on",
            "never",
            "--redact",
            "-f",
            "csv",
            "-o",
            out,
        ];
        let run = scan_with(dir.path(), Some(key), &args);
        assert_eq!(run.status.code(), Some(0), "{}", stderr_of(&run));
    }
    assert_eq!(verdicts("a"), verdicts("b"));
    assert_ne!(verdicts("a"), verdicts("c"));
    assert!(!verdicts("a").contains("adatum.com"));

    // The key from a file, domains kept.
    std::fs::write(dir.path().join("key"), format!("{KEY}\n")).expect("key");
    let args = [
        "-q",
        "--no-config",
        "--fail-on",
        "never",
        "--redact",
        "--redact-key-file",
        "key",
    ];
    let run = scan_with(
        dir.path(),
        None,
        &[
            &args[..],
            &["--redact-keep-domains", "-f", "csv", "-o", "d"],
        ]
        .concat(),
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr_of(&run));
    let kept = verdicts("d");
    assert!(
        kept.contains("@adatum.com") && kept.contains(",u-"),
        "{kept}"
    );
    assert_clean("verdicts.csv with domains kept", &kept, &identifiers());
}

#[test]
fn redaction_needs_a_key_and_the_config_can_ask_for_it() {
    let dir = tempfile::tempdir().expect("temp");
    std::fs::write(dir.path().join("b2bready.toml"), "redact = true\n").expect("config");
    let run = scan_with(dir.path(), None, &["-q", "-f", "csv", "-o", "out"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr_of(&run).contains("--redact needs a key: set B2BREADY_REDACT_KEY"),
        "{}",
        stderr_of(&run)
    );
    assert!(
        !dir.path().join("out").exists(),
        "nothing written without a key"
    );
    let run = scan_with(dir.path(), Some("short"), &["-q", "-f", "csv", "-o", "out"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr_of(&run).contains("the redaction key is 5 bytes"),
        "{}",
        stderr_of(&run)
    );
}

#[test]
fn a_redacted_diff_uses_the_scans_pseudonyms() {
    let dir = tempfile::tempdir().expect("temp");
    let run = scan(dir.path(), "old", &["-q", "--no-config", "-f", "json"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr_of(&run));
    let run = scan(
        dir.path(),
        "red",
        &["-q", "--no-config", "--redact", "-f", "csv"],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr_of(&run));
    // A side on its own: every account disappears, so every account is listed.
    let mut empty: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("old/findings.json")).expect("read"))
            .expect("json");
    empty["verdicts"] = Value::Array(Vec::new());
    std::fs::write(dir.path().join("empty.json"), empty.to_string()).expect("write");
    let out = bin()
        .current_dir(dir.path())
        .env("B2BREADY_REDACT_KEY", KEY)
        .args([
            "diff",
            "--no-config",
            "--redact",
            "old/findings.json",
            "empty.json",
            "-f",
            "table,csv",
            "-o",
            "d",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let ids = identifiers();
    let diff = std::fs::read_to_string(dir.path().join("d/diff.csv")).expect("read");
    assert_clean("diff.csv", &diff, &ids);
    assert_clean(
        "the diff table",
        &String::from_utf8_lossy(&out.stdout),
        &ids,
    );
    let scanned = std::fs::read_to_string(dir.path().join("red/verdicts.csv")).expect("read");
    let first_id = |csv: &str| {
        csv.lines()
            .nth(1)
            .expect("a row")
            .split(',')
            .next()
            .expect("id")
            .to_owned()
    };
    let id = first_id(&scanned);
    assert!(
        diff.contains(&id),
        "the scan's pseudonym {id} is in the diff"
    );
    assert_eq!(diff.lines().count(), scanned.lines().count());
}

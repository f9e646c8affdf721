//! findings.json's lines are assembled by hand for speed: each must be the line `serde_json`
//! writes for the finding or verdict, whatever the tenant's strings hold, with exceptions and
//! a baseline.
//! findings.json and findings.csv written together are the files written apart.

use std::path::{Path, PathBuf};

use b2bready::pipeline::{self, Purpose, ReviewFlags, ScanFlags, Settings};
use b2bready::report::finding_rows::{push_evidence, push_line};
use b2bready::report::json::{finding, verdict};
use b2bready::report::verdict_rows;

use crate::common::{Tenant, bin, clean_guest, scan_json, scan_json_into};

/// Strings that need every kind of JSON escape (each alone in one of them), and cells a
/// spreadsheet would run.
fn awkward_users() -> String {
    let quoted = serde_json::json!({
        "id": "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d",
        "displayName": "Zoë \"Z\" Back\\slash\ttab\nline\u{1}\u{1f} 😀",
        "userPrincipalName": "=zoe\\back@contoso.com",
        "mail": "zoë\u{7f}\u{1}x@fabrikam.example",
        "userType": "Guest",
        "accountEnabled": false,
        "onPremisesUserPrincipalName": "zoe\"@corp.contoso.com",
    });
    let plain = clean_guest(
        "7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e",
        "-ana@contoso.com",
        "ana@contoso.com",
    );
    // Excluded, with a reason.
    let guest = serde_json::json!({
        "id": "8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e1f",
        "userPrincipalName": "ana_adatum.com#EXT#@contoso.onmicrosoft.com",
        "mail": "ana@adatum.com",
        "userType": "Guest",
        "creationType": "Invitation",
        "externalUserState": "Accepted",
    });
    format!("{quoted}\n{plain}\n{guest}")
}

/// The base tenant (for a baseline, so its findings are `unchanged`) and the same tenant with
/// the awkward accounts added (their findings are `new`).
fn tenants(dir: &Path) -> (PathBuf, PathBuf) {
    let before = Tenant::base().write(&dir.join("before"));
    let mut t = Tenant::base();
    t.add_users(&awkward_users());
    (before, t.write(&dir.join("after")))
}

/// A config accepting the first finding of the awkward account, until a date far away.
fn config(dir: &Path, after: &Path) -> PathBuf {
    let v = scan_json(after, &["--no-config"]);
    let f = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["subject"]["id"] == "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d")
        .expect("the awkward account has findings");
    let path = dir.join("b2bready.toml");
    let text = format!(
        "[[exception]]\nrule = \"{}\"\nsubject = \"6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d\"\nreason = \"a \\\"quoted\\\" reason\"\nowner = \"=owner@contoso.com\"\nexpires = 2099-12-31\n",
        f["rule"].as_str().expect("rule")
    );
    std::fs::write(&path, text).expect("config");
    path
}

fn baseline(dir: &Path, before: &Path) -> PathBuf {
    scan_json_into(&dir.join("baseline"), before, &["--no-config"])
}

#[test]
fn each_line_is_what_serde_json_writes_for_the_finding_or_verdict() {
    let dir = tempfile::tempdir().expect("temp");
    let (before, after) = tenants(dir.path());
    let flags = ScanFlags {
        config: Some(config(dir.path(), &after)),
        ..ScanFlags::default()
    };
    let review = ReviewFlags {
        baseline: Some(baseline(dir.path(), &before)),
        ..ReviewFlags::default()
    };
    let settings = Settings::resolve(&flags, Some(&review)).expect("settings");
    let result = pipeline::scan(&after, &settings, Purpose::Review).expect("scan");
    let (mut accepted, mut new, mut unchanged, mut escaped, mut tenant) = (0, 0, 0, 0, 0);
    for f in &result.findings {
        let dto = finding(&result, f);
        let want = serde_json::to_string(&dto).expect("serialises");
        let mut evidence = Vec::new();
        push_evidence(&mut evidence, &dto.evidence).expect("evidence");
        assert_eq!(
            String::from_utf8_lossy(&evidence),
            serde_json::to_string(&dto.evidence).expect("serialises")
        );
        let mut line = Vec::new();
        push_line(&mut line, &dto, &evidence).expect("line");
        assert_eq!(String::from_utf8_lossy(&line), want);
        accepted += usize::from(dto.exception.is_some());
        new += usize::from(dto.baseline == Some("new"));
        unchanged += usize::from(dto.baseline == Some("unchanged"));
        escaped += usize::from(want.contains("\\u0001"));
        tenant += usize::from(dto.subject.kind == "tenant");
    }
    let (mut reasons, mut blocked, mut escaped_names) = (0, 0, 0);
    for v in &result.verdicts {
        let dto = verdict(&result, v);
        let want = serde_json::to_string(&dto).expect("serialises");
        let mut line = Vec::new();
        verdict_rows::push_line(&mut line, &dto).expect("line");
        assert_eq!(String::from_utf8_lossy(&line), want);
        reasons += usize::from(dto.reason.is_some());
        blocked += usize::from(dto.blockers.len() > 1);
        escaped_names += usize::from(want.contains("\\u001f"));
    }
    assert!(
        reasons > 0 && blocked > 0 && escaped_names > 0,
        "{reasons} {blocked} {escaped_names}"
    );
    assert_eq!(accepted, 1, "the exception accepts one finding");
    assert!(
        new > 0 && unchanged > 0 && tenant > 0,
        "{new} {unchanged} {tenant}"
    );
    assert!(escaped > 0, "no line needed escaping");
}

fn scan_to(out: &Path, snapshot: &Path, config: &Path, baseline: &Path, format: &str) {
    bin()
        .env("SOURCE_DATE_EPOCH", "1795000000")
        .args(["scan", "-q", "--fail-on", "never", "-f", format, "-o"])
        .arg(out)
        .arg("--config")
        .arg(config)
        .arg("--baseline")
        .arg(baseline)
        .arg(snapshot)
        .assert()
        .code(0);
}

#[test]
fn json_and_csv_written_together_are_the_files_written_apart() {
    let dir = tempfile::tempdir().expect("temp");
    let (before, after) = tenants(dir.path());
    let config = config(dir.path(), &after);
    let baseline = baseline(dir.path(), &before);
    let (both, json, csv) = (
        dir.path().join("b"),
        dir.path().join("j"),
        dir.path().join("c"),
    );
    scan_to(&both, &after, &config, &baseline, "json,csv");
    scan_to(&json, &after, &config, &baseline, "json");
    scan_to(&csv, &after, &config, &baseline, "csv");
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).expect("written");
    assert_eq!(read(&both, "findings.json"), read(&json, "findings.json"));
    assert_eq!(read(&both, "findings.csv"), read(&csv, "findings.csv"));
    assert_eq!(read(&both, "verdicts.csv"), read(&csv, "verdicts.csv"));
    // Row by row, the CSV says what the JSON says.
    let v: serde_json::Value = serde_json::from_slice(&read(&both, "findings.json")).expect("JSON");
    let findings = v["findings"].as_array().expect("findings");
    assert!(read(&both, "findings.csv").starts_with("\u{feff}rule,severity,".as_bytes()));
    let mut rows = csv::Reader::from_path(both.join("findings.csv")).expect("csv");
    let mut n = 0;
    for (row, f) in rows.records().zip(findings) {
        let row = row.expect("row");
        assert_eq!(row.len(), 15);
        assert_eq!(row[0], f["rule"]);
        assert_eq!(row[3], f["subject"]["id"]);
        let evidence: serde_json::Value = serde_json::from_str(&row[7]).expect("evidence");
        assert_eq!(evidence, f["evidence"]);
        assert_eq!(row[8], f["fingerprint"]);
        assert_eq!(&row[10], if f["accepted"] == true { "yes" } else { "no" });
        assert!(!row.iter().any(|c| c.starts_with(['=', '-'])), "{row:?}");
        n += 1;
    }
    assert_eq!(n, findings.len());
}

/// The arguments of a scan of every account of `snap` to findings.json and findings.csv in
/// `out`.
#[cfg(unix)]
fn scan_all(out: &Path, snap: &Path) -> Vec<std::ffi::OsString> {
    let flags = [
        "scan",
        "-q",
        "--no-config",
        "--scope",
        "all",
        "--fail-on",
        "never",
    ];
    let mut args: Vec<std::ffi::OsString> = flags.into_iter().map(Into::into).collect();
    args.extend(["-f", "json,csv", "-o"].map(Into::into));
    args.extend([out.as_os_str().to_owned(), snap.as_os_str().to_owned()]);
    args
}

/// A write that fails part way (here: findings.json grows past the largest file the process
/// may write, findings.csv stays below it) names the file it failed in, and leaves neither
/// of the two files, whole or in part.
#[cfg(unix)]
#[test]
fn a_failed_write_names_its_file_and_leaves_neither_file() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = dir.path().join("snapshot");
    bin()
        .args(["generate", "--users", "5000", "--out"])
        .arg(&snap)
        .assert()
        .code(0);
    let out = dir.path().join("out");
    let exe = assert_cmd::cargo::cargo_bin("b2bready");
    // bash counts the limit in KiB; an ignored SIGXFSZ makes the write fail instead.
    let limited = std::process::Command::new("bash")
        .args(["-c", "trap '' XFSZ; ulimit -f 9000; exec \"$0\" \"$@\""])
        .arg(&exe)
        .args(scan_all(&out, &snap))
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&limited.stderr);
    assert_eq!(limited.status.code(), Some(2), "{err}");
    let json = out.join("findings.json");
    assert!(
        err.contains(&format!("cannot write {}", json.display())),
        "{err}"
    );
    let left: Vec<String> = std::fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["verdicts.csv"], "{err}");
    // Without the limit, findings.json is the larger file and findings.csv fits under it.
    bin().args(scan_all(&out, &snap)).assert().code(0);
    let size = |f: &str| std::fs::metadata(out.join(f)).expect("written").len();
    assert!(size("findings.csv") < 9000 * 1024 && size("findings.json") > 9000 * 1024);
}

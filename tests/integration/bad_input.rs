//! Bad input gets one clear error line naming the file (and line), exit code 2, no panic; or
//! a documented warning. Each case breaks exactly one thing in an otherwise valid snapshot.

use std::path::{Path, PathBuf};

use b2bready::snapshot::writer::seal;

use crate::common::{Tenant, bin, clean_guest, stderr_of};

fn snapshot(dir: &Path) -> PathBuf {
    let mut t = Tenant::base();
    t.add_users(&clean_guest(
        "6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
        "ana.costa@contoso.com",
        "ana.costa@adatum.com",
    ));
    t.write(&dir.join("snapshot"))
}

/// Replaces text in a snapshot's manifest.
fn edit_manifest(snap: &Path, from: &str, to: &str) {
    let path = snap.join("manifest.json");
    let text = std::fs::read_to_string(&path).expect("manifest");
    std::fs::write(&path, text.replace(from, to)).expect("write");
}

fn users_path(snap: &Path) -> PathBuf {
    snap.join("users.jsonl")
}

/// Runs the scan and returns its stderr, checking it failed cleanly with exit code 2.
fn fails(snap: &Path, extra: &[&str]) -> String {
    let out = bin()
        .args(["scan", "-q"])
        .args(extra)
        .arg(snap)
        .output()
        .expect("run");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.starts_with("error: "), "stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "stderr: {err}"
    );
    assert!(err.lines().count() <= 3, "stderr: {err}");
    err
}

fn append_line(snap: &Path, line: &[u8]) {
    let mut data = std::fs::read(users_path(snap)).expect("users");
    data.extend_from_slice(line);
    std::fs::write(users_path(snap), data).expect("write");
}

/// A valid snapshot with one more users line, resealed so only the line itself is wrong.
fn fails_with_line(line: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temp");
    let snap = snapshot(dir.path());
    append_line(&snap, line);
    seal(&snap).expect("seal");
    fails(&snap, &[])
}

#[test]
fn truncated_last_line_names_file_and_line() {
    let err = fails_with_line(br#"{"id":"0d4c1f6e-2b3a-4c5d-9e8f-7a6b5c4d3e2f","userPrincipalName":"cut@contoso.com","mail":"cut@adat"#);
    assert!(err.contains("users.jsonl line 4"), "{err}");
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn a_line_that_is_not_json_names_file_and_line() {
    let err = fails_with_line(b"this is not json\n");
    assert!(err.contains("users.jsonl line 4: not valid JSON"), "{err}");
}

#[test]
fn invalid_utf8_is_refused_with_its_line() {
    let err = fails_with_line(b"{\"id\":\"7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\",\"displayName\":\"bad \xff\xfe name\"}\n");
    assert!(err.contains("users.jsonl line 4"), "{err}");
}

#[test]
fn a_property_of_the_wrong_type_is_named() {
    let err = fails_with_line(
        b"{\"id\":\"1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e\",\"accountEnabled\":\"yes\"}\n",
    );
    assert!(
        err.contains("users.jsonl line 4: property accountEnabled"),
        "{err}"
    );
}

#[test]
fn a_user_without_id_is_refused() {
    let err = fails_with_line(b"{\"userPrincipalName\":\"who@contoso.com\",\"id\":null}\n");
    assert!(err.contains("line 4: user object has no id"), "{err}");
}

#[test]
fn a_missing_manifest_says_what_a_snapshot_is() {
    let dir = tempfile::tempdir().expect("temp");
    let err = fails(dir.path(), &[]);
    assert!(err.contains("has no manifest.json"), "{err}");
    assert!(err.contains("help:"), "{err}");
}

#[test]
fn a_manifest_whose_count_or_digest_disagrees_is_refused() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = snapshot(dir.path());
    append_line(
        &snap,
        clean_guest(
            "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
            "x@contoso.com",
            "x@adatum.com",
        )
        .as_bytes(),
    );
    append_line(&snap, b"\n");
    let err = fails(&snap, &[]);
    assert!(
        err.contains("holds more than the 3 records the manifest counts"),
        "{err}"
    );

    let snap2 = snapshot(&dir.path().join("two"));
    let text = std::fs::read_to_string(users_path(&snap2)).expect("users");
    std::fs::write(
        users_path(&snap2),
        text.replace("ana.costa@adatum.com", "ana.costa@evil.example"),
    )
    .expect("write");
    let err = fails(&snap2, &[]);
    assert!(err.contains("sha256"), "{err}");
}

#[test]
fn a_manifest_cannot_point_outside_the_snapshot() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = snapshot(dir.path());
    edit_manifest(&snap, "\"users.jsonl\"", "\"../users.jsonl\"");
    let err = fails(&snap, &[]);
    assert!(err.contains("inside the snapshot folder"), "{err}");
}

#[test]
fn an_unknown_format_version_is_refused() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = snapshot(dir.path());
    edit_manifest(&snap, "b2bready-snapshot/1", "b2bready-snapshot/9");
    let err = fails(&snap, &[]);
    assert!(err.contains("b2bready-snapshot/9"), "{err}");
}

#[test]
fn duplicate_user_ids_name_both_lines() {
    let err = fails_with_line(
        format!(
            "{}\n",
            clean_guest(
                "6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
                "dup@contoso.com",
                "dup@adatum.com"
            )
        )
        .as_bytes(),
    );
    assert!(
        err.contains("user id 6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b appears twice (lines 3 and 4)"),
        "{err}"
    );
}

#[test]
fn an_incomplete_snapshot_needs_allow_incomplete() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = snapshot(dir.path());
    edit_manifest(&snap, "\"complete\": true", "\"complete\": false");
    let err = fails(&snap, &[]);
    assert!(err.contains("--allow-incomplete"), "{err}");
    bin()
        .args(["scan", "-q", "--allow-incomplete"])
        .arg(&snap)
        .assert()
        .code(0);
}

#[test]
fn a_ten_megabyte_display_name_is_cut_with_a_warning() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = snapshot(dir.path());
    let mut user: serde_json::Value = serde_json::from_str(&clean_guest(
        "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a",
        "long.name@contoso.com",
        "long.name@adatum.com",
    ))
    .expect("json");
    user["displayName"] = "<b>x</b>".repeat(10 * 1024 * 1024 / 8).into();
    append_line(&snap, format!("{user}\n").as_bytes());
    seal(&snap).expect("seal");
    let out_dir = dir.path().join("out");
    let out = bin()
        .args(["scan", "-f", "json,csv,html", "-o"])
        .arg(&out_dir)
        .arg(&snap)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("displayName is 10485760 bytes long; cut to 256 characters"));
    let html = std::fs::metadata(out_dir.join("report.html"))
        .expect("html")
        .len();
    assert!(html < 200_000, "report.html is {html} bytes");
}

#[test]
fn an_empty_tenant_scans_to_zero_accounts() {
    let dir = tempfile::tempdir().expect("temp");
    let mut t = Tenant::base();
    t.set("users", "");
    let snap = t.write(&dir.path().join("s"));
    let out = bin()
        .args(["scan", "--fail-on", "never"])
        .arg(&snap)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("0 ready, 0 blocked, 0 pending, 0 excluded;")),
        "{stdout}"
    );
}

#[test]
fn a_rule_file_with_a_syntax_error_or_unknown_column_names_the_file() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = snapshot(dir.path());
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    let file = rules.join("broken-rule.toml");
    std::fs::write(&file, "id = \"broken-rule\"\ntitle = \"x\" \"y\"\n").expect("write");
    let err = fails(&snap, &["--rules", rules.to_str().expect("utf-8")]);
    assert!(err.contains("broken-rule.toml"), "{err}");

    let good = |condition: &str, message: &str| {
        format!(
            "id = \"broken-rule\"\ntitle = \"a rule\"\ntarget = \"user\"\nseverity = \"warning\"\nneeds = [\"users\"]\ncondition = \"{condition}\"\nmessage = \"{message}\"\n[docs]\nwhat = \"w\"\nwhy = \"w\"\nremediation = \"r\"\n"
        )
    };
    std::fs::write(&file, good("no_such_column = 'x'", "m")).expect("write");
    let err = fails(&snap, &["--rules", rules.to_str().expect("utf-8")]);
    assert!(
        err.contains("broken-rule.toml") && err.contains("no_such_column"),
        "{err}"
    );

    std::fs::write(&file, good("mail IS NULL", "{nope}")).expect("write");
    let err = fails(&snap, &["--rules", rules.to_str().expect("utf-8")]);
    assert!(
        err.contains("broken-rule.toml: message: unknown column {nope}"),
        "{err}"
    );

    std::fs::write(&file, good("mail", "m")).expect("write");
    let err = fails(&snap, &["--rules", rules.to_str().expect("utf-8")]);
    assert!(err.contains("must be true or false"), "{err}");

    std::fs::write(
        &file,
        good("mail IS NULL", "m").replace("needs", "colour = 1\nneeds"),
    )
    .expect("write");
    let err = fails(&snap, &["--rules", rules.to_str().expect("utf-8")]);
    assert!(
        err.contains("broken-rule.toml") && err.contains("colour"),
        "{err}"
    );
}

#[test]
fn a_missing_external_identities_column_is_named() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = snapshot(dir.path());
    let csv = dir.path().join("ids.csv");
    std::fs::write(&csv, "user,email\nana.costa@contoso.com,ana@adatum.com\n").expect("write");
    let err = fails(
        &snap,
        &["--external-identities", csv.to_str().expect("utf-8")],
    );
    assert!(
        err.contains("ids.csv") && err.contains("externalEmail"),
        "{err}"
    );
}

/// The whole standard error of a failing scan run in `dir`, with `dir` written as `DIR`.
fn whole_stderr(dir: &Path, args: &[&str]) -> String {
    let out = bin().current_dir(dir).args(args).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing on standard output");
    stderr_of(&out).replace(&dir.display().to_string(), "DIR")
}

#[test]
fn errors_say_each_cause_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = snapshot(dir.path());
    let contoso = crate::common::contoso();
    let contoso = contoso.to_str().expect("utf-8 path");

    std::fs::create_dir(dir.path().join("rules")).expect("mkdir");
    std::fs::write(
        dir.path().join("rules").join("bad.toml"),
        "id = \"my-rule\"\ntitle = \n",
    )
    .expect("write");
    assert_eq!(
        whole_stderr(
            dir.path(),
            &["scan", contoso, "--no-config", "--rules", "rules"]
        ),
        "error: rule file rules/bad.toml: line 2, column 9: string values must be quoted, expected literal string\n  \
         help: fix the file, or check it with `b2bready rules list --rules DIR`; `b2bready rules columns` lists the columns\n"
    );

    let users = std::fs::read_to_string(users_path(&snap)).expect("users");
    std::fs::write(
        users_path(&snap),
        &users.trim_end()[..users.trim_end().len() - 10],
    )
    .expect("cut");
    seal(&snap).expect("seal");
    let got = whole_stderr(dir.path(), &["scan", "snapshot", "--no-config"]);
    let lines = users.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(
        got.starts_with(&format!(
            "error: snapshot/users.jsonl line {lines}: truncated JSON: EOF while parsing"
        )),
        "{got}"
    );
    assert_eq!(got.lines().count(), 1, "{got}");

    std::fs::write(
        dir.path().join("b2bready.toml"),
        "scope = \"all\"\nfail-of = \"x\"\n",
    )
    .expect("write");
    assert_eq!(
        whole_stderr(dir.path(), &["scan", "snapshot"]),
        "error: b2bready.toml:2: unknown field `fail-of`, expected one of `scope`, `scope-file`, `scope-where`, `external-identities`, `mau-billing`, `redact`, `redact-keep-domains`, `fail-on`, `fail-on-not-evaluated`, `rule-folders`, `rules`, `exception`\n  \
         help: fix the file and check it with `b2bready config check`; the README lists every key\n"
    );

    let got = whole_stderr(
        dir.path(),
        &["scan", "snapshot", "--config", "missing.toml"],
    );
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], "error: cannot read the config file missing.toml");
    assert!(lines[1].starts_with("  cause: "), "{got}");
    assert!(!lines[0].contains(lines[1].trim_start_matches("  cause: ")));
    assert_eq!(lines.len(), 3, "{got}");
}

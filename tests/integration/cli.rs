//! The command line as a user meets it: exit codes, formats, determinism, rules commands.

use predicates::prelude::*;

use crate::common::{Tenant, bin, clean_guest, contoso, fixtures, scan_json};

#[test]
fn scan_of_the_example_tenant_prints_the_verdict_table_and_exits_1_for_blockers() {
    let out = bin().args(["scan"]).arg(contoso()).assert().code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    insta::assert_snapshot!("contoso_table", stdout);
}

#[test]
fn fail_on_never_exits_0_and_fail_on_warning_counts_warnings() {
    bin()
        .args(["scan", "--fail-on", "never", "-q"])
        .arg(contoso())
        .assert()
        .code(0);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut t = Tenant::base();
    // A disabled but otherwise clean guest: one warning, no blocker.
    let mut user: serde_json::Value = serde_json::from_str(&clean_guest(
        "5d0c6a53-0f43-4a9e-9b51-6f3c1d2e4a10",
        "ana.costa@contoso.com",
        "ana.costa@adatum.com",
    ))
    .expect("json");
    user["accountEnabled"] = false.into();
    t.add_users(&user.to_string());
    let snap = t.write(&dir.path().join("s"));
    bin().args(["scan", "-q"]).arg(&snap).assert().code(0);
    bin()
        .args(["scan", "-q", "--fail-on", "warning"])
        .arg(&snap)
        .assert()
        .code(1);
}

#[test]
fn json_output_follows_the_findings_schema() {
    let identities = fixtures().join("contoso-identities.csv");
    let v = scan_json(
        &contoso(),
        &["--external-identities", identities.to_str().expect("utf-8")],
    );
    assert_eq!(v["schema"], "b2bready-findings/1");
    assert_eq!(v["summary"]["usersTotal"], 43);
    let rules = v["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 26);
    assert!(rules.iter().all(|r| r["status"] == "evaluated"));
    let verdicts = v["verdicts"].as_array().expect("verdicts");
    let summary = &v["summary"];
    assert_eq!(
        verdicts.len() as u64,
        summary["inScope"].as_u64().expect("n") + summary["excluded"].as_u64().expect("n")
    );
    for f in v["findings"].as_array().expect("findings") {
        let kind = f["subject"]["type"].as_str().expect("subject type");
        assert!(kind == "user" || kind == "tenant");
        assert!(
            f["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty() && !m.ends_with('.'))
        );
    }
    // Every rule fires at least once in the example tenant, but invitations-disabled,
    // which would block every account.
    for r in rules {
        let fired = r["count"].as_u64().expect("count") > 0;
        assert_eq!(fired, r["id"] != "invitations-disabled", "{}", r["id"]);
    }
    // Tenant-level warnings are reported once, on the tenant, not on every account.
    assert!(verdicts.iter().all(|x| {
        !x["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w == "invitations-admins-only")
    }));
}

#[test]
fn two_runs_give_byte_identical_files() {
    let a = tempfile::tempdir().expect("temp dir");
    let b = tempfile::tempdir().expect("temp dir");
    for d in [&a, &b] {
        bin()
            .args([
                "scan",
                "-q",
                "--fail-on",
                "never",
                "-f",
                "json,csv,html",
                "-o",
            ])
            .arg(d.path())
            .arg(contoso())
            .assert()
            .code(0);
    }
    for f in [
        "findings.json",
        "findings.csv",
        "verdicts.csv",
        "report.html",
    ] {
        let x = std::fs::read(a.path().join(f)).expect("file");
        let y = std::fs::read(b.path().join(f)).expect("file");
        assert!(x == y, "{f} differs between runs");
    }
}

#[test]
fn mau_billing_raises_the_subscription_rule_to_a_blocker() {
    let v = scan_json(&contoso(), &["--mau-billing"]);
    let rule = |id: &str| {
        v["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .expect("rule")
    };
    assert_eq!(rule("mau-subscription-missing")["severity"], "blocker");
    assert_eq!(rule("member-keeps-member-billing")["severity"], "warning");
    // The unlinked subscription now blocks every account in scope, and each verdict says so.
    assert_eq!(v["summary"]["ready"], 0);
    for verdict in v["verdicts"].as_array().expect("verdicts") {
        let blockers = verdict["blockers"].as_array().expect("blockers");
        let listed = blockers.iter().any(|b| b == "mau-subscription-missing");
        assert_eq!(listed, verdict["verdict"] != "excluded", "{verdict}");
    }
}

#[test]
fn scope_all_and_scope_file_change_who_is_judged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = |args: &[&str]| scan_json(&contoso(), args);
    let all = json(&["--scope", "all"]);
    assert_eq!(all["summary"]["outOfScope"], 0);
    let list = dir.path().join("scope.csv");
    std::fs::write(
        &list,
        "userPrincipalName\nGreta.Lindqvist@contoso.com\nnobody@contoso.com\n",
    )
    .expect("write");
    let listed = json(&["--scope-file", list.to_str().expect("utf-8")]);
    assert_eq!(listed["summary"]["inScope"], 1);
    assert!(
        listed["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("nobody@contoso.com"))
    );

    // Excel saves "CSV UTF-8" with a byte order mark: the header is still a header.
    let marked = dir.path().join("scope-excel.csv");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(&list).expect("read"));
    std::fs::write(&marked, bytes).expect("write");
    let from_excel = json(&["--scope-file", marked.to_str().expect("utf-8")]);
    assert_eq!(from_excel["summary"], listed["summary"]);
    assert_eq!(from_excel["warnings"], listed["warnings"]);
    let identities = dir.path().join("ids-excel.csv");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(fixtures().join("contoso-identities.csv")).expect("read"));
    std::fs::write(&identities, bytes).expect("write");
    let with_ids = json(&["--external-identities", identities.to_str().expect("utf-8")]);
    assert!(
        with_ids["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .all(|r| r["status"] == "evaluated")
    );
}

#[test]
fn rules_list_and_explain_come_from_the_rule_files() {
    bin().args(["rules", "list"]).assert().success().stdout(
        predicate::str::contains("onprem-upn-present")
            .and(predicate::str::contains("teams-tenant-url")),
    );
    bin()
        .args(["rules", "explain", "mail-collision"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Remediation")
                .and(predicate::str::contains("mail_collision_with")),
        );
    bin()
        .args(["rules", "explain", "no-such-rule"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no rule has the id"));
    bin()
        .args(["rules", "columns"])
        .assert()
        .success()
        .stdout(predicate::str::contains("mail_domain_policy"));
}

#[test]
fn a_users_own_rule_folder_adds_rules_without_recompiling() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("vendor-without-company.toml"),
        r#"
id = "vendor-without-company"
title = "local guest has no company name"
target = "user"
severity = "warning"
needs = ["users"]
condition = "user_type = 'Guest' AND display_name LIKE '%(%'"
message = "{display_name} names a company only in the display name"
evidence = ["display_name"]
[docs]
what = "Flags guests whose company appears only in the display name."
why = "Reviewers match accounts to contracts by company."
remediation = "Set companyName."
"#,
    )
    .expect("write rule");
    bin()
        .args(["scan", "--fail-on", "never", "--rules"])
        .arg(dir.path())
        .arg(contoso())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("vendor-without-company"));
}

#[test]
fn zstd_snapshot_scans_like_the_plain_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("plain");
    let packed = dir.path().join("packed");
    for (out, extra) in [(&plain, None), (&packed, Some("--zstd"))] {
        let mut cmd = bin();
        cmd.args(["generate", "--users", "3000", "--seed", "7", "--out"])
            .arg(out);
        if let Some(flag) = extra {
            cmd.arg(flag);
        }
        cmd.assert().success();
    }
    assert!(packed.join("users.jsonl.zst").exists());
    let scan = |snap: &std::path::Path| {
        let o = dir.path().join(format!(
            "out-{}",
            snap.file_name().and_then(|n| n.to_str()).unwrap_or("x")
        ));
        bin()
            .args(["scan", "-q", "--fail-on", "never", "-f", "csv", "-o"])
            .arg(&o)
            .arg(snap)
            .assert()
            .code(0);
        std::fs::read(o.join("verdicts.csv")).expect("verdicts.csv")
    };
    assert_eq!(scan(&plain), scan(&packed));
}

#[test]
fn timings_name_every_phase_and_every_output_file() {
    let dir = tempfile::tempdir().expect("temp");
    let out = bin()
        .env("B2BREADY_TIMINGS", "1")
        .args(["scan", "--no-config", "-f", "json,csv,html", "-o"])
        .arg(dir.path())
        .arg(contoso())
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for phase in [
        "read users",
        "facts",
        "rules",
        // Written in one pass over the findings when both are asked for.
        "write findings.json + findings.csv",
        "write verdicts.csv",
        "write report.html",
        "write, all files",
    ] {
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("timing: {phase} ")))
            .unwrap_or_else(|| panic!("{phase}: {err}"));
        // Processor time beside the wall clock, where the system tells it.
        if cfg!(unix) {
            assert!(line.contains(", cpu "), "{line}");
        }
    }
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let o = bin().arg("--version").output().expect("run");
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    let commit = text
        .strip_prefix(concat!("b2bready ", env!("CARGO_PKG_VERSION"), " (commit "))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text}"));
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match head {
        Some(head) => assert_eq!(commit, head),
        None => assert_eq!(commit, "unknown"),
    }
}

#[test]
fn completions_and_manual_pages_come_from_the_declared_flags() {
    for (shell, marker, flag) in [
        ("bash", "_b2bready()", "--azure-cli"),
        ("zsh", "#compdef b2bready", "--azure-cli"),
        ("fish", "complete -c b2bready", "-l azure-cli"),
        ("powershell", "Register-ArgumentCompleter", "--azure-cli"),
    ] {
        let o = bin().args(["completions", shell]).output().expect("run");
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let text = String::from_utf8(o.stdout).expect("utf-8");
        assert!(text.contains(marker), "{shell}: {text:.200}");
        assert!(text.contains(flag), "{shell}");
    }
    let o = bin().arg("man").output().expect("run");
    assert_eq!(o.status.code(), Some(0));
    let page = String::from_utf8(o.stdout).expect("utf-8");
    assert!(page.contains(".TH b2bready 1"), "{page:.300}");

    let dir = tempfile::tempdir().expect("temp");
    bin()
        .args(["man", "--out"])
        .arg(dir.path())
        .assert()
        .code(0);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for expected in [
        "b2bready.1",
        "b2bready-scan.1",
        "b2bready-apply.1",
        "b2bready-rules-explain.1",
        "b2bready-bench-scan.1",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(
        !names
            .iter()
            .any(|n| n.contains("bench-baseline") || n.contains("help")),
        "{names:?}"
    );
    let scan = std::fs::read_to_string(dir.path().join("b2bready-scan.1")).expect("page");
    assert!(scan.contains(".TH b2bready-scan 1"), "{scan:.300}");
    assert!(scan.contains("\\-\\-external\\-identities"), "{scan:.2000}");
}

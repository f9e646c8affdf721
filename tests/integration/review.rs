//! Compliance reviews in CI: the config file and its precedence, accepted exceptions, the
//! baseline, the not-evaluated gate, and what each outcome does to the exit code.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{Tenant, bin, contoso, fixtures, stderr_of};

const TOM: &str = "tom.becker@contoso.com";
const TOM_ID: &str = "54b69122-8523-42b8-a5dd-0d14156993f2";
/// The nine blockers of the example tenant: rule and the account's UPN.
const BLOCKERS: [(&str, &str); 9] = [
    (
        "converted-from-external",
        "bob.smith@contoso.onmicrosoft.com",
    ),
    (
        "cross-tenant-inbound-blocked",
        "greta.lindqvist@contoso.com",
    ),
    ("domain-blocked-by-policy", "emily.carter@contoso.com"),
    ("external-identity-present", "julia.santos.wgb@contoso.com"),
    ("mail-collision", "kenji.sato@contoso.onmicrosoft.com"),
    ("mail-in-verified-domain", "julia.santos.wgb@contoso.com"),
    ("mail-invalid", "bob.smith@contoso.onmicrosoft.com"),
    ("mail-missing", TOM),
    ("onprem-upn-present", "greta.lindqvist@contoso.com"),
];

fn exception(rule: &str, subject: &str, expires: &str) -> String {
    format!(
        "[[exception]]\nrule = \"{rule}\"\nsubject = \"{subject}\"\nreason = \"vendor offboarding in Q1\"\nowner = \"identity-team@contoso.com\"\nexpires = {expires}\n\n"
    )
}

/// A working directory holding `b2bready.toml` with `text`.
fn workdir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("b2bready.toml"), text).expect("config");
    dir
}

/// Runs `scan` in `cwd` with `-f json` and returns (exit code, findings.json, stderr).
fn scan_in(cwd: &Path, snapshot: &Path, extra: &[&str]) -> (i32, Value, String) {
    let out_dir = cwd.join("out");
    let out = bin()
        .current_dir(cwd)
        .args(["scan", "-f", "json", "-o"])
        .arg(&out_dir)
        .args(extra)
        .arg(snapshot)
        .output()
        .expect("runs");
    let code = out.status.code().expect("exit code");
    assert!(code == 0 || code == 1, "{}", stderr_of(&out));
    let text = std::fs::read_to_string(out_dir.join("findings.json")).expect("findings.json");
    (
        code,
        serde_json::from_str(&text).expect("JSON"),
        stderr_of(&out),
    )
}

fn finding<'a>(v: &'a Value, rule: &str, upn: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == rule && f["subject"]["userPrincipalName"] == upn)
        .unwrap_or_else(|| panic!("no {rule} finding on {upn}"))
}

#[test]
fn config_file_sets_defaults_and_flags_win() {
    let dir = workdir(
        "scope = \"all\"\nmau-billing = true\nfail-on = \"never\"\n\n[rules.mail-missing]\nseverity = \"warning\"\n\n[rules.account-disabled]\ndisable = true\n",
    );
    let (code, v, stderr) = scan_in(dir.path(), &contoso(), &[]);
    assert_eq!(code, 0, "fail-on never from the file");
    assert!(stderr.contains("config: b2bready.toml"), "{stderr}");
    assert_eq!(v["options"]["scope"], "all internal accounts");
    assert_eq!(v["options"]["mauBilling"], true);
    assert_eq!(finding(&v, "mail-missing", TOM)["severity"], "warning");
    assert!(
        v["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .all(|r| r["id"] != "account-disabled")
    );
    assert_eq!(v["review"]["disabledRules"][0], "account-disabled");
    assert_eq!(v["review"]["failOn"], "never");

    // Flags win over the file.
    let (code, v, _) = scan_in(
        dir.path(),
        &contoso(),
        &[
            "--fail-on",
            "blocker",
            "--scope",
            "likely-guests",
            "--no-mau-billing",
        ],
    );
    assert_eq!(code, 1, "--fail-on blocker beats the file");
    assert_eq!(v["options"]["scope"], "likely local guests");
    assert_eq!(v["options"]["mauBilling"], false);

    // --no-config ignores the file; --config names another.
    let (code, v, _) = scan_in(dir.path(), &contoso(), &["--no-config"]);
    assert_eq!(code, 1);
    assert_eq!(finding(&v, "mail-missing", TOM)["severity"], "blocker");
    let other = dir.path().join("strict.toml");
    std::fs::write(&other, "fail-on = \"warning\"\n").expect("config");
    let (code, v, _) = scan_in(dir.path(), &contoso(), &["--config", "strict.toml"]);
    assert_eq!(code, 1);
    assert_eq!(v["review"]["failOn"], "warning");
    assert_eq!(v["options"]["scope"], "likely local guests");
}

#[test]
fn config_paths_are_relative_to_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ci = dir.path().join("ci");
    std::fs::create_dir_all(&ci).expect("dir");
    std::fs::copy(
        fixtures().join("contoso-identities.csv"),
        ci.join("ids.csv"),
    )
    .expect("copy");
    std::fs::write(
        ci.join("b2bready.toml"),
        "external-identities = \"ids.csv\"\n",
    )
    .expect("config");
    let (_, v, _) = scan_in(dir.path(), &contoso(), &["--config", "ci/b2bready.toml"]);
    let external = v["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["id"] == "external-domain-mismatch")
        .expect("rule");
    assert_eq!(external["status"], "evaluated");
}

#[test]
fn config_errors_name_the_key_and_line() {
    for (text, expected) in [
        (
            "scope = \"all\"\n\nfail-of = \"warning\"\n",
            vec!["b2bready.toml:3", "fail-of"],
        ),
        (
            "[rules.mail-mising]\nseverity = \"warning\"\n",
            vec!["b2bready.toml:1", "mail-mising", "not a known rule"],
        ),
        (
            "[rules.mail-missing]\nseverity = \"critical\"\n",
            vec!["b2bready.toml:2", "critical"],
        ),
        (
            &exception("mail-missing", TOM, "2099-01-01")
                .replace("reason = \"vendor offboarding in Q1\"\n", ""),
            vec!["b2bready.toml:1", "reason"],
        ),
        (
            &exception("no-such-rule", TOM, "2099-01-01"),
            vec!["b2bready.toml:1", "no-such-rule"],
        ),
        (
            "fail-on = \"warning\"\nscope = \"all\"\nscope-file = \"x.csv\"\n",
            vec!["b2bready.toml:3", "scope-file"],
        ),
    ] {
        let dir = workdir(text);
        let out = bin()
            .current_dir(dir.path())
            .args(["scan", "-q", "-o", "out"])
            .arg(contoso())
            .output()
            .expect("runs");
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        for e in &expected {
            assert!(stderr.contains(e), "{text}: want {e:?} in {stderr}");
        }
        assert!(
            !dir.path().join("out").exists(),
            "nothing written on a config error"
        );
        // `config check` says the same, without a snapshot.
        let out = bin()
            .current_dir(dir.path())
            .args(["config", "check"])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr_of(&out).contains(expected[0]), "{}", stderr_of(&out));
    }
    let out = bin()
        .args(["scan", "--config", "/nonexistent/b2bready.toml"])
        .arg(contoso())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("/nonexistent/b2bready.toml"));
}

#[test]
fn config_check_summarises_a_valid_file() {
    let dir = workdir(&format!(
        "fail-on = \"blocker\"\n[rules.mail-missing]\nseverity = \"warning\"\n\n{}{}",
        exception(
            "mail-invalid",
            "bob.smith@contoso.onmicrosoft.com",
            "2099-12-31"
        ),
        exception("mail-missing", TOM, "2020-01-31"),
    ));
    let out = bin()
        .current_dir(dir.path())
        .args(["config", "check"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        stdout.contains(
            "b2bready.toml: valid; 26 rules (0 disabled, 1 with another severity), 2 exceptions"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("expired: accepts nothing"), "{stdout}");
    assert!(stdout.contains("1 exception has expired"), "{stdout}");
}

#[test]
fn the_documented_example_config_is_valid() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci");
    bin()
        .current_dir(&docs)
        .args(["config", "check"])
        .assert()
        .code(0);
}

#[test]
fn exceptions_accept_findings_without_hiding_them() {
    // Accept every blocker but one: by UPN, by object id, with and without expiry.
    let mut text = String::new();
    for (rule, upn) in BLOCKERS.iter().filter(|(r, _)| *r != "mail-invalid") {
        let subject = if *upn == TOM { TOM_ID } else { upn };
        text.push_str(&exception(rule, &subject.to_uppercase(), "2099-12-31"));
    }
    let dir = workdir(&text);
    let (code, v, _) = scan_in(dir.path(), &contoso(), &[]);
    assert_eq!(code, 1, "mail-invalid is not accepted");
    let f = finding(&v, "mail-missing", TOM);
    assert_eq!(f["accepted"], true);
    assert_eq!(f["fails"], false);
    assert_eq!(f["exception"]["reason"], "vendor offboarding in Q1");
    assert_eq!(f["exception"]["owner"], "identity-team@contoso.com");
    assert_eq!(f["exception"]["expires"], "2099-12-31");
    assert_eq!(
        finding(&v, "mail-invalid", "bob.smith@contoso.onmicrosoft.com")["fails"],
        true
    );
    assert_eq!(v["review"]["accepted"], 8);
    assert_eq!(v["review"]["failing"], 1);
    assert_eq!(
        v["summary"]["findingsBlocker"], 9,
        "accepted findings are still findings"
    );

    // Accept the last one too: the build passes, and the findings are all still there.
    text.push_str(&exception(
        "mail-invalid",
        "bob.smith@contoso.onmicrosoft.com",
        "\"2099-12-31\"",
    ));
    let dir = workdir(&text);
    let (code, v, stderr) = scan_in(dir.path(), &contoso(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(v["review"]["passed"], true);
    assert_eq!(v["findings"].as_array().expect("findings").len(), 57);
    let csv = std::fs::read_to_string(dir.path().join("out/findings.json")).expect("json");
    assert!(csv.contains("\"accepted\":true"));

    // --no-exceptions: an audit of everything.
    let (code, v, _) = scan_in(dir.path(), &contoso(), &["--no-exceptions"]);
    assert_eq!(code, 1);
    assert_eq!(v["review"]["accepted"], 0);
    assert_eq!(v["review"]["exceptionsIgnored"], 9);
    assert_eq!(finding(&v, "mail-missing", TOM)["accepted"], false);
}

#[test]
fn an_expired_exception_fails_the_build_and_says_so() {
    let mut text = String::new();
    for (rule, upn) in BLOCKERS {
        let expires = if rule == "mail-missing" {
            "2020-06-30"
        } else {
            "2099-12-31"
        };
        text.push_str(&exception(rule, upn, expires));
    }
    let dir = workdir(&text);
    let (code, v, stderr) = scan_in(dir.path(), &contoso(), &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("fails: the exception for mail-missing on tom.becker@contoso.com (line 50) expired on 2020-06-30"),
        "{stderr}"
    );
    let f = finding(&v, "mail-missing", TOM);
    assert_eq!(
        (f["accepted"].clone(), f["fails"].clone()),
        (false.into(), true.into())
    );
    assert_eq!(f["exception"]["expired"], true);
    assert_eq!(v["review"]["expired"], 1);
    // Even a baseline that already holds the finding does not excuse it.
    let base = dir.path().join("base.json");
    std::fs::copy(dir.path().join("out/findings.json"), &base).expect("copy");
    let (code, _, _) = scan_in(
        dir.path(),
        &contoso(),
        &["--baseline", base.to_str().expect("utf-8")],
    );
    assert_eq!(code, 1);
}

#[test]
fn unused_exceptions_are_reported() {
    let dir = workdir(&format!(
        "{}{}",
        exception("mail-missing", "nobody@contoso.com", "2099-12-31"),
        exception("invitations-disabled", "tenant", "2099-12-31"),
    ));
    let (code, v, stderr) = scan_in(dir.path(), &contoso(), &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("warning: the exception for mail-missing on nobody@contoso.com (line 1) matched no finding"), "{stderr}");
    assert!(
        stderr.contains("invitations-disabled on tenant (line 8) matched no finding"),
        "{stderr}"
    );
    assert_eq!(v["review"]["unusedExceptions"], 2);
    assert_eq!(v["review"]["exceptions"][0]["matched"], 0);
}

#[test]
fn tenant_findings_are_accepted_by_the_tenant_subject() {
    let dir = workdir(&format!(
        "fail-on = \"warning\"\n\n{}",
        exception("mau-subscription-missing", "tenant", "2099-12-31")
    ));
    let (_, v, _) = scan_in(dir.path(), &contoso(), &[]);
    let f = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "mau-subscription-missing")
        .expect("finding");
    assert_eq!(f["subject"]["type"], "tenant");
    assert_eq!(f["accepted"], true);
    assert_eq!(f["fails"], false);
}

/// The example tenant with one more blocked account and one blocked account fixed.
fn changed_contoso(dir: &Path) -> PathBuf {
    let mut t = Tenant::from_dir(&contoso());
    let users = t.collections["users"].clone();
    let fixed: String = users
        .lines()
        .map(|l| {
            if l.contains(TOM_ID) {
                l.replace("\"mail\":null", "\"mail\":\"tom.becker@adatum.com\"")
            } else {
                l.to_owned()
            }
        })
        .map(|l| l + "\n")
        .collect();
    assert_ne!(fixed, users, "the fixture still has Tom without mail");
    t.set("users", &fixed);
    t.add_users(
        &serde_json::json!({
            "id": "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a", "displayName": "Nina Berg (Fabrikam)",
            "userPrincipalName": "nina.berg@contoso.com", "mail": null, "userType": "Guest",
            "accountEnabled": true
        })
        .to_string(),
    );
    t.write(&dir.join("changed"))
}

#[test]
fn baseline_marks_new_unchanged_and_resolved() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, first, _) = scan_in(dir.path(), &contoso(), &["--no-config"]);
    assert_eq!(code, 1);
    let base = dir.path().join("baseline.json");
    std::fs::copy(dir.path().join("out/findings.json"), &base).expect("copy");
    let base_arg = base.to_str().expect("utf-8");

    // Same tenant, same findings: nothing new, the build passes despite six blockers.
    let (code, v, stderr) = scan_in(dir.path(), &contoso(), &["--baseline", base_arg]);
    assert_eq!(code, 0, "{stderr}");
    let total = first["findings"].as_array().expect("findings").len();
    assert_eq!(v["review"]["unchanged"], total);
    assert_eq!(
        (v["review"]["new"].clone(), v["review"]["resolved"].clone()),
        (0.into(), 0.into())
    );
    assert!(
        v["findings"]
            .as_array()
            .expect("f")
            .iter()
            .all(|f| f["baseline"] == "unchanged")
    );

    // One account fixed, one new blocked account: only the new one fails.
    let changed = changed_contoso(dir.path());
    let (code, v, stderr) = scan_in(dir.path(), &changed, &["--baseline", base_arg]);
    assert_eq!(code, 1, "{stderr}");
    // Nina's blocker, and the two warnings Tom's new address at Adatum brings (its tenant is
    // admitted only for a group, and does not have its MFA trusted): only the blocker fails.
    assert_eq!(v["review"]["new"], 3);
    assert_eq!(v["review"]["failing"], 1);
    assert_eq!(v["review"]["resolved"], 1);
    assert_eq!(
        finding(&v, "mail-missing", "nina.berg@contoso.com")["baseline"],
        "new"
    );
    assert_eq!(v["resolved"][0]["rule"], "mail-missing");
    assert_eq!(v["resolved"][0]["subject"]["id"], TOM_ID);
    // --fail-on then counts only the new findings: accept the new one and it passes.
    let accept = workdir(&exception(
        "mail-missing",
        "nina.berg@contoso.com",
        "2099-12-31",
    ));
    let (code, _, stderr) = scan_in(accept.path(), &changed, &["--baseline", base_arg]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_baseline_of_another_tenant_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, mut v, _) = scan_in(dir.path(), &contoso(), &["--no-config"]);
    v["tenant"]["id"] = "11111111-2222-3333-4444-555555555555".into();
    let base = dir.path().join("other.json");
    std::fs::write(&base, v.to_string()).expect("write");
    let refused = |base: &Path| {
        let out = bin()
            .args(["scan", "-q", "--baseline"])
            .arg(base)
            .arg(contoso())
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2));
        stderr_of(&out)
    };
    let stderr = refused(&base);
    assert!(
        stderr.contains("is from tenant 11111111-2222-3333-4444-555555555555, but this snapshot is tenant 2f6a3b1c"),
        "{stderr}"
    );
    // Not a findings.json at all.
    std::fs::write(&base, "{\"schema\":\"b2bready-plan/1\"}").expect("write");
    let stderr = refused(&base);
    assert!(stderr.contains("not a b2bready findings.json"), "{stderr}");
}

#[test]
fn rules_not_evaluated_fail_only_when_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, v, _) = scan_in(dir.path(), &contoso(), &["--fail-on", "never"]);
    assert_eq!(code, 0);
    assert_eq!(v["review"]["notEvaluated"], 2);
    let (code, v, stderr) = scan_in(
        dir.path(),
        &contoso(),
        &["--fail-on", "never", "--fail-on-not-evaluated"],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("fails: 2 rules could not be evaluated (--fail-on-not-evaluated)"),
        "{stderr}"
    );
    assert_eq!(v["review"]["passed"], false);
    let ids = fixtures().join("contoso-identities.csv");
    let (code, _, _) = scan_in(
        dir.path(),
        &contoso(),
        &[
            "--fail-on",
            "never",
            "--fail-on-not-evaluated",
            "--external-identities",
            ids.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(code, 0);
}

#[test]
fn the_plan_follows_the_config_but_never_weakens_a_blocker() {
    let dir = workdir(
        "[rules.mail-missing]\ndisable = true\n\n[rules.account-disabled]\ndisable = true\n\n[rules.mail-collision]\nseverity = \"info\"\n",
    );
    let out = bin()
        .current_dir(dir.path())
        .args(["plan", "-o", "plan"])
        .arg(contoso())
        .output()
        .expect("runs");
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("the plan ignores [rules.mail-missing] of b2bready.toml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the plan ignores [rules.mail-collision]"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("[rules.account-disabled]"),
        "a warning may be switched off: {stderr}"
    );
    let text = std::fs::read_to_string(dir.path().join("plan/plan.json")).expect("plan.json");
    let plan: Value = serde_json::from_str(&text).expect("JSON");
    let planned = |id: &str| {
        plan["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .any(|a| a.to_string().contains(id))
    };
    assert!(!planned(TOM_ID), "an account without mail is never planned");
    let kenji = plan["leftOut"]
        .as_array()
        .expect("leftOut")
        .iter()
        .find(|l| l["userPrincipalName"] == "kenji.sato@contoso.onmicrosoft.com")
        .expect("kenji is left out");
    assert_eq!(kenji["blockers"][0], "mail-collision");
    // The account disabled (a warning rule) is planned: switching a warning off is allowed.
    assert!(plan["accounts"].as_array().expect("accounts").len() >= 11);
}

#[test]
fn the_readme_config_example_is_valid() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README");
    let section = &readme[readme.find("### The config file").expect("config section")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let block = &section[start..start + section[start..].find("```").expect("block end")];
    // The example's expiry date passes one day; the test must not.
    let expires = block
        .lines()
        .find_map(|l| l.strip_prefix("expires = "))
        .and_then(|v| v.split_whitespace().next())
        .expect("the example has an expiry");
    let dir = workdir(&block.replace(&format!("expires = {expires}"), "expires = 2099-12-31"));
    std::fs::copy(
        fixtures().join("contoso-identities.csv"),
        dir.path().join("external-identities.csv"),
    )
    .expect("copy");
    std::fs::create_dir_all(dir.path().join("rules")).expect("rules folder");
    let out = bin()
        .current_dir(dir.path())
        .args(["config", "check"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let (_, v, _) = scan_in(dir.path(), &contoso(), &[]);
    assert_eq!(finding(&v, "mail-missing", TOM)["accepted"], true);
}

#[test]
fn an_expired_exception_fails_only_a_finding_that_would_fail() {
    // Below the threshold: account-disabled is a warning, the build fails on blockers.
    let mut text = String::new();
    for (rule, upn) in BLOCKERS {
        text.push_str(&exception(rule, upn, "2099-12-31"));
    }
    let renewed = format!(
        "{text}{}{}",
        exception("account-disabled", "peter.novak@contoso.com", "2020-01-31"),
        // An old entry next to its renewal: the valid one accepts the finding.
        exception("mail-missing", TOM, "2020-01-31"),
    );
    let dir = workdir(&renewed);
    let (code, v, stderr) = scan_in(dir.path(), &contoso(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("fails:"), "{stderr}");
    assert_eq!(v["review"]["reasons"], serde_json::json!([]));
    assert_eq!(finding(&v, "mail-missing", TOM)["accepted"], true);
    let peter = finding(&v, "account-disabled", "peter.novak@contoso.com");
    assert_eq!(
        (
            peter["exception"]["expired"].clone(),
            peter["fails"].clone()
        ),
        (true.into(), false.into())
    );
    // The same expired exception fails the build once warnings do.
    let (code, _, stderr) = scan_in(dir.path(), &contoso(), &["--fail-on", "warning"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("the exception for account-disabled on peter.novak@contoso.com"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("the exception for mail-missing"),
        "its renewal holds: {stderr}"
    );
}

#[test]
fn fail_on_not_evaluated_in_the_config_can_be_turned_off_by_a_flag() {
    let dir = workdir("fail-on = \"never\"\nfail-on-not-evaluated = true\n");
    let (code, _, _) = scan_in(dir.path(), &contoso(), &[]);
    assert_eq!(code, 1);
    let (code, _, _) = scan_in(dir.path(), &contoso(), &["--no-fail-on-not-evaluated"]);
    assert_eq!(code, 0);
}

/// Exports `tenant` from the simulator with a CI job's federated token, into `out`.
fn federated_export(tenant: &Path, work: &Path, out: &str) {
    let sim = crate::common::Simulator::start(tenant, &[]);
    let token = work.join("oidc-token");
    std::fs::write(
        &token,
        crate::export::assertion(
            "https://token.actions.githubusercontent.com",
            "repo:contoso/identity:ref:refs/heads/main",
            600,
        ),
    )
    .expect("token file");
    let o = sim
        .export("2f6a3b1c-8d4e-4f5a-9b7c-1e2d3c4b5a69")
        .current_dir(work)
        .env_remove("AZURE_CLIENT_SECRET")
        .env("AZURE_FEDERATED_TOKEN_FILE", &token)
        .args(["--quiet", "--out", out])
        .output()
        .expect("export runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
}

#[test]
fn the_nightly_job_from_first_run_to_a_reviewed_exception() {
    let work = workdir(&exception("mail-missing", TOM, "2099-12-31"));
    let w = work.path();
    let nightly = |snapshot: &str, extra: &[&str]| {
        let out = bin()
            .current_dir(w)
            .args([
                "scan",
                snapshot,
                "--format",
                "json,sarif,junit,markdown,github",
                "--out",
                "results",
            ])
            .args(extra)
            .output()
            .expect("scan runs");
        let findings: Value = serde_json::from_str(
            &std::fs::read_to_string(w.join("results/findings.json")).expect("findings.json"),
        )
        .expect("JSON");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            findings,
        )
    };

    // Night 1: no baseline; Tom is accepted, the eight other blockers fail the build.
    federated_export(&contoso(), w, "night-1");
    let (code, _, v) = nightly("night-1", &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        (
            v["review"]["failing"].clone(),
            v["review"]["accepted"].clone()
        ),
        (8.into(), 1.into())
    );

    // The team reviews the run and records it as the baseline.
    std::fs::create_dir_all(w.join("baseline")).expect("dir");
    std::fs::copy(
        w.join("results/findings.json"),
        w.join("baseline/findings.json"),
    )
    .expect("copy");
    let (code, _, v) = nightly("night-1", &["--baseline", "baseline/findings.json"]);
    assert_eq!(code, Some(0), "nothing is new");
    assert_eq!(v["review"]["new"], 0);

    // Night 2: Tom got his mail, and a new vendor account without one appeared.
    let changed = changed_contoso(w);
    federated_export(&changed, w, "night-2");
    let (code, annotations, v) = nightly("night-2", &["--baseline", "baseline/findings.json"]);
    assert_eq!(code, Some(1), "the new blocker fails the build");
    assert_eq!(
        (v["review"]["new"].clone(), v["review"]["resolved"].clone()),
        (3.into(), 1.into()),
        "Nina's blocker and the two warnings of Tom's new address are new"
    );
    let errors: Vec<&str> = annotations
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(errors.len(), 1, "{annotations}");
    assert!(
        errors[0].contains("nina.berg@contoso.com") && errors[0].contains("new since the baseline")
    );
    let summary = std::fs::read_to_string(w.join("results/summary.md")).expect("summary.md");
    assert!(summary.contains("### Failing blockers"), "{summary}");
    assert!(
        summary.contains("nina\\.berg\\@\u{200B}contoso\\.com (new)"),
        "{summary}"
    );

    // The team accepts it for a while, with a reason: the build is green again.
    let mut config = std::fs::read_to_string(w.join("b2bready.toml")).expect("config");
    config.push_str(&exception(
        "mail-missing",
        "nina.berg@contoso.com",
        "2099-12-31",
    ));
    std::fs::write(w.join("b2bready.toml"), config).expect("config");
    let (code, _, v) = nightly("night-2", &["--baseline", "baseline/findings.json"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        finding(&v, "mail-missing", "nina.berg@contoso.com")["accepted"],
        true
    );
    assert_eq!(
        v["review"]["unusedExceptions"], 1,
        "Tom's exception is stale now"
    );
}

#[test]
fn a_baseline_does_not_excuse_a_finding_it_held_only_as_accepted() {
    let dir = workdir(&exception("mail-missing", TOM, "2099-12-31"));
    let (code, _, _) = scan_in(dir.path(), &contoso(), &[]);
    assert_eq!(code, 1);
    let base = dir.path().join("base.json");
    std::fs::copy(dir.path().join("out/findings.json"), &base).expect("copy");
    let base = base.to_str().expect("utf-8");
    let (code, v, _) = scan_in(dir.path(), &contoso(), &["--baseline", base]);
    assert_eq!(code, 0, "all known, Tom accepted");
    assert_eq!(finding(&v, "mail-missing", TOM)["baseline"], "unchanged");

    // The exception is deleted: the baseline holds Tom's finding, but only as accepted.
    std::fs::write(dir.path().join("b2bready.toml"), "").expect("config");
    let (code, v, stderr) = scan_in(dir.path(), &contoso(), &["--baseline", base]);
    assert_eq!(code, 1, "{stderr}");
    let tom = finding(&v, "mail-missing", TOM);
    assert_eq!(
        (tom["baseline"].clone(), tom["fails"].clone()),
        ("unchanged".into(), true.into())
    );
    assert_eq!(v["review"]["failing"], 1);
}

#[test]
fn the_terminal_table_marks_accepted_and_new_blockers() {
    let dir = workdir(&exception("mail-missing", TOM, "2099-12-31"));
    let (_, _, _) = scan_in(dir.path(), &contoso(), &[]);
    let mut base: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/findings.json")).expect("findings"),
    )
    .expect("JSON");
    // A baseline without Bob's finding: it is new tonight.
    base["findings"]
        .as_array_mut()
        .expect("findings")
        .retain(|f| f["rule"] != "mail-invalid");
    std::fs::write(dir.path().join("base.json"), base.to_string()).expect("write");
    let out = bin()
        .current_dir(dir.path())
        .args(["scan", "--baseline", "base.json"])
        .arg(contoso())
        .output()
        .expect("runs");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("mail-missing (accepted)"), "{table}");
    assert!(table.contains("mail-invalid (new)"), "{table}");
    assert!(
        table.contains("against the baseline: 1 new, 56 unchanged, 0 resolved"),
        "{table}"
    );
}

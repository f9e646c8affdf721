//! report.html in a real browser: tests/browser/report.mjs drives headless Chromium
//! (playwright-core) over reports of the example tenant, a hostile tenant and a generated
//! 100,000-account tenant, and checks every count on screen, the filters, the drill-down, the
//! exports and axe-core against the findings.json of the same scan.
//!
//! They need Node.js, Chromium (`B2BREADY_CHROMIUM`, default /usr/bin/chromium) and
//! `npm ci --prefix tests/browser`. Without them each test says what is missing and passes,
//! unless `B2BREADY_BROWSER_TESTS=require` (as `.ci/run` sets), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Tenant, bin, contoso, stderr_of};

const HOSTILE_NAME: &str =
    "<img src=x onerror=\"window.__pwned=1\"></script><script>window.__pwned=2</script>&amp;";
const HOSTILE_MAIL: &str = "\"><svg onload=window.__pwned=3>@evil.example";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// What is missing to run the browser tests, if anything.
fn missing() -> Option<String> {
    let chromium = std::env::var_os("B2BREADY_CHROMIUM")
        .map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    if !chromium.exists() {
        return Some(format!(
            "Chromium at {} (Debian: apt-get install chromium)",
            chromium.display()
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("Node.js (node on PATH)".into());
    }
    for package in ["playwright-core", "axe-core"] {
        if !browser_dir().join("node_modules").join(package).exists() {
            return Some(format!(
                "the npm package {package} (npm ci --prefix tests/browser)"
            ));
        }
    }
    None
}

/// True when the browser can run; otherwise says why it is skipped, or fails when required.
fn available() -> bool {
    let Some(what) = missing() else { return true };
    let required = std::env::var("B2BREADY_BROWSER_TESTS").is_ok_and(|v| v == "require");
    assert!(
        !required,
        "the browser tests are required but {what} is missing"
    );
    eprintln!("SKIPPED: browser test: {what} is missing");
    false
}

/// Scans `snapshot` into `out` with `extra` flags, writing report.html and findings.json.
fn scan(dir: &Path, snapshot: &Path, out: &Path, extra: &[&str]) {
    let run = bin()
        .current_dir(dir)
        .args(["scan", "-q", "--fail-on", "never", "-f", "html,json", "-o"])
        .arg(out)
        .args(extra)
        .arg(snapshot)
        .output()
        .expect("scan runs");
    assert_eq!(run.status.code(), Some(0), "{}", stderr_of(&run));
}

/// Runs the browser checks on a scan's report; returns the figures they print.
fn drive(out: &Path, extra: &[&str]) -> serde_json::Value {
    let run = Command::new("node")
        .arg(browser_dir().join("report.mjs"))
        .arg(out.join("report.html"))
        .arg(out.join("findings.json"))
        .args(extra)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the browser checks failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let figures: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("figures");
    eprintln!("{figures}");
    figures
}

/// Exceptions (one holds, one expired) and a baseline taken on part of the tenant, so that every
/// review state (new, unchanged, accepted, expired, failing) has accounts.
fn reviewed_contoso(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("b2bready.toml"),
        r#"
[[exception]]
rule = "mail-missing"
subject = "tom.becker@contoso.com"
reason = "mailbox is created by HR onboarding"
expires = 2099-12-31

[[exception]]
rule = "onprem-upn-present"
subject = "greta.lindqvist@contoso.com"
reason = "sync scoping change approved"
expires = 2020-06-30
"#,
    )
    .expect("config");
    let base = dir.join("base");
    scan(
        dir,
        &contoso(),
        &base,
        &["--scope-where", "user_type = 'Guest'"],
    );
    let out = dir.join("out");
    scan(dir, &contoso(), &out, &["--baseline", "base/findings.json"]);
    out
}

#[test]
fn the_example_report_works_in_a_browser() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp");
    let out = reviewed_contoso(dir.path());
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).expect("findings"))
            .expect("json");
    let states = |key: &str, value: &str| {
        findings["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f[key] == value)
            .count()
    };
    assert!(
        states("baseline", "new") > 0 && states("baseline", "unchanged") > 0,
        "both baseline states occur"
    );
    let figures = drive(&out, &[]);
    assert_eq!(
        figures["accounts"],
        findings["verdicts"].as_array().expect("verdicts").len()
    );
}

#[test]
fn hostile_tenant_text_stays_text_in_a_browser() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp");
    let mut t = Tenant::base();
    let user = serde_json::json!({
        "id": "4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b",
        "displayName": HOSTILE_NAME,
        "userPrincipalName": "=HYPERLINK(\"http://evil.example\")@contoso.com",
        "mail": HOSTILE_MAIL,
        "userType": "Guest",
        "accountEnabled": true,
    });
    t.add_users(&user.to_string());
    let snapshot = t.write(&dir.path().join("snapshot"));
    let out = dir.path().join("out");
    scan(dir.path(), &snapshot, &out, &[]);
    drive(
        &out,
        &["--hostile", HOSTILE_NAME, "--hostile", HOSTILE_MAIL],
    );
}

#[test]
fn a_page_over_its_limit_says_what_it_left_out() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("out");
    scan(dir.path(), &contoso(), &out, &["--html-max-accounts", "10"]);
    let figures = drive(&out, &["--left-out"]);
    assert_eq!(figures["accounts"], 10);
}

#[test]
fn a_hundred_thousand_accounts_in_a_browser() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp");
    let snapshot = dir.path().join("tenant");
    let generated = bin()
        .args(["generate", "--users", "100000", "--out"])
        .arg(&snapshot)
        .output()
        .expect("generate runs");
    assert!(generated.status.success(), "{}", stderr_of(&generated));
    let out = dir.path().join("out");
    // Every account in scope, so that the page lists all 100,000.
    scan(dir.path(), &snapshot, &out, &["--scope", "all"]);
    let figures = drive(&out, &["--quick"]);
    assert_eq!(figures["accounts"], 100_000);
}

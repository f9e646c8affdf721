//! The CI outputs on the example tenant: SARIF (checked against the official SARIF 2.1.0
//! schema), JUnit, Markdown and GitHub annotations, pinned by snapshots; hostile tenant data
//! escaped in each; and the CI examples in docs/ci using only flags that exist.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{Tenant, bin, contoso, stderr_of};

/// A config that accepts one blocker and has one expired and one unused exception, so every
/// review state shows up in the outputs.
const CONFIG: &str = r#"
[[exception]]
rule = "mail-missing"
subject = "tom.becker@contoso.com"
reason = "mailbox is created by HR onboarding; tracked in CHG-1042"
owner = "identity-team@contoso.com"
expires = 2099-12-31

[[exception]]
rule = "onprem-upn-present"
subject = "greta.lindqvist@contoso.com"
reason = "sync scoping change approved"
owner = "ad-team@contoso.com"
expires = 2020-06-30

[[exception]]
rule = "mail-invalid"
subject = "nobody@contoso.com"
reason = "left over"
"#;

struct Run {
    dir: tempfile::TempDir,
    stdout: String,
    code: i32,
}

impl Run {
    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("out").join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

/// Scans `snapshot` (relative to the folder, or absolute) from a folder holding CONFIG, with
/// the CI formats.
fn scan_in(dir: tempfile::TempDir, snapshot: &Path, extra: &[&str]) -> Run {
    std::fs::write(dir.path().join("b2bready.toml"), CONFIG).expect("config");
    let out = bin()
        .current_dir(dir.path())
        .args([
            "scan",
            "-f",
            "sarif,junit,markdown,github,json",
            "-o",
            "out",
        ])
        .args(extra)
        .arg(snapshot)
        .output()
        .expect("runs");
    let code = out.status.code().expect("exit code");
    assert!(code < 2, "{}", stderr_of(&out));
    Run {
        dir,
        stdout: String::from_utf8(out.stdout).expect("utf-8"),
        code,
    }
}

fn scan_ci(snapshot: &Path, extra: &[&str]) -> Run {
    scan_in(tempfile::tempdir().expect("temp dir"), snapshot, extra)
}

/// The example tenant scanned as `contoso` from the working folder, so that paths in the
/// outputs are the same on every machine.
fn stable_run(extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    Tenant::from_dir(&contoso()).write(&dir.path().join("contoso"));
    scan_in(dir, Path::new("contoso"), extra)
}

/// The official SARIF 2.1.0 schema, as shipped in the serde-sarif package (whose types are
/// generated from it), found through `cargo metadata`.
fn sarif_schema() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("rustc runs");
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    let host = version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc names its host");
    // Only this platform's packages: the others need not have been downloaded.
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            host,
        ])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let manifest = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "serde-sarif")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("serde-sarif is a dependency");
    let path = Path::new(manifest)
        .with_file_name("src")
        .join("schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema.json")).expect("JSON");
    assert_eq!(
        schema["$id"],
        "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json",
        "the official OASIS schema"
    );
    schema
}

fn escape_stray_bracket(v: &mut Value) -> usize {
    const STRAY: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match v {
        Value::Object(map) => map
            .iter_mut()
            .map(|(k, v)| {
                if k == "pattern" && v == STRAY {
                    *v = STRAY.replace("}]?", "}\\]?").into();
                    1
                } else {
                    escape_stray_bracket(v)
                }
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(escape_stray_bracket).sum(),
        _ => 0,
    }
}

#[test]
fn sarif_is_valid_sarif_2_1_0_and_fit_for_code_scanning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, first, _) = {
        let run = scan_ci(&contoso(), &["--no-config"]);
        (
            run.code,
            run.file("findings.json"),
            run.file("findings.sarif"),
        )
    };
    assert_eq!(code, 1);
    let base = dir.path().join("base.json");
    std::fs::write(&base, first).expect("baseline");
    let run = scan_ci(&contoso(), &["--baseline", base.to_str().expect("utf-8")]);
    let sarif: Value = serde_json::from_str(&run.file("findings.sarif")).expect("SARIF is JSON");

    let mut schema = sarif_schema();
    // The `language` patterns of the official schema have a stray `]` that ECMAScript reads as
    // a literal and Rust's regex engines refuse: escape it, and change nothing else.
    assert_eq!(escape_stray_bracket(&mut schema), 2);
    let validator = jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // A broken document does fail the same check.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));

    // What code scanning needs beyond the schema.
    assert_eq!(sarif["version"], "2.1.0");
    let runs = sarif["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run0 = &runs[0];
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 26);
    let onprem = rules
        .iter()
        .find(|r| r["id"] == "onprem-upn-present")
        .expect("rule");
    assert!(
        onprem["help"]["text"]
            .as_str()
            .expect("help")
            .contains("Remediation: ")
    );
    assert_eq!(onprem["defaultConfiguration"]["level"], "error");
    let results = run0["results"].as_array().expect("results");
    assert_eq!(results.len(), 57);
    let users = std::fs::read_to_string(contoso().join("users.jsonl")).expect("users");
    for r in results {
        let i = r["ruleIndex"].as_u64().expect("index") as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
        let loc = &r["locations"][0];
        assert!(
            loc["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .is_some()
        );
        assert!(
            loc["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .expect("line")
                >= 1
        );
        let fq = loc["logicalLocations"][0]["fullyQualifiedName"]
            .as_str()
            .expect("name");
        assert!(fq.starts_with("user/") || fq.starts_with("tenant/"), "{fq}");
        if let Some(account) = fq.strip_prefix("user/") {
            // The line named is the account's own line of users.jsonl.
            let line = loc["physicalLocation"]["region"]["startLine"].as_u64();
            let text = line.and_then(|l| users.lines().nth(l as usize - 1));
            assert!(
                text.is_some_and(|t| t.contains(account)),
                "{account} is not on line {line:?}"
            );
        }
        assert_eq!(r["baselineState"], "unchanged");
    }
    let tom = results
        .iter()
        .find(|r| r["ruleId"] == "mail-missing")
        .expect("tom");
    assert_eq!(tom["suppressions"][0]["status"], "accepted");
    assert_eq!(tom["suppressions"][0]["kind"], "external");
    assert_eq!(
        tom["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "user/54b69122-8523-42b8-a5dd-0d14156993f2"
    );
    let levels: Vec<&str> = results
        .iter()
        .map(|r| r["level"].as_str().expect("level"))
        .collect();
    for l in ["error", "warning", "note"] {
        assert!(levels.contains(&l), "{l}");
    }
    // Fingerprints depend on rule and subject only: the same in another run of a changed tenant.
    let fp = |v: &Value| v["partialFingerprints"]["primaryLocationLineHash"].clone();
    let mut t = Tenant::from_dir(&contoso());
    let users = t.collections["users"].clone();
    t.set(
        "users",
        &format!(
            "{}\n{users}",
            crate::common::clean_guest(
                "00000000-1111-4222-8333-444444444444",
                "zed@contoso.com",
                "zed@adatum.com"
            )
        ),
    );
    let moved = t.write(&dir.path().join("moved"));
    let again: Value =
        serde_json::from_str(&scan_ci(&moved, &[]).file("findings.sarif")).expect("JSON");
    let tom_again = again["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["ruleId"] == "mail-missing")
        .expect("tom");
    assert_eq!(fp(tom), fp(tom_again));
    assert_ne!(
        tom["locations"][0]["physicalLocation"]["region"]["startLine"],
        tom_again["locations"][0]["physicalLocation"]["region"]["startLine"],
        "the line moved, the fingerprint did not"
    );
}

#[test]
fn ci_outputs_on_the_example_tenant_are_pinned() {
    let run = stable_run(&[]);
    assert_eq!(
        run.code, 1,
        "an expired exception and unaccepted blockers fail"
    );
    insta::assert_snapshot!("contoso_summary_md", run.file("summary.md"));
    insta::assert_snapshot!("contoso_junit_xml", run.file("junit.xml"));
    insta::assert_snapshot!("contoso_github_annotations", run.stdout);
    insta::assert_snapshot!("contoso_sarif", run.file("findings.sarif"));
}

#[test]
fn junit_has_one_case_per_rule_and_parses_back() {
    let run = scan_ci(&contoso(), &[]);
    let report = quick_junit::Report::deserialize_from_str(&run.file("junit.xml")).expect("XML");
    let suite = &report.test_suites[0];
    assert_eq!(suite.test_cases.len(), 26);
    let case = |id: &str| {
        suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str().starts_with(&format!("{id}:")))
            .unwrap_or_else(|| panic!("{id}"))
    };
    use quick_junit::TestCaseStatus;
    assert!(
        matches!(case("mail-missing").status, TestCaseStatus::Success { .. }),
        "accepted"
    );
    assert!(
        matches!(
            case("onprem-upn-present").status,
            TestCaseStatus::NonSuccess { .. }
        ),
        "expired"
    );
    assert!(matches!(
        case("mail-invalid").status,
        TestCaseStatus::NonSuccess { .. }
    ));
    assert!(matches!(
        case("external-domain-mismatch").status,
        TestCaseStatus::Skipped { .. }
    ));
    assert!(
        matches!(
            case("account-disabled").status,
            TestCaseStatus::Success { .. }
        ),
        "below the threshold"
    );
}

/// The tenant's display name, as hostile as an attacker who can rename a tenant makes it.
const HOSTILE_TENANT_NAME: &str =
    "Evil | <script>x</script> [a](https://evil.example) @all\n::error::pwned";

/// A tenant whose display name, and accounts whose UPN and mail, carry Markdown, HTML,
/// mentions and workflow commands.
fn hostile_tenant(dir: &Path) -> PathBuf {
    let mut t = Tenant::base();
    let mut org: Value = serde_json::from_str(t.collections["organization"].trim()).expect("JSON");
    org["displayName"] = HOSTILE_TENANT_NAME.into();
    t.set("organization", &org.to_string());
    for (id, upn, mail) in [
        (
            "1a2b3c4d-0000-4000-8000-000000000001",
            "eve|x<b>bold</b>@contoso.com",
            "eve\n::error title=x::pwned@contoso.com",
        ),
        (
            "1a2b3c4d-0000-4000-8000-000000000002",
            "@octo-org/admins#12@contoso.com",
            "[click](https://evil.example)@contoso.com",
        ),
    ] {
        t.add_users(
            &serde_json::json!({
                "id": id, "displayName": "<img src=x onerror=alert(1)>", "userPrincipalName": upn,
                "mail": mail, "userType": "Guest", "accountEnabled": true
            })
            .to_string(),
        );
    }
    t.write(&dir.join("hostile"))
}

#[test]
fn markdown_and_annotations_escape_hostile_tenant_data() {
    let holder = tempfile::tempdir().expect("temp dir");
    let run = scan_ci(&hostile_tenant(holder.path()), &["--no-config"]);
    assert_eq!(run.code, 1);
    // Annotations: one line each, and nothing the tenant wrote starts a command.
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines.iter().all(|l| l.starts_with("::error title=")
            || l.starts_with("::warning title=")
            || l.starts_with("::notice title=")),
        "{lines:#?}"
    );
    assert!(
        run.stdout
            .contains("eve%0A::error title=x::pwned@contoso.com"),
        "{}",
        run.stdout
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("pwned") && !l.contains("%0A"))
    );

    let md = run.file("summary.md");
    let heading = md.lines().next().expect("a heading");
    assert_eq!(
        heading,
        "## b2bready: ❌ fails for Evil \\| \\<script\\>x\\<\\/script\\> \\[a\\]\\(https\\:\\/\\/evil\\.example\\) \\@\u{200B}all \\:\\:error\\:\\:pwned (0b5e7c1d\\-2a3f\\-4e6b\\-8c9d\\-0f1a2b3c4d5e)"
    );
    assert!(!md.contains("<b>"), "{md}");
    assert!(!md.contains("](https://evil"), "{md}");
    assert!(!md.contains("@octo-org"), "mentions are broken up: {md}");
    assert!(md.contains("eve\\|x\\<b\\>bold\\<\\/b\\>"), "{md}");
    for row in md.lines().filter(|l| l.starts_with("| `mail-invalid`")) {
        let unescaped = row
            .match_indices('|')
            .filter(|(i, _)| *i == 0 || row.as_bytes()[i - 1] != b'\\')
            .count();
        assert_eq!(unescaped, 4, "one table row stays one row: {row}");
    }
    assert!(md.lines().all(|l| !l.starts_with("::")), "{md}");

    // JUnit: the name is XML-escaped, and the document parses back with it intact.
    let junit = run.file("junit.xml");
    assert!(!junit.contains("<script>"));
    let report = quick_junit::Report::deserialize_from_str(&junit).expect("XML");
    assert!(
        report.test_suites[0]
            .name
            .as_str()
            .contains("<script>x</script>")
    );
    // SARIF is JSON: the name is a JSON string like any other.
    let sarif: Value = serde_json::from_str(&run.file("findings.sarif")).expect("JSON");
    assert_eq!(
        sarif["runs"][0]["properties"]["tenantName"],
        HOSTILE_TENANT_NAME
    );
}

#[test]
fn github_annotations_are_capped_per_level() {
    let holder = tempfile::tempdir().expect("temp dir");
    let mut t = Tenant::base();
    for i in 0..15 {
        t.add_users(
            &serde_json::json!({
                "id": format!("2b3c4d5e-0000-4000-8000-{i:012}"), "displayName": "x",
                "userPrincipalName": format!("u{i}@contoso.com"), "mail": null, "userType": "Guest",
                "accountEnabled": true
            })
            .to_string(),
        );
    }
    let snapshot = t.write(&holder.path().join("many"));
    let out = bin()
        .args([
            "scan",
            "-q",
            "--no-config",
            "-f",
            "github",
            "--annotations",
            "4",
        ])
        .arg(&snapshot)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("::error ").count(), 4, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let n = lines.len();
    assert!(n >= 2, "{stdout}");
    assert!(
        lines[n - 2].starts_with("::notice title=b2bready::11 more annotations not shown"),
        "{stdout}"
    );
    assert!(
        lines[n - 1].starts_with(
            "::notice title=b2bready review::review fails, fail on blocker: 15 failing"
        ),
        "{stdout}"
    );
}

/// The `--flags` in a piece of text (a flag starts after a space, a quote, `+` or the line).
fn flags_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("--") {
        let before = text[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '-') {
            continue;
        }
        let name: String = text[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        if !name.is_empty() {
            found.push(format!("--{name}"));
        }
    }
    found
}

/// Every `b2bready SUBCOMMAND --flag` in the CI examples is a flag that subcommand declares
/// (read from its `--help`, on the lines that declare options).
#[test]
fn ci_examples_use_only_existing_flags() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci");
    let mut checked = Vec::new();
    for name in ["github-actions.yml", "azure-pipelines.yml"] {
        let text = std::fs::read_to_string(docs.join(name)).expect(name);
        // Join continued lines, then look at each command.
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            let line = line.trim_start();
            let line = line.strip_prefix("run: ").unwrap_or(line);
            if !line.starts_with("b2bready ") {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let mut cmd = vec![words[1]];
            if words[1] == "config" {
                cmd.push(words.get(2).copied().unwrap_or("check"));
            }
            let help = bin().args(&cmd).arg("--help").output().expect("help");
            assert!(
                help.status.success(),
                "{name}: `b2bready {}` is not a subcommand",
                words[1]
            );
            let help = String::from_utf8_lossy(&help.stdout).into_owned();
            let declared: Vec<String> = help
                .lines()
                .filter(|l| l.trim_start().starts_with('-'))
                .flat_map(flags_in)
                .collect();
            for flag in flags_in(line) {
                assert!(
                    declared.contains(&flag),
                    "{name}: b2bready {} has no {flag}",
                    words[1]
                );
                checked.push(flag);
            }
        }
    }
    for must in ["--baseline", "--config", "--format", "--out"] {
        assert!(
            checked.iter().any(|f| f == must),
            "{must} was checked: {checked:?}"
        );
    }
}

#[test]
fn html_and_csv_show_the_review() {
    let run = stable_run(&["--format", "html,csv"]);
    let html = run.file("report.html");
    assert!(
        html.contains("Review: <span class=\"b s-blocker\">fails</span>"),
        "the verdict of the review"
    );
    assert!(html.contains("mailbox is created by HR onboarding; tracked in CHG-1042"));
    assert!(html.contains("<span class=\"b s-blocker\">expired</span>"));
    assert!(html.contains("<span class=\"b s-warning\">unused</span>"));

    let csv = run.file("findings.csv");
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let headers = rows.headers().expect("header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (rule, accepted, fails, reason) = (
        col("rule"),
        col("accepted"),
        col("fails"),
        col("exception_reason"),
    );
    let records: Vec<csv::StringRecord> = rows.records().map(|r| r.expect("row")).collect();
    let tom = records
        .iter()
        .find(|r| &r[rule] == "mail-missing")
        .expect("tom");
    assert_eq!((&tom[accepted], &tom[fails]), ("yes", "no"));
    assert_eq!(
        &tom[reason],
        "mailbox is created by HR onboarding; tracked in CHG-1042"
    );
    let greta = records
        .iter()
        .find(|r| &r[rule] == "onprem-upn-present")
        .expect("greta");
    assert_eq!((&greta[accepted], &greta[fails]), ("no", "yes"), "expired");
}

#[test]
fn bench_review_measures_the_ci_scan_with_and_without_the_review() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = bin()
        .args(["bench", "review", "--users", "3000", "--dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}{stdout}", stderr_of(&out));
    for line in [
        "scan to all 7 outputs:",
        "same with config + baseline:",
        "peak memory:",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    let review = dir.path().join("review-3000");
    let config = std::fs::read_to_string(review.join("b2bready.toml")).expect("config");
    assert!(config.contains("[[exception]]"));
    let findings: Value = serde_json::from_str(
        &std::fs::read_to_string(review.join("review/findings.json")).expect("findings"),
    )
    .expect("JSON");
    assert!(findings["review"]["new"].as_u64().expect("new") > 0);
    assert!(findings["review"]["accepted"].as_u64().expect("accepted") > 0);
}

//! The data-driven rule test: every case of `fixtures/rules/<id>.toml` is scanned against the
//! base tenant and must fire (or stay quiet) exactly as it says; plus meta-tests over the
//! registry in the spirit of clippy's.

use std::collections::BTreeSet;
use std::path::PathBuf;

use b2bready::rules::{Registry, Target};
use b2bready::scan::{self, ScanOptions, Scope};
use serde::Deserialize;

use crate::common::{Tenant, fixtures};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Case {
    name: String,
    expect: Expect,
    #[serde(default)]
    mau_billing: bool,
    scope: Option<String>,
    user: Option<String>,
    extra_users: Option<String>,
    external_identities: Option<String>,
    #[serde(default)]
    collections: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, PartialEq, Eq, Clone, Copy, Debug)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Fire,
    Quiet,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    case: Vec<Case>,
}

fn cases(rule: &str) -> Vec<Case> {
    let path = fixtures().join("rules").join(format!("{rule}.toml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("rule {rule} has no fixture file {}: {e}", path.display()));
    toml::from_str::<CaseFile>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .case
}

/// Scans one case and says whether the rule fired on its subject.
fn fires(registry: &Registry, rule: &str, case: &Case) -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut tenant = Tenant::base();
    for (name, text) in &case.collections {
        tenant.set(name, text);
    }
    if let Some(extra) = &case.extra_users {
        tenant.add_users(extra);
    }
    let user_id = case.user.as_ref().map(|u| {
        tenant.add_users(u);
        let v: serde_json::Value = serde_json::from_str(u).expect("case user is JSON");
        v["id"].as_str().expect("case user has an id").to_owned()
    });
    let snapshot = tenant.write(&dir.path().join("snapshot"));
    let external = case.external_identities.as_ref().map(|text| {
        let p = dir.path().join("identities.csv");
        std::fs::write(&p, text).expect("write identities");
        p
    });
    let options = ScanOptions {
        scope: match case.scope.as_deref() {
            Some("all") => Scope::All,
            _ => Scope::LikelyGuests,
        },
        external_identities: external,
        mau_billing: case.mau_billing,
        allow_incomplete: false,
    };
    let result = scan::run(&snapshot, registry.clone(), options)
        .unwrap_or_else(|e| panic!("{rule} / {}: scan failed: {e}", case.name));
    let target = registry.get(rule).expect("rule exists").target;
    result.findings.iter().any(|f| {
        result.rule(f).id == rule
            && match (target, f.row) {
                (Target::Tenant, None) => true,
                (Target::User, Some(r)) => {
                    result.user_text(b2bready::model::user::ID, r) == user_id.as_deref()
                }
                _ => false,
            }
    })
}

#[test]
fn every_rule_fires_where_its_fixtures_say_and_nowhere_else() {
    let registry = Registry::load(&[]).expect("built-in rules load");
    let mut failures = Vec::new();
    let mut total = 0;
    for rule in &registry.rules {
        for case in cases(&rule.id) {
            total += 1;
            let fired = fires(&registry, &rule.id, &case);
            if fired != (case.expect == Expect::Fire) {
                failures.push(format!(
                    "{}: \"{}\" expected {:?} but it {}",
                    rule.id,
                    case.name,
                    case.expect,
                    if fired { "fired" } else { "stayed quiet" }
                ));
            }
        }
    }
    assert!(total > 100, "only {total} fixture cases were found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_a_case_that_fires_and_one_that_stays_quiet() {
    let registry = Registry::load(&[]).expect("built-in rules load");
    for rule in &registry.rules {
        let expects: BTreeSet<_> = cases(&rule.id)
            .iter()
            .map(|c| format!("{:?}", c.expect))
            .collect();
        assert_eq!(
            expects.len(),
            2,
            "{} needs both a firing and a quiet case",
            rule.id
        );
    }
}

#[test]
fn every_fixture_file_belongs_to_a_rule() {
    let registry = Registry::load(&[]).expect("built-in rules load");
    for entry in std::fs::read_dir(fixtures().join("rules")).expect("fixtures/rules") {
        let path: PathBuf = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            assert!(
                registry.get(stem).is_some(),
                "{} names no rule",
                path.display()
            );
        }
    }
}

#[test]
fn rule_metadata_follows_the_conventions() {
    let registry = Registry::load(&[]).expect("built-in rules load");
    assert_eq!(registry.rules.len(), 26);
    let mut seen = BTreeSet::new();
    for r in &registry.rules {
        assert!(seen.insert(r.id.clone()), "duplicate id {}", r.id);
        assert!(r.builtin(), "{} should come from rules/", r.id);
        assert!(
            !r.title.ends_with('.'),
            "{}: title ends with a period",
            r.id
        );
        assert!(!r.docs.references.is_empty(), "{}: no references", r.id);
        for reference in &r.docs.references {
            assert!(
                reference.starts_with("https://learn.microsoft.com/"),
                "{}: {reference}",
                r.id
            );
        }
        if r.target == Target::User {
            assert!(
                r.needs.iter().any(|n| n == "users"),
                "{} must need users",
                r.id
            );
        }
    }
}

/// The README's rule table, as the rule files make it: user rules, then tenant rules, each by
/// folder and id.
fn rule_table(registry: &Registry) -> String {
    let mut rules: Vec<_> = registry.rules.iter().collect();
    rules.sort_by_key(|r| {
        (
            r.target == Target::Tenant,
            r.area().to_owned(),
            r.id.clone(),
        )
    });
    let mut lines = vec![
        "| id | applies to | severity | title |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];
    for r in rules {
        let mut severity = r.severity.as_str().to_owned();
        if let Some(mau) = r.mau_billing_severity {
            severity.push_str(&format!(" ({} with `--mau-billing`)", mau.as_str()));
        }
        lines.push(format!(
            "| `{}` | {} | {severity} | {} |",
            r.id,
            r.target.as_str(),
            r.title
        ));
    }
    lines.join("\n")
}

#[test]
fn the_readme_rule_table_is_the_rule_files() {
    let registry = Registry::load(&[]).expect("built-in rules load");
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .expect("README.md");
    let start = readme
        .find("| id | applies to | severity | title |")
        .expect("the README has a rule table");
    let end = readme[start..]
        .find("\n\n")
        .map_or(readme.len(), |e| start + e);
    let expected = rule_table(&registry);
    assert!(
        readme[start..end] == expected,
        "README.md's rule table differs from the rule files; it should read:\n\n{expected}\n"
    );
}

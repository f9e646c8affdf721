//! `junit.xml`: one test case per rule, so CI systems that read JUnit (Azure DevOps, GitLab,
//! Jenkins) show the scan as tests. A rule fails when it has findings that fail the build,
//! is skipped when it could not be evaluated, and passes otherwise. XML escaping and the
//! removal of characters XML cannot hold are quick-junit's.

use std::io::Write;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::output::OutputError;
use crate::scan::ScanResult;
use crate::scan::review::{Standing, plural};

/// Subjects named in a failure's message; all of them go in its description, up to DESCRIBED.
const NAMED: usize = 5;
const DESCRIBED: usize = 200;

fn subject(result: &ScanResult, f: &crate::scan::Finding) -> String {
    match f.row {
        Some(_) => result.subject_label(f).to_owned(),
        None => format!("tenant {}", result.tenant_id()),
    }
}

pub fn render(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    let name = result.tenant_name();
    let mut suite = TestSuite::new(format!(
        "b2bready {}",
        if name.is_empty() {
            result.tenant_id()
        } else {
            name
        }
    ));
    suite.add_property(Property::new("tenantId", result.tenant_id()));
    suite.add_property(Property::new("failOn", result.fail_on_label()));
    add_counts(result, &mut suite);
    let mut per_rule: Vec<Vec<&crate::scan::Finding>> =
        vec![Vec::new(); result.registry.rules.len()];
    for f in &result.findings {
        per_rule[f.rule as usize].push(f);
    }
    for (i, (rule, outcome)) in result
        .registry
        .rules
        .iter()
        .zip(&result.outcomes)
        .enumerate()
    {
        let findings = &per_rule[i];
        let failing: Vec<_> = findings.iter().filter(|f| result.fails(f)).collect();
        let count = |s: Standing| findings.iter().filter(|f| result.standing(f) == s).count();
        let status = status(result, outcome, &failing);
        let mut case = TestCase::new(format!("{}: {}", rule.id, rule.title), status);
        case.set_classname(format!("b2bready.{}", rule.area()));
        case.set_system_out(format!(
            "severity {}; {} finding{}: {} failing, {} accepted by exceptions, {} already in the baseline, {} below the threshold",
            outcome.severity.as_str(),
            findings.len(),
            plural(findings.len()),
            failing.len(),
            count(Standing::Accepted),
            count(Standing::Known),
            count(Standing::Below),
        ));
        suite.add_test_case(case);
    }
    let mut report = Report::new("b2bready");
    report.add_test_suite(suite);
    report.serialize(out).map_err(|e| OutputError::Render {
        what: "junit.xml".into(),
        message: e.to_string(),
    })
}

/// The review counts as suite properties.
fn add_counts(result: &ScanResult, suite: &mut TestSuite) {
    let c = &result.review.counts;
    let mut counts = vec![
        ("failing", c.failing),
        ("accepted", c.accepted),
        ("expired", c.expired),
        ("notEvaluated", c.not_evaluated),
    ];
    if let (Some(new), Some(unchanged), Some(resolved)) = (c.new, c.unchanged, c.resolved) {
        counts.extend([
            ("new", new),
            ("unchanged", unchanged),
            ("resolved", resolved),
        ]);
    }
    for (name, n) in counts {
        suite.add_property(Property::new(name, n.to_string()));
    }
}

/// A rule's test case passes, fails (with the first failing subjects) or is skipped.
fn status(
    result: &ScanResult,
    outcome: &crate::scan::RuleOutcome,
    failing: &[&&crate::scan::Finding],
) -> TestCaseStatus {
    if let Some(why) = &outcome.not_evaluated {
        let mut s = if result.review.fail_on_not_evaluated {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type("not-evaluated");
            s
        } else {
            TestCaseStatus::skipped()
        };
        s.set_message(format!("not evaluated: {why}"));
        s
    } else if failing.is_empty() {
        TestCaseStatus::success()
    } else {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let names: Vec<String> = failing
            .iter()
            .take(NAMED)
            .map(|f| subject(result, f))
            .collect();
        s.set_message(format!(
            "{} finding{} the build: {}{}",
            failing.len(),
            if failing.len() == 1 {
                " fails"
            } else {
                "s fail"
            },
            names.join(", "),
            if failing.len() > NAMED { ", …" } else { "" }
        ));
        s.set_type(outcome.severity.as_str());
        let mut description: Vec<String> = failing
            .iter()
            .take(DESCRIBED)
            .map(|f| format!("{}: {}", subject(result, f), result.message(f)))
            .collect();
        if failing.len() > DESCRIBED {
            description.push(format!("… and {} more", failing.len() - DESCRIBED));
        }
        s.set_description(description.join("\n"));
        s
    }
}

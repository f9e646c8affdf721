//! The SARIF rule table, generated from the rule files: title, what, why, remediation and
//! references, the level, and the tags code scanning filters on.

use std::collections::BTreeMap;

use serde_json::json;
use serde_sarif::sarif::{
    MultiformatMessageString, PropertyBag, ReportingConfiguration, ReportingDescriptor,
};

use super::level;
use crate::model::Severity;
use crate::rules::Rule;

pub(super) fn descriptor(rule: &Rule, severity: Severity) -> ReportingDescriptor {
    let d = &rule.docs;
    let mut help = format!(
        "{}\n\nWhy it matters: {}\n\nRemediation: {}",
        d.what.trim(),
        d.why.trim(),
        d.remediation.trim()
    );
    let mut markdown = format!(
        "{}\n\n**Why it matters.** {}\n\n**Remediation.** {}",
        d.what.trim(),
        d.why.trim(),
        d.remediation.trim()
    );
    if !d.references.is_empty() {
        help.push_str("\n\nReferences:");
        markdown.push_str("\n\n**References**\n");
        for r in &d.references {
            help.push_str(&format!("\n- {r}"));
            markdown.push_str(&format!("\n- {r}"));
        }
    }
    let area = rule.area().to_owned();
    let name: String = rule
        .id
        .split('-')
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    let mut b = ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(name)
        .short_description(
            MultiformatMessageString::builder()
                .text(rule.title.clone())
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(d.what.trim().to_owned())
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(help)
                .markdown(markdown)
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level(severity)))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(vec![
                    "b2bready".to_owned(),
                    area,
                    rule.target.as_str().to_owned(),
                ])
                .additional_properties(BTreeMap::from([
                    ("precision".to_owned(), json!("very-high")),
                    (
                        "problem.severity".to_owned(),
                        json!(match severity {
                            Severity::Blocker => "error",
                            Severity::Warning => "warning",
                            Severity::Info => "recommendation",
                        }),
                    ),
                ]))
                .build(),
        )
        .build();
    b.help_uri = d
        .references
        .iter()
        .find(|r| r.starts_with("https://"))
        .cloned();
    b
}

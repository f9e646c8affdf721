//! `findings.sarif`: SARIF 2.1.0 as GitHub code scanning reads it. One run; the rule table is
//! generated from the rule files; each result points at the account's line in the snapshot
//! (a physical location, which code scanning needs) and names the account or tenant as a
//! logical location. Fingerprints hash rule and subject only, so an alert follows the same
//! account from one nightly export to the next. GitHub keeps 25,000 results per run: beyond
//! that, failing and severe findings go first and a notification says how many were left out.

use std::collections::BTreeMap;
use std::io::Write;

use rayon::prelude::*;
use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingDescriptor, ReportingDescriptorReference,
    Result as SarifResult, RunAutomationDetails, Sarif, Suppression, Tool, ToolComponent,
};

mod rules;

use crate::model::{Severity, user as col};
use crate::output::OutputError;
use crate::rules::Rule;
use crate::scan::review::Standing;
use crate::scan::{Finding, ScanResult, baseline};

/// GitHub code scanning's limit of results per run.
pub const MAX_RESULTS: usize = 25_000;
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Blocker => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A path as a URI reference: unreserved characters kept, everything else percent-encoded.
fn uri(path: &std::path::Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let text = text.strip_prefix("./").unwrap_or(&text);
    let mut out = String::with_capacity(text.len() + 8);
    let drive = text.as_bytes();
    let text = if drive.len() > 2 && drive[0].is_ascii_alphabetic() && drive[1] == b':' {
        // A Windows path: file:///C:/…
        out.push_str("file:///");
        out.push_str(&text[..2]);
        &text[2..]
    } else {
        if text.starts_with('/') {
            out.push_str("file://");
        }
        text
    };
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn props(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> PropertyBag {
    PropertyBag::builder()
        .additional_properties(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<BTreeMap<_, _>>(),
        )
        .build()
}

fn text(s: impl Into<String>) -> Message {
    Message::builder().text(s.into()).build()
}

fn result_of(result: &ScanResult, f: &Finding, files: &Files) -> SarifResult {
    let rule = result.rule(f);
    let (kind, id, upn, mail, artifact, line) = match f.row {
        Some(r) => (
            "user",
            result.user_text(col::ID, r).unwrap_or(""),
            result.user_text(col::UPN, r),
            result.user_text(col::MAIL, r),
            &files.users,
            result.lines.get(r as usize).copied().unwrap_or(1).max(1),
        ),
        None => ("tenant", result.tenant_id(), None, None, &files.tenant, 1),
    };
    let fingerprint = baseline::of(result, f);
    let who = upn.unwrap_or(id);
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(ArtifactLocation::builder().uri(artifact.clone()).build())
                .region(Region::builder().start_line(line as i64).build())
                .build(),
        )
        .logical_locations(vec![
            LogicalLocation::builder()
                .name(id.to_owned())
                .fully_qualified_name(format!("{kind}/{id}"))
                .kind("resource")
                .build(),
        ])
        .build();
    let message = match f.row {
        Some(_) => format!("{who}: {}", result.message(f)),
        None => result.message(f).into_owned(),
    };
    let mut r = SarifResult::builder()
        .rule_id(rule.id.clone())
        .rule_index(f.rule as i64)
        .level(
            serde_json::from_value(json!(level(result.severity(f))))
                .unwrap_or(serde_sarif::sarif::ResultLevel::Warning),
        )
        .message(text(message))
        .locations(vec![location])
        .partial_fingerprints(BTreeMap::from([
            (
                "primaryLocationLineHash".to_owned(),
                fingerprint.to_string(),
            ),
            ("b2breadyFingerprint/v1".to_owned(), fingerprint.to_string()),
        ]))
        .properties(props([
            (
                "subject",
                json!({"type": kind, "id": id, "userPrincipalName": upn, "mail": mail}),
            ),
            ("fails", json!(result.fails(f))),
        ]))
        .build();
    if let Some(state) = f.change.as_str() {
        r.baseline_state = Some(json!(state));
    }
    mark_exception(result, f, &mut r);
    r
}

/// An accepted finding gets a suppression carrying the exception's reason; one whose
/// exception expired says so in its properties.
fn mark_exception(result: &ScanResult, f: &Finding, r: &mut SarifResult) {
    let Some(e) = result.exception(f) else {
        return;
    };
    let x = &e.exception;
    let expires = x.expires.map(|d| d.to_string());
    if result.standing(f) == Standing::Accepted {
        r.suppressions = Some(vec![
            Suppression::builder()
                .kind(json!("external"))
                .status(json!("accepted"))
                .justification(x.reason.clone())
                .properties(props([
                    ("owner", json!(x.owner)),
                    ("expires", json!(expires)),
                    ("configLine", json!(x.line)),
                ]))
                .build(),
        ]);
    } else if let Some(p) = r.properties.as_mut() {
        p.additional_properties.insert(
            "expiredException".into(),
            json!({"reason": x.reason, "owner": x.owner, "expires": expires}),
        );
    }
}

/// Where results point: the snapshot's users file and the file of tenant-wide data.
struct Files {
    users: String,
    tenant: String,
}

fn notification(level: &str, message: String, rule: Option<(usize, &Rule)>) -> Notification {
    let mut n = Notification::builder()
        .level(json!(level))
        .message(text(message))
        .build();
    if let Some((i, r)) = rule {
        n.associated_rule = Some(
            ReportingDescriptorReference::builder()
                .id(r.id.clone())
                .index(i as i64)
                .build(),
        );
    }
    n
}

/// What the run has to say besides results: rules not evaluated, results left out, unused
/// exceptions, and why the build fails.
fn notifications(result: &ScanResult, left_out: usize) -> Vec<Notification> {
    let mut notes: Vec<Notification> = result
        .registry
        .rules
        .iter()
        .zip(&result.outcomes)
        .enumerate()
        .filter_map(|(i, (r, o))| {
            o.not_evaluated.as_ref().map(|why| {
                notification(
                    "warning",
                    format!(
                        "{} was not evaluated, neither passed nor failed: {why}",
                        r.id
                    ),
                    Some((i, r)),
                )
            })
        })
        .collect();
    if left_out > 0 {
        notes.push(notification(
            "warning",
            format!(
                "{left_out} of {} findings are left out of this file (code scanning keeps {MAX_RESULTS} per run): findings.json and findings.csv hold them all",
                result.findings.len()
            ),
            None,
        ));
    }
    notes.extend(
        result
            .unused_exceptions()
            .map(|m| notification("note", m, None)),
    );
    notes.extend(
        result
            .gate_reasons()
            .into_iter()
            .map(|m| notification("error", m, None)),
    );
    notes
}

pub fn render(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    let file_of = |name: &str, fallback: &str| {
        let file = result
            .manifest
            .collections
            .get(name)
            .and_then(|e| e.file.clone())
            .unwrap_or_else(|| fallback.to_owned());
        uri(&result.snapshot.join(file))
    };
    let files = Files {
        users: file_of("users", "users.jsonl"),
        tenant: file_of("organization", "manifest.json"),
    };
    let rules: Vec<ReportingDescriptor> = result
        .registry
        .rules
        .iter()
        .zip(&result.outcomes)
        .map(|(r, o)| rules::descriptor(r, o.severity))
        .collect();
    // Failing first, then by severity; rule and subject order within (the sort is stable).
    let mut order: Vec<&Finding> = result.findings.iter().collect();
    order.sort_by_key(|f| (!result.fails(f), std::cmp::Reverse(result.severity(f))));
    let left_out = order.len().saturating_sub(MAX_RESULTS);
    order.truncate(MAX_RESULTS);
    let results: Vec<SarifResult> = order
        .par_iter()
        .map(|f| result_of(result, f, &files))
        .collect();

    let notes = notifications(result, left_out);
    let mut invocation = Invocation::builder().execution_successful(true).build();
    invocation.exit_code = Some(i64::from(result.exit_code()));
    if !notes.is_empty() {
        invocation.tool_execution_notifications = Some(notes);
    }
    let c = &result.review.counts;
    let run = serde_sarif::sarif::Run::builder()
        .tool(
            Tool::builder()
                .driver(
                    ToolComponent::builder()
                        .name("b2bready")
                        .version(env!("CARGO_PKG_VERSION"))
                        .semantic_version(env!("CARGO_PKG_VERSION"))
                        .rules(rules)
                        .build(),
                )
                .build(),
        )
        .automation_details(
            RunAutomationDetails::builder()
                .id(format!("b2bready/{}/", result.tenant_id()))
                .build(),
        )
        .invocations(vec![invocation])
        .results(results)
        .properties(props([
            ("tenantId", json!(result.tenant_id())),
            ("tenantName", json!(result.tenant_name())),
            ("summary", json!(result.summary)),
            ("review", json!(c)),
            ("resultsLeftOut", json!(left_out)),
        ]))
        .build();
    let sarif = Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    serde_json::to_writer_pretty(&mut *out, &sarif).map_err(|e| OutputError::Render {
        what: "findings.sarif".into(),
        message: e.to_string(),
    })?;
    out.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(
            uri(std::path::Path::new("./snap shot/users.jsonl")),
            "snap%20shot/users.jsonl"
        );
        assert_eq!(
            uri(std::path::Path::new("/srv/t/users.jsonl")),
            "file:///srv/t/users.jsonl"
        );
        assert_eq!(
            uri(std::path::Path::new("C:\\t\\users.jsonl")),
            "file:///C:/t/users.jsonl"
        );
    }
}

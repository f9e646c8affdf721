//! The data `report.html` renders from in the browser: one JSON document inside
//! `<script type="application/json">`. Tenant text only ever sits in JSON strings, and `<`, `>`
//! and `&` are written as `\u003c`, `\u003e` and `\u0026`, so no value can close the element,
//! open a comment or start another tag, whatever it holds; `JSON.parse` reads them back as they
//! were.
//!
//! Shape (arrays keep a 100,000-account page small; `report.js` names the fields):
//! - `rules`: every rule in registry order; a finding's rule is an index into it.
//! - `exceptions`: the review's exceptions; a finding's exception is an index into it.
//! - `tenantFindings`: `[rule, message, evidence, flags, exception]`, reported once; the
//!   evidence is an array of values named by the rule's `evidence`.
//! - `accounts`: `[id, upn, displayName, mail, verdict, reason, blockers, warnings, findings]`,
//!   blocked first as in the table, at most the page's limit; `findings` as above.
//!
//! `flags` is a bit set: 1 new since the baseline, 2 unchanged, 4 accepted by an exception,
//! 8 its exception has expired, 16 fails the review.

use std::io::{self, Write};

use serde::Serialize;

use crate::model::user as col;
use crate::output::OutputError;
use crate::report::json::{self, Evidence};
use crate::report::review::{ExceptionDto, exception};
use crate::rules::Docs;
use crate::scan::baseline::Change;
use crate::scan::{Finding, ScanResult, VerdictRow};

const FILE: &str = "report.html";

/// Writes JSON with `<`, `>` and `&` escaped. Outside strings serde_json writes none of them,
/// so escaping bytes is escaping inside strings.
pub struct ScriptSafe<W>(pub W);

impl<W: Write> Write for ScriptSafe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        for i in memchr::memchr3_iter(b'<', b'>', b'&', buf) {
            self.0.write_all(&buf[start..i])?;
            self.0.write_all(match buf[i] {
                b'<' => br"\u003c",
                b'>' => br"\u003e",
                _ => br"\u0026",
            })?;
            start = i + 1;
        }
        self.0.write_all(&buf[start..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    rules: Vec<RuleData<'a>>,
    exceptions: Vec<ExceptionDto<'a>>,
    tenant_findings: Vec<FindingData<'a>>,
}

/// A rule as the page shows it: the template's rule documentation and the data's rules.
#[derive(Serialize)]
pub(super) struct RuleData<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub severity: &'static str,
    pub target: &'static str,
    pub status: &'static str,
    pub reason: Option<&'a str>,
    pub count: usize,
    /// The names of the evidence values of its findings.
    pub evidence: Vec<&'a str>,
    pub docs: &'a Docs,
}

/// Every rule, in registry order.
pub(super) fn rules(result: &ScanResult) -> Vec<RuleData<'_>> {
    json::rules(result)
        .zip(&result.registry.rules)
        .map(|(d, r)| RuleData {
            id: d.id,
            title: d.title,
            severity: d.severity,
            target: d.target,
            status: d.status,
            reason: d.reason,
            count: d.count,
            evidence: r.evidence.iter().map(|(name, _)| name.as_str()).collect(),
            docs: &r.docs,
        })
        .collect()
}

/// `[rule, message, evidence values, flags, exception]`.
struct FindingData<'a> {
    rule: u16,
    message: std::borrow::Cow<'a, str>,
    evidence: Evidence<'a>,
    flags: u8,
    exception: Option<u16>,
}

impl Serialize for FindingData<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(5)?;
        t.serialize_element(&self.rule)?;
        t.serialize_element(&self.message)?;
        t.serialize_element(&self.evidence.values())?;
        t.serialize_element(&self.flags)?;
        t.serialize_element(&self.exception)?;
        t.end()
    }
}

fn finding<'a>(result: &'a ScanResult, f: &Finding) -> FindingData<'a> {
    let exception = result.exception(f);
    let flags = match f.change {
        Change::New => 1,
        Change::Unchanged | Change::UnchangedAccepted => 2,
        Change::Untracked => 0,
    } | match exception {
        Some(e) if e.expired => 8,
        Some(_) => 4,
        None => 0,
    } | if result.fails(f) { 16 } else { 0 };
    FindingData {
        rule: f.rule,
        message: result.message(f),
        evidence: json::evidence(result, f),
        flags,
        exception: f.exception,
    }
}

/// Each account's findings: those of user row `r` are `order[starts[r]..starts[r + 1]]`, in
/// the order of `result.findings` (by rule).
struct ByRow {
    starts: Vec<u32>,
    order: Vec<u32>,
}

impl ByRow {
    fn new(result: &ScanResult) -> Self {
        let mut starts = vec![0u32; result.users.len() + 1];
        for f in &result.findings {
            if let Some(r) = f.row {
                starts[r as usize + 1] += 1;
            }
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut order = vec![0u32; starts.last().copied().unwrap_or(0) as usize];
        for (i, f) in result.findings.iter().enumerate() {
            if let Some(r) = f.row {
                order[next[r as usize] as usize] = i as u32;
                next[r as usize] += 1;
            }
        }
        ByRow { starts, order }
    }

    fn of(&self, row: u32) -> &[u32] {
        let r = row as usize;
        &self.order[self.starts[r] as usize..self.starts[r + 1] as usize]
    }
}

fn account<'a>(result: &'a ScanResult, by_row: &ByRow, v: &'a VerdictRow) -> impl Serialize + 'a {
    let findings: Vec<FindingData<'a>> = by_row
        .of(v.row)
        .iter()
        .map(|&i| finding(result, &result.findings[i as usize]))
        .collect();
    (
        result.user_text(col::ID, v.row).unwrap_or(""),
        result.user_text(col::UPN, v.row),
        result.user_text(col::DISPLAY_NAME, v.row),
        result.user_text(col::MAIL, v.row),
        v.verdict.as_str(),
        result.exclusion_reason(v),
        &v.blockers[..],
        &v.warnings[..],
        findings,
    )
}

/// Writes the data of the page for `shown`, the accounts it lists, in their order.
pub fn write(
    result: &ScanResult,
    shown: &[&VerdictRow],
    out: &mut dyn Write,
) -> Result<(), OutputError> {
    let mut out = ScriptSafe(out);
    let head = Head {
        rules: rules(result),
        exceptions: result.review.exceptions.iter().map(exception).collect(),
        tenant_findings: result
            .findings
            .iter()
            .filter(|f| f.row.is_none())
            .map(|f| finding(result, f))
            .collect(),
    };
    let head = serde_json::to_string(&head).map_err(|e| json::json_error(FILE, e))?;
    out.write_all(head.strip_suffix('}').unwrap_or(&head).as_bytes())?;
    let by_row = ByRow::new(result);
    json::array(&mut out, FILE, "accounts", shown, |v, buf| {
        serde_json::to_writer(buf, &account(result, &by_row, v))
    })?;
    out.write_all(b"}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ScriptSafe;

    #[test]
    fn nothing_in_a_string_can_close_the_script_element() {
        let hostile = r#"</script><script>alert(1)</script><!-- & -->"#;
        let mut out = ScriptSafe(Vec::new());
        serde_json::to_writer(&mut out, &serde_json::json!({ "name": hostile }))
            .expect("serialises");
        let text = String::from_utf8(out.0).expect("UTF-8");
        assert!(!text.contains(['<', '>', '&']), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back["name"], hostile);
    }
}

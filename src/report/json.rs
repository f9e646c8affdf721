//! `findings.json`, schema `b2bready-findings/1`: a frozen DTO written element by element,
//! so a million verdicts never sit in memory as one JSON tree.

use std::io::Write;

use serde::Serialize;

use super::generated_at;
use super::review::{ExceptionDto, ReviewDto, exception, resolved_dto, review};
pub use super::verdict_rows::{RuleIds, VerdictDto, verdict, verdicts};
use crate::output::OutputError;

use crate::model::{Cell, Table, user as col};
use crate::scan::baseline::of as fingerprint_of;
use crate::scan::{Finding, ScanResult, Summary};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Header<'a> {
    schema: &'static str,
    tool: Tool,
    generated_at: String,
    snapshot: Snapshot<'a>,
    tenant: Tenant<'a>,
    options: Options,
    summary: &'a Summary,
    review: ReviewDto<'a>,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot<'a> {
    path: String,
    exported_at: Option<&'a str>,
    complete: bool,
}

#[derive(Serialize)]
struct Tenant<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Options {
    scope: &'static str,
    mau_billing: bool,
}

#[derive(Serialize)]
pub struct RuleDto<'a> {
    pub id: &'a str,
    pub severity: &'static str,
    pub title: &'a str,
    pub target: &'static str,
    pub status: &'static str,
    pub reason: Option<&'a str>,
    pub count: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectDto<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: &'a str,
    pub user_principal_name: Option<&'a str>,
    pub mail: Option<&'a str>,
}

#[derive(Serialize)]
pub struct FindingDto<'a> {
    pub rule: &'a str,
    pub severity: &'static str,
    pub subject: SubjectDto<'a>,
    pub message: std::borrow::Cow<'a, str>,
    pub evidence: Evidence<'a>,
    /// Rule and subject, hashed: the same finding has the same fingerprint in every run.
    pub fingerprint: crate::scan::baseline::Fingerprint,
    /// Whether this finding fails the build.
    pub fails: bool,
    /// Whether a valid exception accepts it.
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<ExceptionDto<'a>>,
    /// `new` or `unchanged` against the baseline; absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<&'static str>,
}

/// A finding's evidence, serialised straight from the table's cells.
pub struct Evidence<'a> {
    pub(super) columns: &'a [(String, usize)],
    pub(super) table: &'a Table,
    pub(super) row: usize,
}

impl Evidence<'_> {
    /// The evidence's column names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|(name, _)| name.as_str())
    }

    /// Each column's name and the account's (or tenant's) cell, in order.
    pub fn cells(&self) -> impl Iterator<Item = (&str, Cell<'_>)> {
        self.columns
            .iter()
            .map(|(name, c)| (name.as_str(), self.table.cell(*c, self.row)))
    }

    /// The values alone, as an array in the order of `names`.
    pub fn values(&self) -> EvidenceValues<'_> {
        EvidenceValues(self)
    }
}

/// A finding's evidence values as an array (`report.html` names them once per rule).
pub struct EvidenceValues<'a>(&'a Evidence<'a>);

impl Serialize for EvidenceValues<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let e = self.0;
        let mut seq = s.serialize_seq(Some(e.columns.len()))?;
        for (_, c) in e.columns {
            match e.table.cell(*c, e.row) {
                Cell::Null => seq.serialize_element(&())?,
                Cell::Text(t) => seq.serialize_element(t)?,
                Cell::Bool(b) => seq.serialize_element(&b)?,
                Cell::Int(i) => seq.serialize_element(&i)?,
            }
        }
        seq.end()
    }
}

impl Serialize for Evidence<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.columns.len()))?;
        for (name, c) in self.columns {
            match self.table.cell(*c, self.row) {
                Cell::Null => map.serialize_entry(name, &())?,
                Cell::Text(t) => map.serialize_entry(name, t)?,
                Cell::Bool(b) => map.serialize_entry(name, &b)?,
                Cell::Int(i) => map.serialize_entry(name, &i)?,
            }
        }
        map.end()
    }
}

pub fn rules(result: &ScanResult) -> impl Iterator<Item = RuleDto<'_>> {
    result
        .registry
        .rules
        .iter()
        .zip(&result.outcomes)
        .map(|(r, o)| RuleDto {
            id: &r.id,
            severity: o.severity.as_str(),
            title: &r.title,
            target: r.target.as_str(),
            status: if o.not_evaluated.is_some() {
                "not-evaluated"
            } else {
                "evaluated"
            },
            reason: o.not_evaluated.as_deref(),
            count: o.count,
        })
}

pub fn finding<'a>(result: &'a ScanResult, f: &Finding) -> FindingDto<'a> {
    {
        let subject = match f.row {
            Some(r) => SubjectDto {
                kind: "user",
                id: result.user_text(col::ID, r).unwrap_or(""),
                user_principal_name: result.user_text(col::UPN, r),
                mail: result.user_text(col::MAIL, r),
            },
            None => SubjectDto {
                kind: "tenant",
                id: result.tenant_id(),
                user_principal_name: None,
                mail: None,
            },
        };
        let exception = result.exception(f);
        FindingDto {
            rule: &result.rule(f).id,
            severity: result.severity(f).as_str(),
            subject,
            message: result.message(f),
            evidence: evidence(result, f),
            fingerprint: fingerprint_of(result, f),
            fails: result.fails(f),
            accepted: exception.is_some_and(|e| !e.expired),
            exception: exception.map(self::exception),
            baseline: f.change.as_str(),
        }
    }
}

/// The finding's evidence: the rule's evidence columns of its account, or of the tenant.
pub fn evidence<'a>(result: &'a ScanResult, f: &Finding) -> Evidence<'a> {
    let (table, row) = match f.row {
        Some(r) => (&result.users, r as usize),
        None => (&result.tenant, 0),
    };
    Evidence {
        columns: &result.rule(f).evidence,
        table,
        row,
    }
}

pub fn findings(result: &ScanResult) -> impl Iterator<Item = FindingDto<'_>> {
    result.findings.iter().map(move |f| finding(result, f))
}

/// Writes `,"key": [ … ]` into the object being written to `what`, one element per line.
/// Elements are serialised in parallel, a chunk at a time, and written in order.
pub(super) fn array<I, F>(
    out: &mut dyn Write,
    what: &str,
    key: &str,
    items: &[I],
    write_one: F,
) -> Result<(), OutputError>
where
    I: Sync,
    F: Fn(&I, &mut Vec<u8>) -> serde_json::Result<()> + Sync,
{
    write!(out, ",\n  \"{key}\": [")?;
    let render = |chunk: &[I], first: bool| {
        let mut buf = Vec::with_capacity(chunk.len() * 256);
        for (k, item) in chunk.iter().enumerate() {
            let sep: &[u8] = if first && k == 0 {
                b"\n    "
            } else {
                b",\n    "
            };
            buf.extend_from_slice(sep);
            write_one(item, &mut buf).map_err(|e| json_error(what, e))?;
        }
        Ok(buf)
    };
    super::chunked(items, render, |buf| Ok(out.write_all(&buf)?))?;
    out.write_all(b"\n  ]")?;
    Ok(())
}

pub(super) fn json_error(what: &str, e: serde_json::Error) -> OutputError {
    OutputError::Render {
        what: what.into(),
        message: e.to_string(),
    }
}

pub(super) const FILE: &str = "findings.json";

pub fn render(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    render_with_csv(result, out, None)
}

/// `findings.json` to `out` and, when `csv` is given, `findings.csv` to it in the same pass
/// over the findings.
pub fn render_with_csv(
    result: &ScanResult,
    out: &mut dyn Write,
    csv: Option<&mut (dyn Write + Send)>,
) -> Result<(), OutputError> {
    let header = Header {
        schema: crate::model::FINDINGS_SCHEMA,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        generated_at: generated_at(),
        snapshot: Snapshot {
            path: result.snapshot.display().to_string(),
            exported_at: result.manifest.exported_at.as_deref(),
            complete: result.manifest.complete,
        },
        tenant: Tenant {
            id: result.tenant_id(),
            name: result.tenant_name(),
        },
        options: Options {
            scope: result.options.scope.label(),
            mau_billing: result.options.mau_billing,
        },
        summary: &result.summary,
        review: review(result),
        warnings: &result.warnings,
    };
    // The header's fields, pretty-printed, then the three arrays one element per line.
    let head = serde_json::to_string_pretty(&header).map_err(|e| json_error(FILE, e))?;
    let head = head
        .trim_end()
        .strip_suffix('}')
        .unwrap_or(&head)
        .trim_end();
    out.write_all(head.as_bytes())?;
    let rule_dtos: Vec<RuleDto> = rules(result).collect();
    array(out, FILE, "rules", &rule_dtos, |r, buf| {
        serde_json::to_writer(buf, r)
    })?;
    write!(out, ",\n  \"findings\": [")?;
    match csv {
        Some(csv) => super::finding_rows::write_both(result, out, csv)?,
        None => super::finding_rows::write_json(result, out)?,
    }
    out.write_all(b"\n  ]")?;
    array(out, FILE, "verdicts", &result.verdicts, |v, buf| {
        super::verdict_rows::push_line(buf, &verdict(result, v))
    })?;
    let resolved = result
        .review
        .baseline
        .as_ref()
        .map_or(&[][..], |b| &b.resolved[..]);
    array(out, FILE, "resolved", resolved, |r, buf| {
        serde_json::to_writer(buf, &resolved_dto(r))
    })?;
    out.write_all(b"\n}\n")?;
    Ok(())
}

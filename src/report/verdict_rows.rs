//! Each verdict as its frozen DTO ([`VerdictDto`], re-exported by `json`), its line in
//! `findings.json` and its row in `verdicts.csv`, the line and the row assembled by
//! hand like the findings' (`finding_rows`): the line is byte for byte what `serde_json` writes
//! for a [`VerdictDto`] (a test holds them together), the row what the `csv` writer would.

use serde::Serialize;

use super::finding_rows::{push_opt, push_str};
use crate::model::user as col;
use crate::output::csv::{formula_safe, push_field};
use crate::scan::{ScanResult, VerdictRow};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerdictDto<'a> {
    pub id: &'a str,
    pub user_principal_name: Option<&'a str>,
    pub display_name: Option<&'a str>,
    pub mail: Option<&'a str>,
    pub verdict: &'static str,
    pub reason: Option<std::borrow::Cow<'static, str>>,
    pub blockers: RuleIds<'a>,
    pub warnings: RuleIds<'a>,
}

/// The ids of a verdict's rules, looked up as they are written: a million verdicts make no
/// lists of their own.
#[derive(Clone, Copy)]
pub struct RuleIds<'a> {
    rules: &'a [u16],
    result: &'a ScanResult,
}

impl<'a> RuleIds<'a> {
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let result = self.result;
        self.rules.iter().map(move |&r| result.rule_id(r))
    }

    /// The ids with `sep` between them.
    pub fn join(&self, sep: &str) -> String {
        let mut out = String::new();
        self.join_into(sep, &mut out);
        out
    }

    /// Appends the ids with `sep` between them to `out`.
    pub fn join_into(&self, sep: &str, out: &mut String) {
        for (i, id) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(id);
        }
    }
}

impl Serialize for RuleIds<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

pub fn verdict<'a>(result: &'a ScanResult, v: &'a VerdictRow) -> VerdictDto<'a> {
    VerdictDto {
        id: result.user_text(col::ID, v.row).unwrap_or(""),
        user_principal_name: result.user_text(col::UPN, v.row),
        display_name: result.user_text(col::DISPLAY_NAME, v.row),
        mail: result.user_text(col::MAIL, v.row),
        verdict: v.verdict.as_str(),
        reason: result.exclusion_reason(v),
        blockers: RuleIds {
            rules: &v.blockers,
            result,
        },
        warnings: RuleIds {
            rules: &v.warnings,
            result,
        },
    }
}

pub fn verdicts(result: &ScanResult) -> impl Iterator<Item = VerdictDto<'_>> {
    result.verdicts.iter().map(move |v| verdict(result, v))
}

/// The columns of `verdicts.csv`, in order.
pub const CSV_COLUMNS: [&str; 8] = [
    "id",
    "user_principal_name",
    "display_name",
    "mail",
    "verdict",
    "reason",
    "blockers",
    "warnings",
];

fn push_list(buf: &mut Vec<u8>, items: RuleIds<'_>) -> serde_json::Result<()> {
    buf.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_str(buf, item)?;
    }
    buf.push(b']');
    Ok(())
}

/// Appends the verdict's `findings.json` line.
pub fn push_line(buf: &mut Vec<u8>, v: &VerdictDto<'_>) -> serde_json::Result<()> {
    buf.extend_from_slice(b"{\"id\":");
    push_str(buf, v.id)?;
    buf.extend_from_slice(b",\"userPrincipalName\":");
    push_opt(buf, v.user_principal_name)?;
    buf.extend_from_slice(b",\"displayName\":");
    push_opt(buf, v.display_name)?;
    buf.extend_from_slice(b",\"mail\":");
    push_opt(buf, v.mail)?;
    buf.extend_from_slice(b",\"verdict\":");
    push_str(buf, v.verdict)?;
    buf.extend_from_slice(b",\"reason\":");
    push_opt(buf, v.reason.as_deref())?;
    buf.extend_from_slice(b",\"blockers\":");
    push_list(buf, v.blockers)?;
    buf.extend_from_slice(b",\"warnings\":");
    push_list(buf, v.warnings)?;
    buf.push(b'}');
    Ok(())
}

/// Appends the verdict's `verdicts.csv` row, every cell formula-safe, rule lists joined by `;`
/// (in `lists`, which the caller keeps from row to row).
pub fn push_row(buf: &mut Vec<u8>, v: &VerdictDto<'_>, lists: &mut String) {
    let cells = [
        Some(v.id),
        v.user_principal_name,
        v.display_name,
        v.mail,
        Some(v.verdict),
        v.reason.as_deref(),
    ];
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_field(buf, formula_safe(cell.unwrap_or("")).as_bytes());
    }
    for list in [v.blockers, v.warnings] {
        lists.clear();
        list.join_into(";", lists);
        buf.push(b',');
        push_field(buf, formula_safe(lists).as_bytes());
    }
    buf.push(b'\n');
}

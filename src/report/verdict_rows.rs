//! Each verdict as its line in `findings.json` and its row in `verdicts.csv`, assembled by
//! hand like the findings' (`finding_rows`): the line is byte for byte what `serde_json` writes
//! for a [`VerdictDto`] (a test holds them together), the row what the `csv` writer would.

use super::finding_rows::{push_opt, push_str};
use super::json::{RuleIds, VerdictDto};
use crate::output::csv::{formula_safe, push_field};

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

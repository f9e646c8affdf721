//! `findings.csv` and `verdicts.csv`, flattened from the same DTOs as `findings.json` (so the
//! two never diverge) and written by polars. Every cell is formula-safe. Rows are turned into
//! columns in parallel chunks, which polars then writes as one frame.

use std::io::Write;

use polars::prelude::{DataFrame, PolarsResult};
use rayon::prelude::*;

use super::json::{finding, verdict};
use crate::output::OutputError;
use crate::output::csv::{column, render_error, write_frame};
use crate::scan::ScanResult;

const CHUNK: usize = 32_768;

/// Builds one frame per chunk in parallel and stacks them.
fn stacked<T: Sync>(
    items: &[T],
    build: impl Fn(&[T]) -> PolarsResult<DataFrame> + Sync,
) -> PolarsResult<DataFrame> {
    let frames: Vec<DataFrame> = items
        .par_chunks(CHUNK)
        .map(&build)
        .collect::<PolarsResult<_>>()?;
    let mut frames = frames.into_iter();
    let mut df = match frames.next() {
        Some(df) => df,
        None => build(&[])?,
    };
    for f in frames {
        df.vstack_mut_owned(f)?;
    }
    Ok(df)
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub fn render_findings(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    let df = stacked(&result.findings, |chunk| {
        let rows: Vec<_> = chunk.iter().map(|f| finding(result, f)).collect();
        let evidence: Vec<String> = rows
            .iter()
            .map(|r| serde_json::to_string(&r.evidence).unwrap_or_default())
            .collect();
        DataFrame::new_infer_height(vec![
            column("rule", rows.iter().map(|r| Some(r.rule))),
            column("severity", rows.iter().map(|r| Some(r.severity))),
            column("subject_type", rows.iter().map(|r| Some(r.subject.kind))),
            column("subject_id", rows.iter().map(|r| Some(r.subject.id))),
            column(
                "user_principal_name",
                rows.iter().map(|r| r.subject.user_principal_name),
            ),
            column("mail", rows.iter().map(|r| r.subject.mail)),
            column("message", rows.iter().map(|r| Some(r.message.as_str()))),
            column("evidence", evidence.iter().map(|e| Some(e.as_str()))),
            column(
                "fingerprint",
                rows.iter().map(|r| Some(r.fingerprint.as_str())),
            ),
            column("fails", rows.iter().map(|r| Some(yes_no(r.fails)))),
            column("accepted", rows.iter().map(|r| Some(yes_no(r.accepted)))),
            column(
                "exception_reason",
                rows.iter().map(|r| r.exception.as_ref().map(|e| e.reason)),
            ),
            column(
                "exception_owner",
                rows.iter()
                    .map(|r| r.exception.as_ref().and_then(|e| e.owner)),
            ),
            column(
                "exception_expires",
                rows.iter()
                    .map(|r| r.exception.as_ref().and_then(|e| e.expires.as_deref())),
            ),
            column("baseline", rows.iter().map(|r| r.baseline)),
        ])
    })
    .map_err(render_error("findings.csv"))?;
    write_frame(df, out, "findings.csv")
}

pub fn render_verdicts(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    let df = stacked(&result.verdicts, |chunk| {
        let rows: Vec<_> = chunk.iter().map(|v| verdict(result, v)).collect();
        let blockers: Vec<String> = rows.iter().map(|r| r.blockers.join(";")).collect();
        let warnings: Vec<String> = rows.iter().map(|r| r.warnings.join(";")).collect();
        DataFrame::new_infer_height(vec![
            column("id", rows.iter().map(|r| Some(r.id))),
            column(
                "user_principal_name",
                rows.iter().map(|r| r.user_principal_name),
            ),
            column("display_name", rows.iter().map(|r| r.display_name)),
            column("mail", rows.iter().map(|r| r.mail)),
            column("verdict", rows.iter().map(|r| Some(r.verdict))),
            column("reason", rows.iter().map(|r| r.reason.as_deref())),
            column("blockers", blockers.iter().map(|b| Some(b.as_str()))),
            column("warnings", warnings.iter().map(|w| Some(w.as_str()))),
        ])
    })
    .map_err(render_error("verdicts.csv"))?;
    write_frame(df, out, "verdicts.csv")
}

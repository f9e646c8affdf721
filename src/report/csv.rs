//! `findings.csv` and `verdicts.csv`, flattened from the same DTOs as `findings.json` (so the
//! two never diverge; the findings' rows are assembled in `finding_rows`). Every cell is
//! formula-safe. Chunks of rows are rendered in parallel and written one after the other.

use std::io::Write;

use super::json::verdict;
use super::verdict_rows::{CSV_COLUMNS, push_row};
use crate::output::OutputError;
use crate::output::csv::{Start, start};
use crate::scan::{ScanResult, VerdictRow};

pub fn render_findings(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    super::finding_rows::write_csv(result, out)
}

pub fn render_verdicts(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    start(out, &CSV_COLUMNS, Start::File, "verdicts.csv")?;
    let render = |chunk: &[VerdictRow], _first| {
        let mut buf = Vec::with_capacity(chunk.len() * 256);
        let mut lists = String::new();
        for v in chunk {
            push_row(&mut buf, &verdict(result, v), &mut lists);
        }
        Ok(buf)
    };
    super::chunked(&result.verdicts, render, |buf| Ok(out.write_all(&buf)?))
}

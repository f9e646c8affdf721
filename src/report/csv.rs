//! `findings.csv` and `verdicts.csv`, flattened from the same DTOs as `findings.json` (so the
//! two never diverge; the findings' rows are assembled in `finding_rows`). Every cell is
//! formula-safe. Chunks of rows are rendered in parallel and written one after the other.

use std::io::Write;

use rayon::prelude::*;

use super::json::verdict;
use super::verdict_rows::{CSV_COLUMNS, push_row};
use crate::output::OutputError;
use crate::output::csv::{Start, start};
use crate::scan::ScanResult;

const CHUNK: usize = 4_096;

/// Chunks rendered in parallel at a time: bounds the memory to this many chunks, however many
/// rows there are.
const CHUNKS_AT_A_TIME: usize = 4;

/// Renders one chunk of rows into a buffer.
type Render<'r, T> = dyn Fn(&[T], &mut Vec<u8>, Start) -> Result<(), OutputError> + Sync + 'r;

/// Renders the rows a chunk at a time, a few chunks in parallel, and writes each in order as it
/// is done (the byte order mark and the header once), so the rows never sit in memory all
/// together.
fn write_chunked<T: Sync>(
    items: &[T],
    render: &Render<'_, T>,
    out: &mut dyn Write,
) -> Result<(), OutputError> {
    if items.is_empty() {
        let mut buf = Vec::new();
        render(&[], &mut buf, Start::File)?;
        return Ok(out.write_all(&buf)?);
    }
    for (g, group) in items.chunks(CHUNK * CHUNKS_AT_A_TIME).enumerate() {
        let buffers: Vec<Vec<u8>> = group
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| {
                let start = if g == 0 && c == 0 {
                    Start::File
                } else {
                    Start::Continued
                };
                let mut buf = Vec::with_capacity(chunk.len() * 256);
                render(chunk, &mut buf, start).map(|()| buf)
            })
            .collect::<Result<_, _>>()?;
        for buf in buffers {
            out.write_all(&buf)?;
        }
    }
    Ok(())
}

pub fn render_findings(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    super::finding_rows::write_csv(result, out)
}

pub fn render_verdicts(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    write_chunked(
        &result.verdicts,
        &|chunk, buf, at| {
            start(buf, &CSV_COLUMNS, at, "verdicts.csv")?;
            for v in chunk {
                push_row(buf, &verdict(result, v));
            }
            Ok(())
        },
        out,
    )
}

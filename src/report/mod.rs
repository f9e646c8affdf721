//! Renderers. Each reads a finished `ScanResult` and writes one format to the writer it is
//! given; none evaluates anything. Files are written to a temporary name and renamed.

pub mod csv;
pub mod finding_rows;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod review;
pub mod sarif;
pub mod table;
pub mod verdict_rows;

/// An output format of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Format {
    /// Totals, verdicts and findings per rule on standard output.
    Table,
    /// findings.json (schema b2bready-findings/1).
    Json,
    /// findings.csv and verdicts.csv, safe to open in a spreadsheet.
    Csv,
    /// report.html, one self-contained page.
    Html,
    /// findings.sarif: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// junit.xml: one test case per rule, for Azure DevOps, GitLab and Jenkins.
    Junit,
    /// summary.md: a short Markdown summary, e.g. for $GITHUB_STEP_SUMMARY.
    Markdown,
    /// GitHub Actions workflow annotations on standard output for failing findings.
    Github,
}

/// The time a report says it was made; `SOURCE_DATE_EPOCH` pins it for reproducible output.
pub fn generated_at() -> String {
    if let Some(ts) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
    {
        return ts.to_string();
    }
    crate::output::now_rfc3339()
}

/// Items per chunk: chunks are rendered in parallel, a few at a time, and written in order.
const CHUNK: usize = 4_096;

/// Chunks rendered at a time: bounds the memory however many items there are.
const CHUNKS_AT_A_TIME: usize = 4;

/// Renders `items` a chunk at a time (`render` is told whether its chunk is the first), a few
/// chunks in parallel, and hands each rendered chunk to `emit` in order. The next chunks are
/// rendered on another thread while `emit` writes these, so that writing (mostly the kernel
/// copying bytes) and rendering overlap, and the rows never sit in memory all together.
pub(crate) fn chunked<T: Sync, R: Send>(
    items: &[T],
    render: impl Fn(&[T], bool) -> Result<R, crate::output::OutputError> + Sync,
    mut emit: impl FnMut(R) -> Result<(), crate::output::OutputError>,
) -> Result<(), crate::output::OutputError> {
    use rayon::prelude::*;
    std::thread::scope(|s| {
        let (rendered, groups) = std::sync::mpsc::sync_channel::<Result<Vec<R>, _>>(1);
        let render = &render;
        s.spawn(move || {
            for (g, group) in items.chunks(CHUNK * CHUNKS_AT_A_TIME).enumerate() {
                let group: Result<Vec<R>, _> = group
                    .par_chunks(CHUNK)
                    .enumerate()
                    .map(|(c, chunk)| render(chunk, g == 0 && c == 0))
                    .collect();
                let failed = group.is_err();
                // A closed channel means the writing stopped.
                if rendered.send(group).is_err() || failed {
                    break;
                }
            }
        });
        for group in groups {
            for r in group? {
                emit(r)?;
            }
        }
        Ok(())
    })
}

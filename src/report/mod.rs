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

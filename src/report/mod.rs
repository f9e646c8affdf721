//! Renderers. Each reads a finished `ScanResult` and writes one format to the writer it is
//! given; none evaluates anything. Files are written to a temporary name and renamed.

pub mod csv;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod review;
pub mod sarif;
pub mod table;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::scan::{ScanResult, Scope};

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

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot render {what}: {message}")]
    Render { what: String, message: String },
}

impl From<std::io::Error> for ReportError {
    fn from(source: std::io::Error) -> Self {
        ReportError::Io {
            path: "output".into(),
            source,
        }
    }
}

/// Writes `name` in `dir` through `render`, atomically: a reader never sees half a report.
pub fn write_file(
    dir: &Path,
    name: &str,
    render: impl FnOnce(&mut dyn Write) -> Result<(), ReportError>,
) -> Result<PathBuf, ReportError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.partial"));
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source| ReportError::Io { path: p, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let result = render(&mut out).and_then(|()| out.flush().map_err(io(&tmp)));
    if let Err(e) = result {
        drop(out);
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(out);
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(path)
}

/// Makes a value safe for a spreadsheet cell: a leading `=`, `+`, `-`, `@`, tab or carriage
/// return would make Excel or LibreOffice run it as a formula, so it gets a `'` in front.
pub fn formula_safe(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with([
        '=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
    ]) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

pub fn scope_label(scope: &Scope) -> &'static str {
    match scope {
        Scope::LikelyGuests => "likely local guests",
        Scope::All => "all internal accounts",
        Scope::Listed(_) => "accounts listed in the scope file",
    }
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
    crate::snapshot::writer::now_rfc3339()
}

pub(crate) fn rule_ids<'a>(result: &'a ScanResult, rules: &[u16]) -> Vec<&'a str> {
    rules
        .iter()
        .map(|&r| result.registry.rules[r as usize].id.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "＝1"] {
            assert!(formula_safe(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(formula_safe("ana@adatum.com"), "ana@adatum.com");
        assert_eq!(formula_safe(""), "");
    }
}

//! `findings.csv` and `verdicts.csv`, flattened from the same DTOs as `findings.json` (so the
//! two never diverge) and written by polars. Every cell is formula-safe.

use std::io::Write;

use polars::prelude::{
    Column, CsvWriter, DataFrame, IntoColumn, NewChunkedArray, PlSmallStr, SerWriter,
    StringChunked,
};

use super::json::{findings, verdicts};
use super::{ReportError, formula_safe};
use crate::scan::ScanResult;

fn column(name: &str, values: Vec<Option<String>>) -> Column {
    StringChunked::from_iter_options(
        PlSmallStr::from(name),
        values
            .into_iter()
            .map(|v| v.map(|s| formula_safe(&s).into_owned())),
    )
    .into_column()
}

fn write(mut df: DataFrame, out: &mut dyn Write, what: &str) -> Result<(), ReportError> {
    CsvWriter::new(out)
        .include_header(true)
        .finish(&mut df)
        .map_err(|e| ReportError::Render {
            what: what.into(),
            message: e.to_string(),
        })
}

fn frame(columns: Vec<Column>, what: &str) -> Result<DataFrame, ReportError> {
    DataFrame::new_infer_height(columns).map_err(|e| ReportError::Render {
        what: what.into(),
        message: e.to_string(),
    })
}

pub fn render_findings(result: &ScanResult, out: &mut dyn Write) -> Result<(), ReportError> {
    let names = [
        "rule",
        "severity",
        "subject_type",
        "subject_id",
        "user_principal_name",
        "mail",
        "message",
        "evidence",
    ];
    let mut cols: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(result.findings.len()); names.len()];
    for f in findings(result) {
        let row = [
            Some(f.rule.to_owned()),
            Some(f.severity.to_owned()),
            Some(f.subject.kind.to_owned()),
            Some(f.subject.id.to_owned()),
            f.subject.user_principal_name.map(str::to_owned),
            f.subject.mail.map(str::to_owned),
            Some(f.message),
            Some(serde_json::Value::Object(f.evidence).to_string()),
        ];
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
    }
    let columns = names.iter().zip(cols).map(|(n, v)| column(n, v)).collect();
    write(frame(columns, "findings.csv")?, out, "findings.csv")
}

pub fn render_verdicts(result: &ScanResult, out: &mut dyn Write) -> Result<(), ReportError> {
    let names = [
        "id",
        "user_principal_name",
        "display_name",
        "mail",
        "verdict",
        "reason",
        "blockers",
        "warnings",
    ];
    let mut cols: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(result.verdicts.len()); names.len()];
    for v in verdicts(result) {
        let row = [
            Some(v.id.to_owned()),
            v.user_principal_name.map(str::to_owned),
            v.display_name.map(str::to_owned),
            v.mail.map(str::to_owned),
            Some(v.verdict.to_owned()),
            v.reason,
            Some(v.blockers.join(";")),
            Some(v.warnings.join(";")),
        ];
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
    }
    let columns = names.iter().zip(cols).map(|(n, v)| column(n, v)).collect();
    write(frame(columns, "verdicts.csv")?, out, "verdicts.csv")
}

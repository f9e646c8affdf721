//! `b2bready query SNAPSHOT SQL`: polars SQL (the dialect of rule conditions) over the tables of
//! a scan: `users` (every account column the reader fills, facts included), `tenant`,
//! `findings` and `verdicts` (columns named as in findings.csv and verdicts.csv). Only the
//! tables the query names are built.

pub mod output;

use polars::prelude::{Column, DataFrame, IntoLazy, NamedFrom, PolarsResult, Series};
use polars::sql::SQLContext;
use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::report::json::{findings, verdicts};
use crate::rules::guard;
use crate::scan::ScanResult;

pub const TABLES: [&str; 4] = ["users", "tenant", "findings", "verdicts"];

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("the query cannot be read: {0}")]
    Syntax(String),
    #[error("the query failed: {0}")]
    Polars(String),
    #[error("the query engine stopped unexpectedly (a bug in polars) on this query")]
    Panicked,
}

/// The tables the query names, by the words it holds outside strings.
fn named_tables(sql: &str) -> Result<Vec<&'static str>, QueryError> {
    let tokens = Tokenizer::new(&GenericDialect, sql)
        .tokenize()
        .map_err(|e| QueryError::Syntax(e.to_string()))?;
    Ok(TABLES
        .into_iter()
        .filter(|t| {
            tokens
                .iter()
                .any(|tok| matches!(tok, Token::Word(w) if w.value.eq_ignore_ascii_case(t)))
        })
        .collect())
}

fn text(name: &str, values: Vec<Option<&str>>) -> Column {
    Series::new(name.into(), values).into()
}

fn flag(name: &str, values: Vec<bool>) -> Column {
    Series::new(name.into(), values).into()
}

/// findings.csv's columns; `fails` and `accepted` as booleans.
fn findings_frame(result: &ScanResult) -> PolarsResult<DataFrame> {
    let rows: Vec<_> = findings(result).collect();
    let evidence: Vec<String> = rows
        .iter()
        .map(|r| serde_json::to_string(&r.evidence).unwrap_or_default())
        .collect();
    DataFrame::new(
        rows.len(),
        vec![
            text("rule", rows.iter().map(|r| Some(r.rule)).collect()),
            text("severity", rows.iter().map(|r| Some(r.severity)).collect()),
            text(
                "subject_type",
                rows.iter().map(|r| Some(r.subject.kind)).collect(),
            ),
            text(
                "subject_id",
                rows.iter().map(|r| Some(r.subject.id)).collect(),
            ),
            text(
                "user_principal_name",
                rows.iter().map(|r| r.subject.user_principal_name).collect(),
            ),
            text("mail", rows.iter().map(|r| r.subject.mail).collect()),
            text(
                "message",
                rows.iter().map(|r| Some(r.message.as_ref())).collect(),
            ),
            text(
                "evidence",
                evidence.iter().map(|e| Some(e.as_str())).collect(),
            ),
            text(
                "fingerprint",
                rows.iter().map(|r| Some(r.fingerprint.as_str())).collect(),
            ),
            flag("fails", rows.iter().map(|r| r.fails).collect()),
            flag("accepted", rows.iter().map(|r| r.accepted).collect()),
            text(
                "exception_reason",
                rows.iter()
                    .map(|r| r.exception.as_ref().map(|e| e.reason))
                    .collect(),
            ),
            text(
                "exception_owner",
                rows.iter()
                    .map(|r| r.exception.as_ref().and_then(|e| e.owner))
                    .collect(),
            ),
            text(
                "exception_expires",
                rows.iter()
                    .map(|r| r.exception.as_ref().and_then(|e| e.expires.as_deref()))
                    .collect(),
            ),
            text("baseline", rows.iter().map(|r| r.baseline).collect()),
        ],
    )
}

/// verdicts.csv's columns: lists joined with `;`.
fn verdicts_frame(result: &ScanResult) -> PolarsResult<DataFrame> {
    let rows: Vec<_> = verdicts(result).collect();
    let blockers: Vec<String> = rows.iter().map(|r| r.blockers.join(";")).collect();
    let warnings: Vec<String> = rows.iter().map(|r| r.warnings.join(";")).collect();
    DataFrame::new(
        rows.len(),
        vec![
            text("id", rows.iter().map(|r| Some(r.id)).collect()),
            text(
                "user_principal_name",
                rows.iter().map(|r| r.user_principal_name).collect(),
            ),
            text(
                "display_name",
                rows.iter().map(|r| r.display_name).collect(),
            ),
            text("mail", rows.iter().map(|r| r.mail).collect()),
            text("verdict", rows.iter().map(|r| Some(r.verdict)).collect()),
            text("reason", rows.iter().map(|r| r.reason.as_deref()).collect()),
            text(
                "blockers",
                blockers.iter().map(|b| Some(b.as_str())).collect(),
            ),
            text(
                "warnings",
                warnings.iter().map(|w| Some(w.as_str())).collect(),
            ),
        ],
    )
}

fn frame(result: &ScanResult, table: &str) -> PolarsResult<DataFrame> {
    match table {
        "users" => result.users.to_dataframe(None),
        "tenant" => result.tenant.to_dataframe(None),
        "findings" => findings_frame(result),
        _ => verdicts_frame(result),
    }
}

/// Runs `sql` over the scan's tables.
pub fn run(result: &ScanResult, sql: &str) -> Result<DataFrame, QueryError> {
    let tables = named_tables(sql)?;
    let polars = |e: polars::prelude::PolarsError| QueryError::Polars(one_line(&e.to_string()));
    let mut ctx = SQLContext::new();
    for t in tables {
        ctx.register(t, frame(result, t).map_err(polars)?.lazy());
    }
    guard::quietly(|| ctx.execute(sql).and_then(|lf| lf.collect()))
        .ok_or(QueryError::Panicked)?
        .map_err(polars)
}

/// Polars' message on one line, without the trailing hints it prints for programmers.
fn one_line(message: &str) -> String {
    let first = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take_while(|l| !l.starts_with("Resolved plan") && !l.starts_with("Error originated"))
        .collect::<Vec<_>>()
        .join(" ");
    crate::rules::condition::cut(&first, 2000)
}

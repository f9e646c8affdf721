//! `b2bready apply --status`: the standing of every planned account, as a table, JSON or CSV
//! on standard output.

use std::io::Write;
use std::path::Path;

use tabled::builder::Builder;
use tabled::settings::Style;

use super::{stdout_error, stdout_output};
use crate::apply::status::{self, StatusRow};
use crate::cli::{ApplyArgs, StatusFormat};
use crate::error::Error;
use crate::graph::Client;
use crate::output::csv::column;
use crate::plan::Plan;
use crate::report::table::printable;

/// Prints the status; exit 0 (a status is a report, not a gate).
pub(super) fn print(
    client: &Client,
    plan: &Plan,
    journal: &Path,
    args: &ApplyArgs,
) -> Result<u8, Error> {
    let mut rows = status::status(client, plan, journal, usize::from(args.parallel))?;
    if let Some(days) = args.pending_days {
        rows.retain(|r| r.days_pending.is_some_and(|d| d >= days));
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        StatusFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &rows).map_err(|e| stdout_error(e.into()))?;
            writeln!(out).map_err(stdout_error)?;
        }
        StatusFormat::Csv => csv(&rows, &mut out)?,
        StatusFormat::Table => table(&rows, &mut out)?,
    }
    Ok(0)
}

fn csv(rows: &[StatusRow], out: &mut dyn Write) -> Result<(), Error> {
    let days: Vec<Option<String>> = rows
        .iter()
        .map(|r| r.days_pending.map(|d| d.to_string()))
        .collect();
    let waves: Vec<String> = rows.iter().map(|r| r.wave.to_string()).collect();
    let columns = vec![
        column("id", rows.iter().map(|r| Some(r.id.as_str()))),
        column(
            "user_principal_name",
            rows.iter().map(|r| r.user_principal_name.as_deref()),
        ),
        column("mail", rows.iter().map(|r| Some(r.mail.as_str()))),
        column("wave", waves.iter().map(|w| Some(w.as_str()))),
        column("state", rows.iter().map(|r| Some(r.state.as_str()))),
        column("sent_at", rows.iter().map(|r| r.sent_at.as_deref())),
        column(
            "state_changed_at",
            rows.iter().map(|r| r.state_changed_at.as_deref()),
        ),
        column("days_pending", days.iter().map(|d| d.as_deref())),
        column("detail", rows.iter().map(|r| r.detail.as_deref())),
    ];
    crate::output::csv::stream_columns(columns, out, "the status").map_err(stdout_output)
}

fn table(rows: &[StatusRow], out: &mut dyn Write) -> Result<(), Error> {
    let mut b = Builder::default();
    b.push_record(["state", "accounts"]);
    for (state, n) in status::counts(rows) {
        if n > 0 {
            b.push_record([state.as_str().to_owned(), n.to_string()]);
        }
    }
    let mut t = b.build();
    t.with(Style::rounded());
    writeln!(out, "{t}").map_err(stdout_error)?;
    let mut b = Builder::default();
    b.push_record(["account", "wave", "state", "days pending", "detail"]);
    for r in rows {
        b.push_record([
            printable(r.user_principal_name.as_deref().unwrap_or(&r.id)),
            r.wave.to_string(),
            r.state.as_str().to_owned(),
            r.days_pending.map(|d| d.to_string()).unwrap_or_default(),
            printable(r.detail.as_deref().unwrap_or("")),
        ]);
    }
    let mut t = b.build();
    t.with(Style::rounded());
    writeln!(out, "{t}").map_err(stdout_error)
}

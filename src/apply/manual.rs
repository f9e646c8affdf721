//! `manual-steps.csv`: the steps after a conversion that Graph cannot take (the on-premises
//! password of a synced account), one row per account and step, for the people who take them.
//! Rewritten whole after every run, from the journal's earlier runs and this one.

use std::collections::BTreeSet;
use std::sync::Mutex;

use super::journal::{Event, Record};
use super::{ApplyError, ApplyOptions};
use crate::output::csv::{Column, column};
use crate::plan::{Plan, PlannedAccount, PostStep};

/// Writes the file when any account has a manual step; returns how many accounts have one.
pub(super) fn write(
    options: &ApplyOptions,
    plan: &Plan,
    earlier: &[Record],
    now: &Mutex<Vec<usize>>,
) -> Result<usize, ApplyError> {
    let mut accounts: BTreeSet<usize> = now
        .lock()
        .map(|n| n.iter().copied().collect())
        .unwrap_or_default();
    let manual_ids: BTreeSet<&str> = earlier
        .iter()
        .filter(|r| r.event == Event::PostStep && r.result.as_deref() == Some("manual"))
        .map(|r| r.account_id.as_str())
        .collect();
    accounts.extend(
        plan.accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| manual_ids.contains(a.id.as_str()))
            .map(|(i, _)| i),
    );
    if accounts.is_empty() {
        return Ok(0);
    }
    let columns = columns(plan, &accounts);
    let path = &options.manual_steps;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "manual-steps.csv".into());
    crate::output::write_file(dir, &name, |out| {
        crate::output::csv::write_columns(columns, out, "manual-steps.csv")
    })
    .map_err(|source| ApplyError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(accounts.len())
}

/// The rows of the file: every step without a Graph request of the given accounts.
fn columns<'a>(plan: &'a Plan, accounts: &BTreeSet<usize>) -> Vec<Column<'a>> {
    let rows: Vec<(&PlannedAccount, &PostStep)> = accounts
        .iter()
        .map(|&i| &plan.accounts[i])
        .flat_map(|a| {
            a.post_steps
                .iter()
                .filter(|s| s.request.is_none())
                .map(move |s| (a, s))
        })
        .collect();
    vec![
        column("id", rows.iter().map(|(a, _)| Some(a.id.as_str()))),
        column(
            "user_principal_name",
            rows.iter().map(|(a, _)| a.user_principal_name.as_deref()),
        ),
        column(
            "display_name",
            rows.iter().map(|(a, _)| a.display_name.as_deref()),
        ),
        column("mail", rows.iter().map(|(a, _)| Some(a.mail.as_str()))),
        column("step", rows.iter().map(|(_, s)| Some(s.step.as_str()))),
        column(
            "what_to_do",
            rows.iter().map(|(_, s)| Some(s.description.as_str())),
        ),
    ]
}

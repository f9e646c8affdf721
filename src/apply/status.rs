//! `apply --status`: where every planned account stands, from the journal and the account's
//! live `externalUserState`: accepted, pending (and for how many days), skipped, failed, not
//! yet sent. Read-only: it sends nothing and leaves the journal as it is.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::journal::{self, Event, Standing};
use super::{ApplyError, live};
use crate::graph::{Client, GraphError};
use crate::plan::Plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// The person redeemed the invitation: the conversion is done.
    Accepted,
    /// The invitation is out and not redeemed yet.
    Pending,
    /// Recorded as sent, but the account still reads as internal.
    SentNotVisible,
    Skipped,
    Failed,
    /// An invitation went out whose outcome the journal does not know: `--resume` reads it.
    Unknown,
    NotSent,
    /// The account no longer exists.
    Deleted,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Accepted => "accepted",
            State::Pending => "pending",
            State::SentNotVisible => "sent-not-visible",
            State::Skipped => "skipped",
            State::Failed => "failed",
            State::Unknown => "unknown",
            State::NotSent => "not-sent",
            State::Deleted => "deleted",
        }
    }

    pub const ALL: [State; 8] = [
        State::Accepted,
        State::Pending,
        State::SentNotVisible,
        State::Skipped,
        State::Failed,
        State::Unknown,
        State::NotSent,
        State::Deleted,
    ];
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusRow {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub mail: String,
    pub wave: u32,
    pub state: State,
    /// When the journal recorded the invitation as sent.
    pub sent_at: Option<String>,
    /// The live externalUserStateChangeDateTime.
    pub state_changed_at: Option<String>,
    /// Whole days an invitation has been pending.
    pub days_pending: Option<i64>,
    /// The reason of a skip or failure, or what else is worth knowing.
    pub detail: Option<String>,
}

/// Every planned account's standing, in plan order, reading `parallel` accounts at once.
pub fn status(
    client: &Client,
    plan: &Plan,
    journal_path: &std::path::Path,
    parallel: usize,
) -> Result<Vec<StatusRow>, ApplyError> {
    let digest = plan.plan_digest.clone().unwrap_or_else(|| plan.digest());
    let records = journal::read(journal_path)?;
    let standings = journal::standings(journal_path, &records, &digest)?;
    let next = AtomicUsize::new(0);
    let rows = Mutex::new(Vec::with_capacity(plan.accounts.len()));
    let error: Mutex<Option<GraphError>> = Mutex::new(None);
    let now = jiff::Timestamp::now();
    std::thread::scope(|s| {
        for _ in 0..parallel.clamp(1, 64) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(a) = plan.accounts.get(i) else { break };
                    if error.lock().map(|e| e.is_some()).unwrap_or(true) {
                        break;
                    }
                    match live::read_state(client, &a.id) {
                        Ok(v) => {
                            let standing = standings.get(&a.id).cloned().unwrap_or_default();
                            let row = row(a, &standing, v.as_ref(), now);
                            if let Ok(mut r) = rows.lock() {
                                r.push((i, row));
                            }
                        }
                        Err(e) => {
                            if let Ok(mut slot) = error.lock() {
                                slot.get_or_insert(e);
                            }
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = error.into_inner().ok().flatten() {
        return Err(e.into());
    }
    let mut rows = rows.into_inner().unwrap_or_default();
    rows.sort_by_key(|(i, _)| *i);
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

fn row(
    a: &crate::plan::PlannedAccount,
    standing: &Standing,
    live: Option<&serde_json::Value>,
    now: jiff::Timestamp,
) -> StatusRow {
    let external = live.and_then(|v| v["externalUserState"].as_str());
    let changed = live
        .and_then(|v| v["externalUserStateChangeDateTime"].as_str())
        .map(str::to_owned);
    let (state, detail) = match (live, external, standing.last) {
        (None, _, _) => (State::Deleted, None),
        (Some(_), Some("Accepted"), _) => (State::Accepted, None),
        (Some(_), Some("PendingAcceptance"), last) => (
            State::Pending,
            (last != Some(Event::Sent)).then(|| "invited outside this plan's runs".to_owned()),
        ),
        (Some(_), _, Some(Event::Sent)) => (
            State::SentNotVisible,
            Some("recorded as sent, but the account reads as internal".to_owned()),
        ),
        (Some(_), _, Some(Event::Skipped)) => (State::Skipped, standing.reason.clone()),
        (Some(_), _, Some(Event::Failed)) => (State::Failed, standing.reason.clone()),
        (Some(_), _, Some(Event::Intent)) => (
            State::Unknown,
            Some("an invitation went out without a known outcome: run apply --resume".into()),
        ),
        (Some(_), _, _) => (State::NotSent, None),
    };
    let days_pending = (state == State::Pending)
        .then(|| changed.as_deref().or(standing.sent_at.as_deref()))
        .flatten()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| (now.as_second() - t.as_second()).max(0) / 86_400);
    StatusRow {
        id: a.id.clone(),
        user_principal_name: a.user_principal_name.clone(),
        mail: a.mail.clone(),
        wave: a.wave,
        state,
        sent_at: standing.sent_at.clone(),
        state_changed_at: changed,
        days_pending,
        detail,
    }
}

/// How many rows are in each state, in the order of `State::ALL`.
pub fn counts(rows: &[StatusRow]) -> Vec<(State, usize)> {
    let mut by: HashMap<State, usize> = HashMap::new();
    for r in rows {
        *by.entry(r.state).or_default() += 1;
    }
    State::ALL
        .iter()
        .map(|s| (*s, by.get(s).copied().unwrap_or(0)))
        .collect()
}

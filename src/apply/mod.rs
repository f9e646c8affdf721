//! Applying a reviewed plan to the live tenant: each planned account is read back from Graph
//! and judged again by the plan's rule set right before its invitation, the invitation is
//! sent at most once in effect, and every step is journaled before it is taken, so a run
//! killed at any moment is finished by `--resume` without inviting anyone twice.

mod account;
pub mod explain;
pub mod journal;
pub mod live;
mod manual;
mod post;
pub mod status;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::graph::{Client, GraphError};
use crate::plan::{Plan, PlannedAccount};
use crate::scan::ScanError;
use crate::scan::recheck::Checker;

pub use journal::{Journal, JournalError};

/// How a run goes.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub journal: PathBuf,
    /// Where the steps Graph cannot take are written (`manual-steps.csv`).
    pub manual_steps: PathBuf,
    /// Continue the run the journal records.
    pub resume: bool,
    /// Re-check every account live and report; send nothing, journal nothing.
    pub dry_run: bool,
    pub waves: Option<Vec<u32>>,
    /// At most this many accounts are acted on (sent, skipped or failed) in this run.
    pub limit: Option<usize>,
    /// Accounts in flight at once.
    pub parallel: usize,
    /// How long to wait before reading an account back after an invitation whose outcome is
    /// unknown: the directory takes a moment to show a change everywhere.
    pub read_back_delay: Duration,
    /// Invitations sent again at most this often after read-backs showed the account still
    /// internal.
    pub max_unknown: u32,
}

/// What became of one planned account in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The invitation took effect: Graph said so, or (`read_back`) the account read back
    /// showed it after an answer was lost.
    Sent { read_back: bool },
    /// An earlier run sent it.
    AlreadySent,
    /// `--dry-run`: the account is still ready and would be sent.
    WouldSend,
    Skipped {
        reason: String,
        blockers: Vec<String>,
    },
    Failed {
        reason: String,
        status: Option<u16>,
        code: Option<String>,
    },
    /// Graph created a new guest object instead of converting the account.
    NewGuest { guest_id: String },
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Sent { .. } => "sent",
            Outcome::AlreadySent => "already sent",
            Outcome::WouldSend => "would send",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Failed { .. } => "failed",
            Outcome::NewGuest { .. } => "new guest created",
        }
    }

    /// Sent in this run or an earlier one (or would be, in a dry run).
    pub fn fine(&self) -> bool {
        matches!(
            self,
            Outcome::Sent { .. } | Outcome::AlreadySent | Outcome::WouldSend
        )
    }
}

/// One planned account's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountResult {
    /// Its index in the plan.
    pub index: usize,
    pub outcome: Outcome,
    /// Post-steps that failed, with why.
    pub step_failures: Vec<String>,
}

/// A finished (or stopped) run.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// In plan order.
    pub results: Vec<AccountResult>,
    /// Why the run stopped before its end.
    pub stopped: Option<String>,
    /// Accounts with steps left to a person, written to `manual-steps.csv`.
    pub manual_steps: usize,
}

impl ApplyReport {
    /// Every account acted on ended sent (or already sent), with its post-steps done.
    pub fn all_fine(&self) -> bool {
        self.stopped.is_none()
            && self
                .results
                .iter()
                .all(|r| r.outcome.fine() && r.step_failures.is_empty())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error("the plan is for tenant {plan}, but {what} is tenant {other}")]
    OtherTenant {
        plan: String,
        what: &'static str,
        other: String,
    },
    #[error("{0}")]
    Refused(String),
    #[error("{} already records {records} events of a run of this plan", path.display())]
    Started { path: PathBuf, records: usize },
    #[error("Graph refused {what}: {message}")]
    Permission {
        what: &'static str,
        permission: &'static str,
        message: String,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: crate::output::OutputError,
    },
}

impl ApplyError {
    pub fn help(&self) -> Option<String> {
        match self {
            ApplyError::Started { .. } => Some(
                "continue it with --resume (accounts already sent are not sent again), or give a new journal with --journal FILE".into(),
            ),
            ApplyError::Permission { permission, .. } => Some(format!(
                "grant the identity {permission} (admin consent), then run apply --resume"
            )),
            ApplyError::Journal(JournalError::Locked { .. }) => Some(
                "wait for the other run to finish; two runs of one plan at once could invite twice".into(),
            ),
            ApplyError::OtherTenant { .. } => Some(
                "sign in to the plan's tenant (--tenant), or make a plan from a snapshot of this tenant".into(),
            ),
            _ => None,
        }
    }
}

/// What every account's procedure shares.
struct Context<'a> {
    client: &'a Client,
    checker: &'a Checker,
    plan: &'a Plan,
    digest: String,
    options: &'a ApplyOptions,
    journal: Option<Mutex<Journal>>,
    stop: AtomicBool,
    fatal: Mutex<Option<ApplyError>>,
    manual: Mutex<Vec<usize>>,
}

/// Checks that the plan, its snapshot's rules and the signed-in tenant belong together.
pub fn preflight(client: &Client, plan: &Plan, checker: &Checker) -> Result<(), ApplyError> {
    if let Some(snapshot) = checker.tenant_id()
        && snapshot != plan.tenant_id
    {
        return Err(ApplyError::OtherTenant {
            plan: plan.tenant_id.clone(),
            what: "the snapshot",
            other: snapshot.into(),
        });
    }
    if let Some(recorded) = &plan.options.rule_set_sha256
        && *recorded != checker.rule_set_sha256()
    {
        return Err(ApplyError::Refused(
            "the rule set differs from the one the plan was made with: pass the same --config, --rules and --mau-billing as to `plan`".into(),
        ));
    }
    let signed_in = live::tenant_of(client)?;
    if !signed_in.eq_ignore_ascii_case(&plan.tenant_id) {
        return Err(ApplyError::OtherTenant {
            plan: plan.tenant_id.clone(),
            what: "the signed-in identity's tenant",
            other: signed_in,
        });
    }
    Ok(())
}

/// Applies the plan (after `preflight`). `progress` hears of every account as it finishes.
pub fn run(
    client: &Client,
    plan: &Plan,
    checker: &Checker,
    options: &ApplyOptions,
    progress: &(dyn Fn(&AccountResult) + Sync),
) -> Result<ApplyReport, ApplyError> {
    let digest = plan.plan_digest.clone().unwrap_or_else(|| plan.digest());
    let (journal, records) = if options.dry_run {
        (None, journal::read(&options.journal)?)
    } else {
        let (journal, records) = Journal::open(&options.journal)?;
        if !records.is_empty() && !options.resume {
            return Err(ApplyError::Started {
                path: options.journal.clone(),
                records: records.len(),
            });
        }
        (Some(Mutex::new(journal)), records)
    };
    let standings = journal::standings(&options.journal, &records, &digest)?;
    let ctx = Context {
        client,
        checker,
        plan,
        digest,
        options,
        journal,
        stop: AtomicBool::new(false),
        fatal: Mutex::new(None),
        manual: Mutex::new(Vec::new()),
    };
    let mut report = ApplyReport::default();
    for wave in waves(plan, options, &standings) {
        let results = run_wave(&ctx, &wave, &standings, progress);
        report.results.extend(results);
        if ctx.stop.load(Ordering::SeqCst) {
            break;
        }
    }
    if let Some(e) = ctx.fatal.lock().ok().and_then(|mut f| f.take()) {
        return Err(e);
    }
    report.results.sort_by_key(|r| r.index);
    if let Some(new) = report.results.iter().find_map(|r| match &r.outcome {
        Outcome::NewGuest { guest_id } => Some(guest_id.clone()),
        _ => None,
    }) {
        report.stopped = Some(format!(
            "Graph created a new guest object ({new}) instead of converting the planned account; the run stopped. Look at the new object before going on"
        ));
    }
    if !options.dry_run {
        report.manual_steps = manual::write(options, plan, &records, &ctx.manual)?;
    }
    Ok(report)
}

/// The planned accounts this run takes up, wave by wave (plan indices): the waves asked for,
/// and at most `limit` accounts not sent yet (accounts sent earlier are reported too).
fn waves(
    plan: &Plan,
    options: &ApplyOptions,
    standings: &HashMap<String, journal::Standing>,
) -> Vec<Vec<usize>> {
    let mut left = options.limit.unwrap_or(usize::MAX);
    let mut waves: Vec<(u32, Vec<usize>)> = Vec::new();
    for (i, a) in plan.accounts.iter().enumerate() {
        if options.waves.as_ref().is_some_and(|w| !w.contains(&a.wave)) {
            continue;
        }
        if !standings.get(&a.id).is_some_and(|s| s.sent()) {
            if left == 0 {
                continue;
            }
            left -= 1;
        }
        match waves.last_mut() {
            Some((wave, members)) if *wave == a.wave => members.push(i),
            _ => waves.push((a.wave, vec![i])),
        }
    }
    waves.into_iter().map(|(_, members)| members).collect()
}

/// One wave, `parallel` accounts in flight; stops taking new accounts once told to stop.
fn run_wave(
    ctx: &Context,
    wave: &[usize],
    standings: &HashMap<String, journal::Standing>,
    progress: &(dyn Fn(&AccountResult) + Sync),
) -> Vec<AccountResult> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(wave.len()));
    let workers = ctx.options.parallel.clamp(1, 64).min(wave.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while !ctx.stop.load(Ordering::SeqCst) {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&index) = wave.get(n) else { break };
                    let account: &PlannedAccount = &ctx.plan.accounts[index];
                    let standing = standings.get(&account.id).cloned().unwrap_or_default();
                    match account::process(ctx, index, account, &standing) {
                        Ok(result) => {
                            if matches!(result.outcome, Outcome::NewGuest { .. }) {
                                ctx.stop.store(true, Ordering::SeqCst);
                            }
                            progress(&result);
                            if let Ok(mut r) = results.lock() {
                                r.push(result);
                            }
                        }
                        Err(e) => {
                            ctx.stop.store(true, Ordering::SeqCst);
                            if let Ok(mut f) = ctx.fatal.lock() {
                                f.get_or_insert(e);
                            }
                        }
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_default()
}

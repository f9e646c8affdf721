//! `b2bready apply`: carry out a reviewed plan, or report where its accounts stand.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use tabled::builder::Builder;
use tabled::settings::Style;

use super::stdout_error;
use crate::apply::{self, AccountResult, ApplyOptions, ApplyReport, Outcome};
use crate::cli::ApplyArgs;
use crate::error::Error;
use crate::pipeline::{self, Settings};
use crate::plan::{self, Plan, Seal, SigningKey};
use crate::report::table::printable;

pub fn run(args: ApplyArgs) -> Result<u8, Error> {
    let key = match &args.sign_key_file {
        Some(path) => Some(SigningKey::load(path)?),
        None => None,
    };
    let (plan, seal) = plan::load(&args.plan, key.as_ref())?;
    if seal == Seal::SignedUnchecked {
        eprintln!(
            "warning: the plan is signed, but its signature was not checked: pass --sign-key-file"
        );
    }
    let journal = args
        .journal
        .clone()
        .unwrap_or_else(|| args.plan.join("journal.jsonl"));
    let sending = !args.status && !args.dry_run;
    if sending && !args.yes && !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "apply sends invitations that cannot be undone: pass --yes to send without a terminal to confirm on, or --dry-run to only re-check".into(),
        ));
    }
    same_cloud(&plan, &args.sign_in)?;
    let (client, _) = crate::graph::signin::connect(&args.sign_in)?;
    if args.status {
        return super::apply_status::print(&client, &plan, &journal, &args);
    }
    let checker = checker(&args, &plan)?;
    apply::preflight(&client, &plan, &checker)?;
    let options = ApplyOptions {
        manual_steps: args.plan.join("manual-steps.csv"),
        journal,
        resume: args.resume,
        dry_run: args.dry_run,
        waves: (!args.wave.is_empty()).then(|| args.wave.clone()),
        limit: args.limit,
        parallel: usize::from(args.parallel),
        read_back_delay: Duration::from_millis(args.read_back_delay_ms),
        max_unknown: 3,
    };
    if sending && !args.yes {
        confirm(&plan, &options)?;
    }
    let progress = Progress::start(!args.quiet, &plan, &options);
    let report = apply::run(&client, &plan, &checker, &options, &|r| {
        progress.done(&plan, r)
    });
    progress.finish();
    let report = report?;
    if !args.quiet {
        print_report(&plan, &report, &options, &client)?;
    }
    Ok(if report.all_fine() { 0 } else { 1 })
}

/// The plan's rule set and snapshot, ready to judge accounts again, once the snapshot is
/// known to be the plan's own.
/// A plan acts on the cloud its snapshot came from: signing in to another one would only fail
/// later, with Entra's "tenant not found". Service roots given by hand are taken as they are.
fn same_cloud(plan: &Plan, sign_in: &crate::graph::signin::SignInFlags) -> Result<(), Error> {
    let overridden = sign_in.graph_url.is_some() || sign_in.login_url.is_some();
    match plan.snapshot.cloud.as_deref() {
        Some(cloud) if !overridden && cloud != sign_in.cloud.as_str() => {
            Err(Error::Usage(format!(
                "the plan was made from a snapshot of the {cloud} cloud, and this run signs in to {}: pass --cloud {cloud}",
                sign_in.cloud.as_str()
            )))
        }
        _ => Ok(()),
    }
}

fn checker(args: &ApplyArgs, plan: &Plan) -> Result<crate::scan::recheck::Checker, Error> {
    let snapshot = args.snapshot.as_deref().ok_or_else(|| {
        Error::Usage("apply needs --snapshot DIR, the snapshot the plan was made from".into())
    })?;
    if plan::manifest_sha256(snapshot)? != plan.snapshot.manifest_sha256 {
        return Err(Error::Usage(format!(
            "{} is not the snapshot the plan was made from (its manifest digest differs): give the plan's snapshot with --snapshot",
            snapshot.display()
        )));
    }
    let settings = Settings::resolve(&args.inputs, None)?;
    pipeline::checker(snapshot, &settings)
}

/// Shows what the run would do and waits for the tenant id to be typed.
fn confirm(plan: &Plan, options: &ApplyOptions) -> Result<(), Error> {
    let mut err = std::io::stderr().lock();
    let chosen: Vec<_> = plan
        .accounts
        .iter()
        .filter(|a| options.waves.as_ref().is_none_or(|w| w.contains(&a.wave)))
        .collect();
    let waves: std::collections::BTreeSet<u32> = chosen.iter().map(|a| a.wave).collect();
    let mut steps: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in chosen.iter().flat_map(|a| &a.post_steps) {
        *steps.entry(s.step.as_str()).or_default() += 1;
    }
    let _ = writeln!(
        err,
        "apply will invite {} account(s){} of tenant {} in {} wave(s), converting them to B2B collaboration. This cannot be undone: a converted account keeps its B2B credentials until it is deleted.",
        chosen.len(),
        options
            .limit
            .map(|l| format!(" (at most {l} in this run)"))
            .unwrap_or_default(),
        plan.tenant_id,
        waves.len()
    );
    for (step, n) in steps {
        let _ = writeln!(err, "  post-step {step}: {n} account(s)");
    }
    let _ = write!(err, "type the tenant id to go on: ");
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|source| Error::Io {
            what: "cannot read the confirmation".into(),
            source,
        })?;
    if !line.trim().eq_ignore_ascii_case(&plan.tenant_id) {
        return Err(Error::Usage(
            "the tenant id typed does not match the plan's: nothing was sent".into(),
        ));
    }
    Ok(())
}

/// Progress on standard error: a bar with the counts on a terminal, a line per account
/// otherwise, nothing with `--quiet`.
enum Progress {
    Quiet,
    Lines,
    Bar(indicatif::ProgressBar, Mutex<[u64; 3]>),
}

impl Progress {
    fn start(enabled: bool, plan: &Plan, options: &ApplyOptions) -> Self {
        if !enabled {
            return Progress::Quiet;
        }
        if !std::io::stderr().is_terminal() {
            return Progress::Lines;
        }
        let total = plan
            .accounts
            .iter()
            .filter(|a| options.waves.as_ref().is_none_or(|w| w.contains(&a.wave)))
            .count();
        let total = options.limit.map_or(total, |l| l.min(total)) as u64;
        let bar = indicatif::ProgressBar::new(total);
        let style = indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} accounts  {msg}  {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress::Bar(bar, Mutex::new([0; 3]))
    }

    fn done(&self, plan: &Plan, r: &AccountResult) {
        let account = &plan.accounts[r.index];
        match self {
            Progress::Quiet => {}
            Progress::Lines => {
                let who = account
                    .user_principal_name
                    .as_deref()
                    .unwrap_or(&account.id);
                let why = reason(&r.outcome)
                    .map(|w| format!(": {w}"))
                    .unwrap_or_default();
                eprintln!(
                    "{} {}{}",
                    r.outcome.label(),
                    printable(who),
                    printable(&why)
                );
            }
            Progress::Bar(bar, counts) => {
                if let Ok(mut c) = counts.lock() {
                    let slot = match r.outcome {
                        Outcome::Sent { .. } | Outcome::AlreadySent | Outcome::WouldSend => 0,
                        Outcome::Skipped { .. } => 1,
                        _ => 2,
                    };
                    c[slot] += 1;
                    bar.set_message(format!("sent {}  skipped {}  failed {}", c[0], c[1], c[2]));
                }
                bar.inc(1);
            }
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar, _) = self {
            bar.finish_and_clear();
        }
    }
}

fn reason(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Skipped { reason, .. } | Outcome::Failed { reason, .. } => Some(reason.clone()),
        Outcome::NewGuest { guest_id } => {
            Some(format!("Graph created the new guest object {guest_id}"))
        }
        Outcome::Sent { read_back: true } => Some("confirmed by reading the account back".into()),
        _ => None,
    }
}

/// The closing table: counts per outcome, then every account that did not end sent.
fn print_report(
    plan: &Plan,
    report: &ApplyReport,
    options: &ApplyOptions,
    client: &crate::graph::Client,
) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", counts_table(report)).map_err(stdout_error)?;
    if let Some(t) = problems_table(plan, report) {
        writeln!(out, "{t}").map_err(stdout_error)?;
    }
    if let Some(stopped) = &report.stopped {
        writeln!(out, "stopped: {stopped}").map_err(stdout_error)?;
    }
    if report.manual_steps > 0 {
        writeln!(
            out,
            "{} account(s) have steps Graph cannot take: see {}",
            report.manual_steps,
            options.manual_steps.display()
        )
        .map_err(stdout_error)?;
    }
    let s = &client.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "{} requests, {} retries ({} throttled); journal {}",
        load(&s.requests),
        load(&s.retries),
        load(&s.throttled),
        if options.dry_run {
            "not written (dry run)".to_owned()
        } else {
            options.journal.display().to_string()
        }
    );
    Ok(())
}

/// How many accounts ended each way.
fn counts_table(report: &ApplyReport) -> tabled::Table {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in &report.results {
        match counts.iter_mut().find(|(l, _)| *l == r.outcome.label()) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.outcome.label(), 1)),
        }
    }
    let mut b = Builder::default();
    b.push_record(["outcome", "accounts"]);
    for (label, n) in &counts {
        b.push_record([label.to_string(), n.to_string()]);
    }
    let mut t = b.build();
    t.with(Style::rounded());
    t
}

/// Every account that did not end sent, or whose post-steps failed, and why.
fn problems_table(plan: &Plan, report: &ApplyReport) -> Option<tabled::Table> {
    let problems: Vec<&AccountResult> = report
        .results
        .iter()
        .filter(|r| !r.outcome.fine() || !r.step_failures.is_empty())
        .collect();
    if problems.is_empty() {
        return None;
    }
    let mut b = Builder::default();
    b.push_record(["account", "outcome", "why"]);
    for r in problems {
        let a = &plan.accounts[r.index];
        let mut why = reason(&r.outcome).unwrap_or_default();
        for f in &r.step_failures {
            why.push_str(&format!("; post-step failed: {f}"));
        }
        b.push_record([
            printable(a.user_principal_name.as_deref().unwrap_or(&a.id)),
            r.outcome.label().to_owned(),
            printable(&why),
        ]);
    }
    let mut t = b.build();
    t.with(Style::rounded());
    Some(t)
}

//! `report.html`: one self-contained page rendered with minijinja from
//! `reports/report.html.j2`, with every value HTML-escaped. For very large tenants it lists
//! the first `USERS_CAP` accounts (blocked first) and points at the CSV for the rest.

use std::io::Write;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use super::generated_at;
use super::json::{VerdictDto, finding, findings, rules, verdict};
use super::review;
use crate::model::{Severity, Verdict};
use crate::output::OutputError;
use crate::rules::Docs;
use crate::scan::ScanResult;

const TEMPLATE: &str = include_str!("../../reports/report.html.j2");
/// Accounts listed in the page; the rest are in `verdicts.csv`.
pub const USERS_CAP: usize = 5_000;

#[derive(Serialize)]
struct Context<'a> {
    tool_version: &'static str,
    generated_at: String,
    snapshot: SnapshotCtx<'a>,
    tenant: TenantCtx<'a>,
    options: OptionsCtx,
    summary: SummaryCtx,
    review: review::ReviewDto<'a>,
    accepted: Vec<AcceptedCtx<'a>>,
    resolved: Vec<review::ResolvedDto<'a>>,
    chart: Vec<ChartBar<'a>>,
    tenant_findings: Vec<TenantFinding<'a>>,
    rules: Vec<RuleCtx<'a>>,
    not_evaluated: Vec<NotEvaluated<'a>>,
    users: Vec<VerdictDto<'a>>,
    users_listed: usize,
    users_shown: usize,
    users_cap: usize,
    truncated: bool,
}

#[derive(Serialize)]
struct SnapshotCtx<'a> {
    path: String,
    exported_at: Option<&'a str>,
    complete: bool,
}

#[derive(Serialize)]
struct TenantCtx<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct OptionsCtx {
    scope: &'static str,
    mau_billing: bool,
    fail_on: &'static str,
}

/// An accepted finding, listed with the exception that accepts it.
#[derive(Serialize)]
struct AcceptedCtx<'a> {
    rule: &'a str,
    subject: &'a str,
    message: String,
    reason: &'a str,
    owner: Option<&'a str>,
    expires: Option<String>,
}

#[derive(Serialize)]
struct SummaryCtx {
    users_total: usize,
    in_scope: usize,
    ready: usize,
    blocked: usize,
    pending: usize,
    excluded: usize,
    out_of_scope: usize,
    findings_blocker: usize,
    findings_warning: usize,
    findings_info: usize,
    ready_pct: String,
}

#[derive(Serialize)]
struct ChartBar<'a> {
    id: &'a str,
    title: &'a str,
    count: usize,
    pct: String,
}

#[derive(Serialize)]
struct TenantFinding<'a> {
    rule: &'a str,
    title: &'a str,
    severity: &'static str,
    message: String,
    accepted: bool,
    fails: bool,
}

#[derive(Serialize)]
struct RuleCtx<'a> {
    id: &'a str,
    title: &'a str,
    severity: &'static str,
    target: &'static str,
    status: &'static str,
    reason: Option<&'a str>,
    count: usize,
    docs: &'a Docs,
}

#[derive(Serialize)]
struct NotEvaluated<'a> {
    id: &'a str,
    reason: &'a str,
}

fn render_error(e: minijinja::Error) -> OutputError {
    OutputError::Render {
        what: "report.html".into(),
        message: e.to_string(),
    }
}

pub fn render(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    let s = &result.summary;
    let ready_pct = if s.in_scope == 0 {
        "0".to_owned()
    } else {
        format!("{:.1}", s.ready as f64 * 100.0 / s.in_scope as f64)
    };
    let chart = chart(result);
    let tenant_findings = tenant_findings(result);
    let rule_ctx: Vec<RuleCtx> = rules(result)
        .zip(&result.registry.rules)
        .map(|(d, r)| RuleCtx {
            id: d.id,
            title: d.title,
            severity: d.severity,
            target: d.target,
            status: d.status,
            reason: d.reason,
            count: d.count,
            docs: &r.docs,
        })
        .collect();
    let not_evaluated = rule_ctx
        .iter()
        .filter_map(|r| r.reason.map(|reason| NotEvaluated { id: r.id, reason }))
        .collect();
    let users = shown_users(result);
    let ctx = Context {
        tool_version: env!("CARGO_PKG_VERSION"),
        generated_at: generated_at(),
        snapshot: SnapshotCtx {
            path: result.snapshot.display().to_string(),
            exported_at: result.manifest.exported_at.as_deref(),
            complete: result.manifest.complete,
        },
        tenant: TenantCtx {
            id: result.tenant_id(),
            name: result.tenant_name(),
        },
        options: OptionsCtx {
            scope: result.options.scope.label(),
            mau_billing: result.options.mau_billing,
            fail_on: result.fail_on_label(),
        },
        review: review::review(result),
        accepted: accepted(result),
        resolved: result
            .review
            .baseline
            .as_ref()
            .map_or(&[][..], |b| &b.resolved[..])
            .iter()
            .take(USERS_CAP)
            .map(review::resolved_dto)
            .collect(),
        summary: SummaryCtx {
            users_total: s.users_total,
            in_scope: s.in_scope,
            ready: s.ready,
            blocked: s.blocked,
            pending: s.pending,
            excluded: s.excluded,
            out_of_scope: s.out_of_scope,
            findings_blocker: s.findings_blocker,
            findings_warning: s.findings_warning,
            findings_info: s.findings_info,
            ready_pct,
        },
        chart,
        tenant_findings,
        rules: rule_ctx,
        not_evaluated,
        users_listed: result.verdicts.len(),
        users_shown: users.len(),
        users_cap: USERS_CAP,
        truncated: users.len() < result.verdicts.len(),
        users,
    };
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("report.html", TEMPLATE)
        .map_err(render_error)?;
    let template = env.get_template("report.html").map_err(render_error)?;
    template
        .render_captured_to(ctx, out)
        .map_err(render_error)?;
    Ok(())
}

/// Blockers per rule, as bars scaled to the largest.
fn chart(result: &ScanResult) -> Vec<ChartBar<'_>> {
    let mut bars: Vec<(&str, &str, usize)> = result
        .registry
        .rules
        .iter()
        .zip(&result.outcomes)
        .filter(|(_, o)| o.severity == Severity::Blocker && o.count > 0)
        .map(|(r, o)| (r.id.as_str(), r.title.as_str(), o.count))
        .collect();
    bars.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    let max = bars.first().map_or(1, |b| b.2.max(1));
    bars.into_iter()
        .map(|(id, title, count)| ChartBar {
            id,
            title,
            count,
            pct: format!("{:.1}", count as f64 * 100.0 / max as f64),
        })
        .collect()
}

/// Tenant-level findings, reported once.
fn tenant_findings(result: &ScanResult) -> Vec<TenantFinding<'_>> {
    findings(result)
        .filter(|f| f.subject.kind == "tenant")
        .map(|f| TenantFinding {
            rule: f.rule,
            title: result.registry.get(f.rule).map_or("", |r| r.title.as_str()),
            severity: f.severity,
            message: f.message,
            accepted: f.accepted,
            fails: f.fails,
        })
        .collect()
}

/// The accounts listed: blocked first, then ready, pending, excluded; within each, by id (the
/// verdict order); at most `USERS_CAP`.
fn shown_users(result: &ScanResult) -> Vec<VerdictDto<'_>> {
    let mut order: Vec<usize> = (0..result.verdicts.len()).collect();
    let rank = |v: Verdict| match v {
        Verdict::Blocked => 0,
        Verdict::Ready => 1,
        Verdict::Pending => 2,
        Verdict::Excluded => 3,
    };
    order.sort_by_key(|&i| rank(result.verdicts[i].verdict));
    order.truncate(USERS_CAP);
    order
        .iter()
        .map(|&i| verdict(result, &result.verdicts[i]))
        .collect()
}

/// Findings a valid exception accepts, at most `USERS_CAP`.
fn accepted(result: &ScanResult) -> Vec<AcceptedCtx<'_>> {
    result
        .findings
        .iter()
        .filter(|f| result.exception(f).is_some_and(|e| !e.expired))
        .take(USERS_CAP)
        .filter_map(|f| {
            let d = finding(result, f);
            let e = d.exception?;
            Some(AcceptedCtx {
                rule: d.rule,
                subject: d.subject.user_principal_name.unwrap_or(d.subject.id),
                message: d.message,
                reason: e.reason,
                owner: e.owner,
                expires: e.expires,
            })
        })
        .collect()
}

//! `report.html`: one self-contained page. The parts that do not change with the accounts
//! (tenant, totals, charts, review, rule documentation) are rendered with minijinja from
//! `reports/report.html.j2`, every value HTML-escaped; the accounts and their findings are
//! embedded as JSON (`data.rs`) and rendered by `reports/report.js` in the browser: filters,
//! search, sorting, drill-down, CSV export. The page allows only its own style and script, by
//! hash, and loads nothing.

mod data;

use std::io::Write;
use std::sync::LazyLock;

use base64::Engine as _;
use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::generated_at;
use super::json::finding;
use super::review;
use crate::model::Verdict;
use crate::output::OutputError;
use crate::scan::{ScanResult, VerdictRow};

const TEMPLATE: &str = include_str!("../../../reports/report.html.j2");

/// The page's style and script, with any carriage return removed: a browser hashes the text
/// it parsed, where line ends are plain newlines, whatever a checkout made of the files.
static STYLE: LazyLock<String> =
    LazyLock::new(|| include_str!("../../../reports/report.css").replace('\r', ""));
static SCRIPT: LazyLock<String> =
    LazyLock::new(|| include_str!("../../../reports/report.js").replace('\r', ""));

/// Where the template leaves room for the data; escaped tenant text can never contain `<`.
const DATA_SLOT: &str = "<!--b2bready:data-->";

/// Accounts the page holds by default (`scan --html-max-accounts`); the rest are named by
/// count and are in `verdicts.csv` and `findings.json`.
pub const DEFAULT_MAX_ACCOUNTS: usize = 100_000;

/// Resolved findings listed by name; findings.json lists all of them.
const RESOLVED_CAP: usize = 5_000;

#[derive(Serialize)]
struct Context<'a> {
    tool_version: &'static str,
    generated_at: String,
    csp: String,
    style: Value,
    script: Value,
    snapshot: SnapshotCtx<'a>,
    tenant: TenantCtx<'a>,
    options: OptionsCtx,
    summary: SummaryCtx,
    review: review::ReviewDto<'a>,
    resolved: Vec<review::ResolvedDto<'a>>,
    resolved_total: usize,
    verdict_chart: Vec<VerdictBar>,
    rule_chart: Vec<RuleBar<'a>>,
    tenant_findings: Vec<TenantFinding<'a>>,
    rules: Vec<data::RuleData<'a>>,
    not_evaluated: Vec<NotEvaluated<'a>>,
    listed: usize,
    shown: usize,
    left_out: Option<LeftOut>,
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

/// A bar of the verdict chart; `listed` when its accounts are in the table.
#[derive(Serialize)]
struct VerdictBar {
    key: &'static str,
    label: &'static str,
    count: usize,
    max: usize,
    pct: String,
    listed: bool,
}

#[derive(Serialize)]
struct RuleBar<'a> {
    id: &'a str,
    title: &'a str,
    severity: &'static str,
    count: usize,
    max: usize,
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
struct NotEvaluated<'a> {
    id: &'a str,
    reason: &'a str,
}

/// The accounts the page leaves out above its limit, by verdict.
#[derive(Serialize)]
struct LeftOut {
    total: usize,
    limit: usize,
    blocked: usize,
    ready: usize,
    pending: usize,
    excluded: usize,
}

fn render_error(e: minijinja::Error) -> OutputError {
    OutputError::Render {
        what: "report.html".into(),
        message: e.to_string(),
    }
}

fn sha256_source(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Nothing but the page's own style and script, both by hash; no network, no forms, no frames.
fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:; base-uri 'none'; \
         form-action 'none'; frame-src 'none'",
        sha256_source(&STYLE),
        sha256_source(&SCRIPT)
    )
}

fn pct(part: usize, whole: usize) -> String {
    if whole == 0 {
        "0".to_owned()
    } else {
        format!("{:.1}", part as f64 * 100.0 / whole as f64)
    }
}

/// Writes the page, holding at most `max_accounts` accounts (blocked first).
pub fn render(
    result: &ScanResult,
    max_accounts: usize,
    out: &mut dyn Write,
) -> Result<(), OutputError> {
    let shown = shown(result, max_accounts);
    let ctx = context(result, &shown, max_accounts);
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("report.html", TEMPLATE)
        .map_err(render_error)?;
    let page = env
        .get_template("report.html")
        .and_then(|t| t.render(ctx))
        .map_err(render_error)?;
    let (before, after) = page
        .split_once(DATA_SLOT)
        .ok_or_else(|| OutputError::Render {
            what: "report.html".into(),
            message: "the template has no place for the data".into(),
        })?;
    out.write_all(before.as_bytes())?;
    data::write(result, &shown, out)?;
    out.write_all(after.as_bytes())?;
    Ok(())
}

fn summary(result: &ScanResult) -> SummaryCtx {
    let s = &result.summary;
    SummaryCtx {
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
        ready_pct: pct(s.ready, s.in_scope),
    }
}

fn context<'a>(result: &'a ScanResult, shown: &[&VerdictRow], limit: usize) -> Context<'a> {
    let rule_ctx = data::rules(result);
    let not_evaluated = rule_ctx
        .iter()
        .filter_map(|r| r.reason.map(|reason| NotEvaluated { id: r.id, reason }))
        .collect();
    let resolved = result
        .review
        .baseline
        .as_ref()
        .map_or(&[][..], |b| &b.resolved[..]);
    Context {
        tool_version: env!("CARGO_PKG_VERSION"),
        generated_at: generated_at(),
        csp: content_security_policy(),
        style: Value::from_safe_string(STYLE.clone()),
        script: Value::from_safe_string(SCRIPT.clone()),
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
        resolved: resolved
            .iter()
            .take(RESOLVED_CAP)
            .map(review::resolved_dto)
            .collect(),
        resolved_total: resolved.len(),
        summary: summary(result),
        verdict_chart: verdict_chart(result),
        rule_chart: rule_chart(result),
        tenant_findings: tenant_findings(result),
        rules: rule_ctx,
        not_evaluated,
        listed: result.verdicts.len(),
        shown: shown.len(),
        left_out: left_out(result, shown, limit),
    }
}

/// Accounts per verdict, out of every account in the snapshot.
fn verdict_chart(result: &ScanResult) -> Vec<VerdictBar> {
    let s = &result.summary;
    let max = s.users_total;
    let bar = |key, label, count, listed| VerdictBar {
        key,
        label,
        count,
        max: max.max(1),
        pct: pct(count, max),
        listed,
    };
    vec![
        bar("ready", "Ready", s.ready, true),
        bar("blocked", "Blocked", s.blocked, true),
        bar("pending", "Pending", s.pending, true),
        bar("excluded", "Excluded", s.excluded, true),
        bar("out-of-scope", "Out of scope", s.out_of_scope, false),
    ]
}

/// Findings per rule, most first; rules without findings are left out.
fn rule_chart(result: &ScanResult) -> Vec<RuleBar<'_>> {
    let mut bars: Vec<RuleBar> = result
        .registry
        .rules
        .iter()
        .zip(&result.outcomes)
        .filter(|(_, o)| o.count > 0)
        .map(|(r, o)| RuleBar {
            id: &r.id,
            title: &r.title,
            severity: o.severity.as_str(),
            count: o.count,
            max: 1,
        })
        .collect();
    let rank = |s: &str| match s {
        "blocker" => 0,
        "warning" => 1,
        _ => 2,
    };
    bars.sort_by(|a, b| (b.count, rank(a.severity), a.id).cmp(&(a.count, rank(b.severity), b.id)));
    let max = bars.first().map_or(1, |b| b.count);
    for b in &mut bars {
        b.max = max;
    }
    bars
}

/// Tenant-level findings, reported once.
fn tenant_findings(result: &ScanResult) -> Vec<TenantFinding<'_>> {
    result
        .findings
        .iter()
        .filter(|f| f.row.is_none())
        .map(|f| {
            let f = finding(result, f);
            TenantFinding {
                rule: f.rule,
                title: result.registry.get(f.rule).map_or("", |r| r.title.as_str()),
                severity: f.severity,
                message: f.message.into_owned(),
                accepted: f.accepted,
                fails: f.fails,
            }
        })
        .collect()
}

fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::Blocked => 0,
        Verdict::Ready => 1,
        Verdict::Pending => 2,
        Verdict::Excluded => 3,
    }
}

/// The accounts the page holds: blocked first, then ready, pending, excluded; within each, by
/// id (the verdict order); at most `limit`.
fn shown(result: &ScanResult, limit: usize) -> Vec<&VerdictRow> {
    let mut rows: Vec<&VerdictRow> = result.verdicts.iter().collect();
    rows.sort_by_key(|v| rank(v.verdict));
    rows.truncate(limit);
    rows
}

fn left_out(result: &ScanResult, shown: &[&VerdictRow], limit: usize) -> Option<LeftOut> {
    if shown.len() == result.verdicts.len() {
        return None;
    }
    let left = |verdict: Verdict| {
        let all = result.verdicts.iter().filter(|v| v.verdict == verdict);
        all.count() - shown.iter().filter(|v| v.verdict == verdict).count()
    };
    Some(LeftOut {
        total: result.verdicts.len() - shown.len(),
        limit,
        blocked: left(Verdict::Blocked),
        ready: left(Verdict::Ready),
        pending: left(Verdict::Pending),
        excluded: left(Verdict::Excluded),
    })
}

//! The terminal summary: totals, verdict counts, findings per rule and the first blocked
//! accounts, drawn with tabled.

use std::io::Write;

use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use crate::model::{Verdict, user as col};
use crate::output::OutputError;
use crate::scan::baseline::Change;
use crate::scan::review::Standing;
use crate::scan::{Finding, ScanResult};

/// Blocked accounts listed on the terminal; the rest are in the files.
const BLOCKED_SHOWN: usize = 20;

fn table(rows: Vec<Vec<String>>, numeric_from: usize) -> String {
    let mut b = Builder::default();
    for r in rows {
        b.push_record(r);
    }
    let mut t = b.build();
    t.with(Style::rounded());
    t.modify(Columns::new(numeric_from..), Alignment::right());
    t.to_string()
}

pub fn render(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    let s = &result.summary;
    let name = result.tenant_name();
    writeln!(
        out,
        "b2bready scan of {} ({}), snapshot exported {}",
        printable(if name.is_empty() { "tenant" } else { name }),
        result.tenant_id(),
        result
            .manifest
            .exported_at
            .as_deref()
            .unwrap_or("at an unknown time"),
    )?;
    let counts = vec![
        vec!["accounts".into(), "count".into()],
        vec!["in the snapshot".into(), s.users_total.to_string()],
        vec!["in scope".into(), s.in_scope.to_string()],
        vec!["  ready".into(), s.ready.to_string()],
        vec!["  blocked".into(), s.blocked.to_string()],
        vec![
            "  pending (invited, not redeemed)".into(),
            s.pending.to_string(),
        ],
        vec!["excluded (already B2B)".into(), s.excluded.to_string()],
        vec!["out of scope".into(), s.out_of_scope.to_string()],
    ];
    writeln!(out, "{}", table(counts, 1))?;

    writeln!(out, "{}", table(rules(result), 4))?;

    blocked_accounts(result, out)?;
    for (r, o) in result.registry.rules.iter().zip(&result.outcomes) {
        if let Some(reason) = &o.not_evaluated {
            writeln!(out, "not evaluated: {} ({reason})", r.id)?;
        }
    }
    writeln!(
        out,
        "{} ready, {} blocked, {} pending, {} excluded; {} blocker, {} warning and {} info findings",
        s.ready,
        s.blocked,
        s.pending,
        s.excluded,
        s.findings_blocker,
        s.findings_warning,
        s.findings_info
    )?;
    let r = &result.review;
    writeln!(out, "{}", result.review_line())?;
    if let Some(line) = result.baseline_counts_line() {
        writeln!(out, "against the baseline: {line}")?;
    }
    if !r.disabled.is_empty() {
        writeln!(out, "disabled by the config: {}", r.disabled.join(", "))?;
    }
    Ok(())
}

/// Every rule with its severity, status and number of findings.
fn rules(result: &ScanResult) -> Vec<Vec<String>> {
    let mut rules = vec![vec![
        "rule".into(),
        "severity".into(),
        "applies to".into(),
        "status".into(),
        "findings".into(),
    ]];
    for (r, o) in result.registry.rules.iter().zip(&result.outcomes) {
        rules.push(vec![
            r.id.clone(),
            o.severity.as_str().into(),
            r.target.as_str().into(),
            if o.not_evaluated.is_some() {
                "not evaluated".into()
            } else {
                "evaluated".into()
            },
            o.count.to_string(),
        ]);
    }
    rules
}

/// The first blocked accounts with their blockers, each marked accepted, new or with an
/// expired exception.
fn blocked_accounts(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    let blocked: Vec<_> = result
        .verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Blocked)
        .collect();
    if !blocked.is_empty() {
        let shown: Vec<_> = blocked.iter().take(BLOCKED_SHOWN).collect();
        // The findings behind the shown blockers, to mark the accepted and the new ones.
        let rows_shown: std::collections::HashSet<u32> = shown.iter().map(|v| v.row).collect();
        let findings: std::collections::HashMap<(u16, Option<u32>), &Finding> = result
            .findings
            .iter()
            .filter(|f| f.row.is_none_or(|r| rows_shown.contains(&r)))
            .map(|f| ((f.rule, f.row), f))
            .collect();
        let mut rows = vec![vec!["blocked account".into(), "blockers".into()]];
        for v in shown {
            let who = result
                .user_text(col::UPN, v.row)
                .or(result.user_text(col::ID, v.row))
                .unwrap_or("");
            let blockers: Vec<String> = v
                .blockers
                .iter()
                .zip(result.rule_ids(&v.blockers))
                .map(|(&rule, id)| {
                    let f = findings
                        .get(&(rule, Some(v.row)))
                        .or(findings.get(&(rule, None)));
                    match f.map(|f| (result.standing(f), result.exception(f), f.change)) {
                        Some((Standing::Accepted, _, _)) => format!("{id} (accepted)"),
                        Some((_, Some(e), _)) if e.expired => format!("{id} (exception expired)"),
                        Some((_, _, Change::New)) => format!("{id} (new)"),
                        _ => id.to_owned(),
                    }
                })
                .collect();
            rows.push(vec![printable(who), blockers.join(", ")]);
        }
        writeln!(out, "{}", table(rows, 2))?;
        if blocked.len() > BLOCKED_SHOWN {
            writeln!(
                out,
                "... and {} more blocked accounts: see verdicts.csv (--format csv)",
                blocked.len() - BLOCKED_SHOWN
            )?;
        }
    }
    Ok(())
}

/// Tenant data on a terminal: control characters could rewrite the screen.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

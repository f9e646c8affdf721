//! The diff on the terminal (tabled), as `diff.json` (schema `b2bready-diff/1`), `diff.csv`
//! (formula-safe, with a byte order mark) and `diff.md` (escaped Markdown).

use std::io::Write;

use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::Style;

use super::{AccountChange, Change, Diff, Side, TenantChange};
use crate::output::OutputError;
use crate::output::csv::{column, write_columns};
use crate::report::markdown::escape;
use crate::report::table::printable;

/// Changed accounts listed on the terminal and in diff.md; the files hold all of them.
const LISTED: usize = 50;

pub const SCHEMA: &str = "b2bready-diff/1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    schema: &'static str,
    generated_at: String,
    old: SideDto<'a>,
    new: SideDto<'a>,
    summary: Summary,
    accounts: &'a [AccountChange],
    tenant_rules: &'a [TenantChange],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SideDto<'a> {
    source: String,
    kind: &'static str,
    tenant_id: &'a str,
    exported_at: Option<&'a str>,
    accounts: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    became_blocked: usize,
    became_pending: usize,
    became_ready: usize,
    converted: usize,
    became_excluded: usize,
    appeared: usize,
    disappeared: usize,
    ready_now_blocked: usize,
    tenant_rules_changed: usize,
}

fn side(s: &Side) -> SideDto<'_> {
    SideDto {
        source: s.source.display().to_string(),
        kind: s.kind,
        tenant_id: &s.tenant_id,
        exported_at: s.exported_at.as_deref(),
        accounts: s.accounts.len(),
    }
}

fn summary(d: &Diff) -> Summary {
    Summary {
        became_blocked: d.count(Change::BecameBlocked),
        became_pending: d.count(Change::BecamePending),
        became_ready: d.count(Change::BecameReady),
        converted: d.count(Change::Converted),
        became_excluded: d.count(Change::BecameExcluded),
        appeared: d.count(Change::Appeared),
        disappeared: d.count(Change::Disappeared),
        ready_now_blocked: d.ready_now_blocked(),
        tenant_rules_changed: d.tenant.len(),
    }
}

pub fn json(d: &Diff, out: &mut dyn Write) -> Result<(), OutputError> {
    let doc = Document {
        schema: SCHEMA,
        generated_at: crate::report::generated_at(),
        old: side(&d.old),
        new: side(&d.new),
        summary: summary(d),
        accounts: &d.accounts,
        tenant_rules: &d.tenant,
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(|e| OutputError::Render {
        what: "diff.json".into(),
        message: e.to_string(),
    })?;
    out.write_all(b"\n")?;
    Ok(())
}

pub fn csv(d: &Diff, out: &mut dyn Write) -> Result<(), OutputError> {
    let a = &d.accounts;
    let new_blockers: Vec<String> = a.iter().map(|c| c.new_blockers.join(";")).collect();
    let blockers: Vec<String> = a.iter().map(|c| c.blockers.join(";")).collect();
    write_columns(
        vec![
            column("id", a.iter().map(|c| Some(c.id.as_str()))),
            column(
                "user_principal_name",
                a.iter().map(|c| c.user_principal_name.as_deref()),
            ),
            column("display_name", a.iter().map(|c| c.display_name.as_deref())),
            column("mail", a.iter().map(|c| c.mail.as_deref())),
            column("change", a.iter().map(|c| Some(c.change.as_str()))),
            column("old_verdict", a.iter().map(|c| c.old_verdict.as_deref())),
            column("new_verdict", a.iter().map(|c| c.new_verdict.as_deref())),
            column(
                "new_blockers",
                new_blockers.iter().map(|b| Some(b.as_str())),
            ),
            column("blockers", blockers.iter().map(|b| Some(b.as_str()))),
            column("reason", a.iter().map(|c| c.reason.as_deref())),
        ],
        out,
        "diff.csv",
    )
}

fn counts(d: &Diff) -> Vec<(&'static str, usize)> {
    let mut rows: Vec<(&'static str, usize)> = Change::ALL
        .iter()
        .map(|&c| (c.as_str(), d.count(c)))
        .collect();
    rows.push(("of them ready before, blocked now", d.ready_now_blocked()));
    rows.push(("tenant-level rules changed", d.tenant.len()));
    rows
}

fn who(c: &AccountChange) -> &str {
    c.user_principal_name.as_deref().unwrap_or(&c.id)
}

fn verdicts(c: &AccountChange) -> String {
    format!(
        "{} → {}",
        c.old_verdict.as_deref().unwrap_or("(absent)"),
        c.new_verdict.as_deref().unwrap_or("(absent)")
    )
}

pub fn markdown(d: &Diff, out: &mut dyn Write) -> Result<(), OutputError> {
    writeln!(
        out,
        "## b2bready diff of tenant {}\n",
        escape(&d.new.tenant_id)
    )?;
    for (label, s) in [("Old", &d.old), ("New", &d.new)] {
        writeln!(
            out,
            "- {label}: `{}` ({}, exported {})",
            s.source.display().to_string().replace('`', "'"),
            s.kind,
            escape(s.exported_at.as_deref().unwrap_or("at an unknown time"))
        )?;
    }
    writeln!(out, "\n| change | accounts |\n|---|---:|")?;
    for (label, n) in counts(d) {
        writeln!(out, "| {} | {n} |", escape(label))?;
    }
    if !d.accounts.is_empty() {
        writeln!(
            out,
            "\n| account | change | verdict | new blockers |\n|---|---|---|---|"
        )?;
        for c in d.accounts.iter().take(LISTED) {
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                escape(who(c)),
                c.change.as_str(),
                escape(&verdicts(c)),
                escape(&c.new_blockers.join(", "))
            )?;
        }
        if d.accounts.len() > LISTED {
            writeln!(
                out,
                "\nThe first {LISTED} of {} changed accounts; diff.csv and diff.json list them all.",
                d.accounts.len()
            )?;
        }
    }
    tenant_lines(d, out, |t| {
        format!(
            "- {} `{}`: {}",
            t.change,
            t.rule.replace('`', "'"),
            escape(&t.message)
        )
    })
}

fn tenant_lines(
    d: &Diff,
    out: &mut dyn Write,
    line: impl Fn(&TenantChange) -> String,
) -> Result<(), OutputError> {
    if !d.tenant.is_empty() {
        writeln!(out, "\nTenant-level rules:")?;
        for t in &d.tenant {
            writeln!(out, "{}", line(t))?;
        }
    }
    Ok(())
}

fn table(rows: Vec<Vec<String>>) -> String {
    let mut b = Builder::default();
    for r in rows {
        b.push_record(r);
    }
    let mut t = b.build();
    t.with(Style::rounded());
    t.to_string()
}

pub fn terminal(d: &Diff, out: &mut dyn Write) -> Result<(), OutputError> {
    writeln!(
        out,
        "b2bready diff of tenant {}: {} ({}) → {} ({})",
        d.new.tenant_id,
        printable(&d.old.source.display().to_string()),
        d.old
            .exported_at
            .as_deref()
            .unwrap_or("exported at an unknown time"),
        printable(&d.new.source.display().to_string()),
        d.new
            .exported_at
            .as_deref()
            .unwrap_or("exported at an unknown time"),
    )?;
    let mut rows = vec![vec!["change".to_owned(), "accounts".to_owned()]];
    rows.extend(
        counts(d)
            .into_iter()
            .map(|(l, n)| vec![l.to_owned(), n.to_string()]),
    );
    writeln!(out, "{}", table(rows))?;
    if !d.accounts.is_empty() {
        let mut rows = vec![
            ["account", "change", "verdict", "new blockers"]
                .map(str::to_owned)
                .to_vec(),
        ];
        rows.extend(d.accounts.iter().take(LISTED).map(|c| {
            vec![
                printable(who(c)),
                c.change.as_str().to_owned(),
                verdicts(c),
                c.new_blockers.join(", "),
            ]
        }));
        writeln!(out, "{}", table(rows))?;
        if d.accounts.len() > LISTED {
            writeln!(
                out,
                "the first {LISTED} of {} changed accounts; --format json,csv lists them all",
                d.accounts.len()
            )?;
        }
    } else {
        writeln!(out, "no account changed its verdict")?;
    }
    tenant_lines(d, out, |t| {
        format!(
            "  {} {} ({}): {}",
            t.change,
            t.rule,
            t.severity,
            printable(&t.message)
        )
    })
}

//! `summary.md`: a short Markdown summary for `$GITHUB_STEP_SUMMARY`, a pull request comment
//! or a wiki page. Tenant data is escaped so that it renders as the text it is: no links,
//! no HTML, no table breaks, no mentions.

use std::io::Write;

use crate::model::Severity;
use crate::output::OutputError;
use crate::scan::ScanResult;
use crate::scan::baseline::Change;

/// Failing blockers listed; the rest are counted.
const LISTED: usize = 20;
/// Longest value shown in a cell, in characters.
const CELL: usize = 120;

/// Renders `s` as literal Markdown text: ASCII punctuation is backslash-escaped (CommonMark
/// allows it for all of them), line breaks and control characters become spaces, and `@` and
/// `#` get a zero-width space so GitHub does not turn them into mentions or issue links.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '@' | '#' => {
                out.push('\\');
                out.push(c);
                out.push('\u{200B}');
            }
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A table cell: escaped, and cut at CELL characters.
fn cell(s: &str) -> String {
    match s.char_indices().nth(CELL) {
        Some((at, _)) => escape(&s[..at]) + "…",
        None => escape(s),
    }
}

fn rule_count(n: usize) -> String {
    format!("{n} rule{}", crate::scan::review::plural(n))
}

pub fn render(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    let s = &result.summary;
    let r = &result.review;
    let c = &r.counts;
    let passed = result.exit_code() == 0;
    let name = result.tenant_name();
    writeln!(
        out,
        "## b2bready: {} for {} ({})\n",
        if passed { "✅ passes" } else { "❌ fails" },
        escape(if name.is_empty() { "the tenant" } else { name }),
        escape(result.tenant_id())
    )?;
    writeln!(out, "| accounts | count |\n|---|---:|")?;
    for (label, n) in [
        ("in scope", s.in_scope),
        ("ready", s.ready),
        ("blocked", s.blocked),
        ("pending (invited, not redeemed)", s.pending),
        ("excluded (already B2B)", s.excluded),
        ("out of scope", s.out_of_scope),
    ] {
        writeln!(out, "| {label} | {n} |")?;
    }
    writeln!(out, "\n**Review**, {}.", result.review_counts_line())?;
    if let Some(line) = result.baseline_counts_line() {
        writeln!(out, "Against the baseline: {line}.")?;
    }
    let reasons = result.gate_reasons();
    if !reasons.is_empty() {
        writeln!(out, "\n### Why it fails\n")?;
        for reason in reasons {
            writeln!(out, "- {}", escape(&reason))?;
        }
    }
    failing_blockers(result, out)?;
    let not_evaluated: Vec<_> = result.not_evaluated().collect();
    if !not_evaluated.is_empty() {
        writeln!(
            out,
            "\n### Not evaluated ({})\n\nNeither passed nor failed:\n",
            rule_count(not_evaluated.len())
        )?;
        for (rule, why) in not_evaluated {
            writeln!(out, "- `{}`: {}", rule.id, escape(why))?;
        }
    }
    top_rules(result, out)?;
    let unused = c.unused_exceptions;
    if unused > 0 {
        writeln!(
            out,
            "\n{unused} exception{} matched no finding: see the scan's warnings.",
            crate::scan::review::plural(unused)
        )?;
    }
    Ok(())
}

/// The blockers that fail the build, marked new or with an expired exception.
fn failing_blockers(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    let failing: Vec<_> = result
        .findings
        .iter()
        .filter(|f| result.fails(f) && result.severity(f) == Severity::Blocker)
        .collect();
    if !failing.is_empty() {
        writeln!(
            out,
            "\n### Failing blockers\n\n| rule | account | finding |\n|---|---|---|"
        )?;
        for f in failing.iter().take(LISTED) {
            let who = result.subject_label(f);
            let marker = if result.exception(f).is_some_and(|e| e.expired) {
                " (exception expired)"
            } else if f.change == Change::New {
                " (new)"
            } else {
                ""
            };
            writeln!(
                out,
                "| `{}` | {}{marker} | {} |",
                result.rule(f).id,
                cell(who),
                cell(&result.message(f))
            )?;
        }
        if failing.len() > LISTED {
            writeln!(
                out,
                "\n… and {} more: see findings.csv or findings.sarif.",
                failing.len() - LISTED
            )?;
        }
    }
    Ok(())
}

/// The ten rules with the most findings, the most severe first.
fn top_rules(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    let mut top: Vec<_> = result
        .registry
        .rules
        .iter()
        .zip(&result.outcomes)
        .filter(|(_, o)| o.count > 0)
        .collect();
    top.sort_by_key(|(_, o)| std::cmp::Reverse((o.severity, o.count)));
    if !top.is_empty() {
        writeln!(
            out,
            "\n### Top rules\n\n| rule | severity | findings |\n|---|---|---:|"
        )?;
        for (rule, o) in top.iter().take(10) {
            writeln!(
                out,
                "| `{}` {} | {} | {} |",
                rule.id,
                escape(&rule.title),
                o.severity.as_str(),
                o.count
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_text_renders_literally() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("<img src=x>"), "\\<img src\\=x\\>");
        assert_eq!(
            escape("[x](https://evil)"),
            "\\[x\\]\\(https\\:\\/\\/evil\\)"
        );
        assert_eq!(escape("@team"), "\\@\u{200B}team");
        assert_eq!(escape("line\nbreak"), "line break");
        assert_eq!(cell(&"é".repeat(200)).chars().count(), CELL + 1);
    }
}

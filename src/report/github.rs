//! GitHub Actions workflow commands on standard output: an `::error` for each failing blocker,
//! a `::warning` for each failing warning, expired exception and rule that could not run.
//! GitHub shows only the first few annotations of a step, so they are capped per level and
//! a `::notice` says how many more there are. Tenant data is escaped as the runner expects,
//! so a display name cannot end a command or start another.

use std::io::Write;

use super::table::printable;
use crate::model::Severity;
use crate::output::OutputError;
use crate::scan::ScanResult;
use crate::scan::baseline::Change;

/// The message part of a workflow command.
pub fn escape_data(s: &str) -> String {
    printable_keeping_newlines(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value (`title=…`): also `:` and `,`, which end a property.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn printable_keeping_newlines(s: &str) -> String {
    s.split('\n').map(printable).collect::<Vec<_>>().join("\n")
}

struct Emitter<'a> {
    out: &'a mut dyn Write,
    cap: usize,
    shown: [usize; 2],
    skipped: [usize; 2],
}

impl Emitter<'_> {
    fn emit(&mut self, level: &str, title: &str, message: &str) -> Result<(), OutputError> {
        let slot = usize::from(level == "warning");
        if self.shown[slot] >= self.cap {
            self.skipped[slot] += 1;
            return Ok(());
        }
        self.shown[slot] += 1;
        writeln!(
            self.out,
            "::{level} title={}::{}",
            escape_property(title),
            escape_data(message)
        )?;
        Ok(())
    }
}

pub fn render(result: &ScanResult, cap: usize, out: &mut dyn Write) -> Result<(), OutputError> {
    let mut e = Emitter {
        out,
        cap,
        shown: [0; 2],
        skipped: [0; 2],
    };
    for f in result.findings.iter().filter(|f| result.fails(f)) {
        let rule = result.rule(f);
        let subject = result.subject_label(f);
        let level = if result.severity(f) == Severity::Blocker {
            "error"
        } else {
            "warning"
        };
        let new = if f.change == Change::New {
            " (new since the baseline)"
        } else {
            ""
        };
        e.emit(
            level,
            &format!("b2bready {}: {}", rule.id, rule.title),
            &format!("{subject}: {}{new}", result.message(f)),
        )?;
    }
    for x in result.review.exceptions.iter().filter(|x| x.failing > 0) {
        let ex = &x.exception;
        e.emit(
            "warning",
            "b2bready: exception expired",
            &format!(
                "the exception for {} on {} expired on {} ({} finding{} no longer accepted); reason was: {}",
                ex.rule,
                ex.subject.as_str(),
                ex.expires.map(|d| d.to_string()).unwrap_or_default(),
                x.failing,
                crate::scan::review::plural(x.failing),
                ex.reason
            ),
        )?;
    }
    for (rule, why) in result.not_evaluated() {
        e.emit(
            "warning",
            &format!("b2bready {}: not evaluated", rule.id),
            &format!("{} was neither passed nor failed: {why}", rule.id),
        )?;
    }
    let skipped = e.skipped[0] + e.skipped[1];
    if skipped > 0 {
        writeln!(
            e.out,
            "::notice title=b2bready::{skipped} more annotation{} not shown (at most {cap} per level): see the scan's findings files",
            crate::scan::review::plural(skipped)
        )?;
    }
    // The counts, once: the last line a reader of the run sees.
    let mut summary = result.review_line();
    if let Some(line) = result.baseline_counts_line() {
        summary.push_str(&format!("; against the baseline: {line}"));
    }
    writeln!(
        e.out,
        "::notice title=b2bready review::{}",
        escape_data(&summary)
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_text_cannot_break_out() {
        let hostile = "Eve\n::error::pwned\r%0A";
        assert_eq!(escape_data(hostile), "Eve%0A::error::pwned\u{FFFD}%250A");
        assert_eq!(escape_property("a: b, c"), "a%3A b%2C c");
        assert_eq!(escape_data("bell\u{7}"), "bell\u{FFFD}");
    }
}

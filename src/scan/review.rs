//! The CI gate: which findings fail the build, given the `--fail-on` threshold, accepted
//! exceptions and a baseline, and the counts every output shows about it.

use std::path::PathBuf;

use serde::Serialize;

use super::baseline::{self, Baseline, BaselineError, Change};
use super::exceptions::{self, Exception, ExceptionUse};
use super::{Finding, Scan, ScanResult};
use crate::model::Severity;

/// Expired exceptions named one by one among the reasons a build fails.
const EXPIRED_LISTED: usize = 10;

#[derive(Debug, Clone, Default)]
pub struct Review {
    /// The config file the scan used.
    pub config: Option<PathBuf>,
    /// Rules switched off in the config.
    pub disabled: Vec<String>,
    pub exceptions: Vec<ExceptionUse>,
    /// Exceptions left out because of `--no-exceptions`.
    pub exceptions_ignored: usize,
    pub baseline: Option<Baseline>,
    /// Findings at or above this severity fail the build; `None` never fails.
    pub threshold: Option<Severity>,
    pub fail_on_not_evaluated: bool,
    pub counts: Counts,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Findings that fail the build.
    pub failing: usize,
    /// Findings an exception accepts.
    pub accepted: usize,
    /// Findings whose exception has expired.
    pub expired: usize,
    /// Of those, the ones that fail the build (at or above the threshold).
    #[serde(skip)]
    pub expired_failing: usize,
    pub new: Option<usize>,
    pub unchanged: Option<usize>,
    pub resolved: Option<usize>,
    pub unused_exceptions: usize,
    pub not_evaluated: usize,
}

/// Where one finding stands in the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Fails the build.
    Failing,
    /// Accepted by a valid exception.
    Accepted,
    /// In the baseline already (and not accepted): tolerated.
    Known,
    /// Below the `--fail-on` threshold.
    Below,
}

/// What the review is given: the settings that decide the gate.
#[derive(Debug, Clone, Default)]
pub struct ReviewInputs {
    pub config: Option<PathBuf>,
    pub disabled: Vec<String>,
    pub exceptions: Vec<Exception>,
    /// Exceptions left out because of `--no-exceptions`.
    pub exceptions_ignored: usize,
    /// Exceptions that expire before this day no longer accept.
    pub today: Option<jiff::civil::Date>,
    /// An earlier `findings.json` to compare with.
    pub baseline: Option<PathBuf>,
    pub threshold: Option<Severity>,
    pub fail_on_not_evaluated: bool,
}

/// Applies exceptions and the baseline to an evaluated scan and counts the review: the
/// finished result.
pub fn review(mut scan: Scan, inputs: ReviewInputs) -> Result<ScanResult, BaselineError> {
    let mut findings = std::mem::take(&mut scan.findings);
    let today = inputs.today.unwrap_or_else(exceptions::today);
    let exceptions = exceptions::mark(&scan, &mut findings, inputs.exceptions, today);
    let baseline = match &inputs.baseline {
        Some(path) => Some(baseline::compare(&scan, &mut findings, path)?),
        None => None,
    };
    scan.findings = findings;
    let mut review = Review {
        config: inputs.config,
        disabled: inputs.disabled,
        exceptions,
        exceptions_ignored: inputs.exceptions_ignored,
        baseline,
        threshold: inputs.threshold,
        fail_on_not_evaluated: inputs.fail_on_not_evaluated,
        counts: Counts::default(),
    };
    review.count(&scan);
    Ok(ScanResult { scan, review })
}

impl Review {
    /// The exception that matched a finding, valid or expired.
    pub fn exception(&self, f: &Finding) -> Option<&ExceptionUse> {
        f.exception.map(|i| &self.exceptions[i as usize])
    }

    pub fn standing(&self, scan: &Scan, f: &Finding) -> Standing {
        let exception = self.exception(f);
        if exception.is_some_and(|e| !e.expired) {
            return Standing::Accepted;
        }
        if self.threshold.is_none_or(|t| scan.severity(f) < t) {
            return Standing::Below;
        }
        // An expired exception fails again whatever the baseline says: its time is up.
        if exception.is_none() && f.change == Change::Unchanged {
            return Standing::Known;
        }
        Standing::Failing
    }

    /// Counts the findings by standing, and for each exception the findings it no longer
    /// keeps from failing.
    fn count(&mut self, scan: &Scan) {
        let mut c = Counts {
            unused_exceptions: self.exceptions.iter().filter(|e| e.matched == 0).count(),
            not_evaluated: scan.not_evaluated().count(),
            ..Counts::default()
        };
        let mut failing_by_exception = vec![0; self.exceptions.len()];
        let (mut new, mut unchanged) = (0, 0);
        for f in &scan.findings {
            let standing = self.standing(scan, f);
            match standing {
                Standing::Failing => c.failing += 1,
                Standing::Accepted => c.accepted += 1,
                Standing::Known | Standing::Below => {}
            }
            if let Some(i) = f.exception
                && self.exceptions[i as usize].expired
            {
                c.expired += 1;
                if standing == Standing::Failing {
                    c.expired_failing += 1;
                    failing_by_exception[i as usize] += 1;
                }
            }
            match f.change {
                Change::New => new += 1,
                Change::Unchanged | Change::UnchangedAccepted => unchanged += 1,
                Change::Untracked => {}
            }
        }
        for (e, n) in self.exceptions.iter_mut().zip(failing_by_exception) {
            e.failing = n;
        }
        if let Some(b) = &self.baseline {
            c.new = Some(new);
            c.unchanged = Some(unchanged);
            c.resolved = Some(b.resolved.len());
        }
        self.counts = c;
    }
}

impl Scan {
    /// Rules that could not run, with the reason.
    pub fn not_evaluated(&self) -> impl Iterator<Item = (&crate::rules::Rule, &str)> {
        self.registry
            .rules
            .iter()
            .zip(&self.outcomes)
            .filter_map(|(r, o)| o.not_evaluated.as_deref().map(|why| (r, why)))
    }
}

impl ScanResult {
    /// The exception that matched a finding, valid or expired.
    pub fn exception(&self, f: &Finding) -> Option<&ExceptionUse> {
        self.review.exception(f)
    }

    pub fn standing(&self, f: &Finding) -> Standing {
        self.review.standing(self, f)
    }

    pub fn fails(&self, f: &Finding) -> bool {
        self.standing(f) == Standing::Failing
    }

    /// 0 when the build passes, 1 when it fails.
    pub fn exit_code(&self) -> u8 {
        let c = &self.review.counts;
        u8::from(c.failing > 0 || (self.review.fail_on_not_evaluated && c.not_evaluated > 0))
    }

    /// Why the build fails, one line per cause; empty when it passes.
    pub fn gate_reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        let c = &self.review.counts;
        // Findings whose exception expired are explained one by one below.
        let fresh = c.failing - c.expired_failing;
        if fresh > 0 {
            let threshold = self.review.threshold.map_or("", Severity::as_str);
            let new = if self.review.baseline.is_some() {
                "new "
            } else {
                ""
            };
            reasons.push(format!(
                "{fresh} {new}finding{} at or above {threshold}, not accepted by an exception",
                plural(fresh)
            ));
        }
        let expired: Vec<_> = self
            .review
            .exceptions
            .iter()
            .filter(|e| e.failing > 0)
            .collect();
        for e in expired.iter().take(EXPIRED_LISTED) {
            let x = &e.exception;
            reasons.push(format!(
                "the exception for {} on {} (line {}) expired on {}: renew it or fix the finding",
                x.rule,
                x.subject.as_str(),
                x.line,
                x.expires.map(|d| d.to_string()).unwrap_or_default()
            ));
        }
        if expired.len() > EXPIRED_LISTED {
            reasons.push(format!(
                "{} more exceptions expired: `b2bready config check` lists them all",
                expired.len() - EXPIRED_LISTED
            ));
        }
        if self.review.fail_on_not_evaluated && c.not_evaluated > 0 {
            reasons.push(format!(
                "{} rule{} could not be evaluated (--fail-on-not-evaluated)",
                c.not_evaluated,
                plural(c.not_evaluated)
            ));
        }
        reasons
    }

    /// The `--fail-on` threshold as people write it.
    pub fn fail_on_label(&self) -> &'static str {
        self.review.threshold.map_or("never", Severity::as_str)
    }

    /// The review counts in one line, e.g. "fail on blocker: 5 failing, 1 accepted by
    /// exceptions, 1 with an expired exception".
    pub fn review_counts_line(&self) -> String {
        let c = &self.review.counts;
        format!(
            "fail on {}: {} failing, {} accepted by exceptions, {} with an expired exception",
            self.fail_on_label(),
            c.failing,
            c.accepted,
            c.expired
        )
    }

    /// "review passes, fail on …" or "review fails, fail on …".
    pub fn review_line(&self) -> String {
        let verdict = if self.exit_code() == 0 {
            "passes"
        } else {
            "fails"
        };
        format!("review {verdict}, {}", self.review_counts_line())
    }

    /// The baseline counts in one line, when a baseline was given.
    pub fn baseline_counts_line(&self) -> Option<String> {
        let c = &self.review.counts;
        match (c.new, c.unchanged, c.resolved) {
            (Some(new), Some(unchanged), Some(resolved)) => Some(format!(
                "{new} new, {unchanged} unchanged, {resolved} resolved"
            )),
            _ => None,
        }
    }

    /// Exceptions that matched no finding, described for a warning.
    pub fn unused_exceptions(&self) -> impl Iterator<Item = String> {
        self.review
            .exceptions
            .iter()
            .filter(|e| e.matched == 0)
            .map(|e| {
                let disabled = self.review.disabled.contains(&e.exception.rule);
                format!(
                    "the exception for {} on {} (line {}) matched no finding{}",
                    e.exception.rule,
                    e.exception.subject.as_str(),
                    e.exception.line,
                    if disabled {
                        ": the rule is disabled"
                    } else {
                        ": remove it if the problem is fixed"
                    }
                )
            })
    }
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

//! Each stage of b2bready as one library call: resolved settings in, a finished value out.
//! Commands parse flags, call these, and choose outputs and exit codes; everything that
//! decides a verdict or a review happens below this line.

pub mod settings;

use std::path::Path;

pub use settings::{Purpose, ReviewFlags, Rules, ScanFlags, ScopeSetting, Settings};

use crate::error::Error;
use crate::scan::review::{self, ReviewInputs};
use crate::scan::{self, ScanResult};

/// A whole scan: the rule set with the config's overrides, the evaluation of the snapshot, and,
/// for a review, exceptions, the baseline and the gate. Warnings about ignored overrides come
/// first among the result's warnings.
pub fn scan(snapshot: &Path, settings: &Settings, purpose: Purpose) -> Result<ScanResult, Error> {
    let Rules {
        registry,
        disabled,
        warnings,
    } = settings.rules(purpose)?;
    let options = settings.scan_options()?;
    let mut evaluated = scan::run(snapshot, registry, options)?;
    evaluated.warnings.extend(warnings);
    let inputs = match purpose {
        Purpose::Review => ReviewInputs {
            disabled,
            ..settings.review.clone()
        },
        // A plan has no gate: exceptions and baselines decide nothing about who is ready.
        Purpose::Plan => ReviewInputs {
            config: settings.review.config.clone(),
            disabled,
            ..ReviewInputs::default()
        },
    };
    Ok(review::review(evaluated, inputs)?)
}

/// The rule set of a plan and the facts of its snapshot, ready to judge single accounts again
/// on values read live (see `scan::recheck`).
pub fn checker(snapshot: &Path, settings: &Settings) -> Result<scan::recheck::Checker, Error> {
    let rules = settings.rules(Purpose::Plan)?;
    let options = settings.scan_options()?;
    Ok(scan::recheck::Checker::load(
        snapshot,
        rules.registry,
        &options,
    )?)
}

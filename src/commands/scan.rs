//! `b2bready scan`.

use std::io::Write;

use crate::cli::{FailOn, ScanArgs, ScanInputs, ScopeArg};
use crate::error::Error;
use crate::model::Severity;
use crate::report::{self, Format, write_file};
use crate::rules::Registry;
use crate::scan::{self, ScanOptions, ScanResult, Scope, inputs};

type Renderer = fn(&ScanResult, &str, &mut dyn Write) -> Result<(), report::ReportError>;

pub fn options(args: &ScanInputs) -> Result<ScanOptions, Error> {
    let scope = match (&args.scope_file, args.scope) {
        (Some(file), _) => Scope::Listed(inputs::read_scope_file(file)?),
        (None, ScopeArg::All) => Scope::All,
        (None, ScopeArg::LikelyGuests) => Scope::LikelyGuests,
    };
    Ok(ScanOptions {
        scope,
        external_identities: args.external_identities.clone(),
        mau_billing: args.mau_billing,
        allow_incomplete: args.allow_incomplete,
    })
}

/// Loads the rules and scans, as `scan` and `plan` both do.
pub fn scan_with(snapshot: &std::path::Path, inputs: &ScanInputs) -> Result<ScanResult, Error> {
    let registry = Registry::load(&inputs.rules)?;
    Ok(scan::run(snapshot, registry, options(inputs)?)?)
}

pub fn exit_code(result: &ScanResult, fail_on: FailOn) -> u8 {
    let threshold = match fail_on {
        FailOn::Blocker => Severity::Blocker,
        FailOn::Warning => Severity::Warning,
        FailOn::Never => return 0,
    };
    u8::from(result.worst().is_some_and(|w| w >= threshold))
}

pub fn run(args: ScanArgs) -> Result<u8, Error> {
    let result = scan_with(&args.snapshot, &args.inputs)?;
    let mut stderr = std::io::stderr().lock();
    if !args.quiet {
        for w in &result.warnings {
            let _ = writeln!(stderr, "warning: {w}");
        }
    }
    let mut formats = args.format.clone();
    formats.sort();
    formats.dedup();
    if formats.contains(&Format::Table) && !args.quiet {
        let mut out = std::io::stdout().lock();
        report::table::render(&result, &mut out)?;
        out.flush().map_err(super::stdout_error)?;
    }
    // The files are independent: write them side by side.
    let files: Vec<(&str, Renderer)> = formats
        .iter()
        .flat_map(|f| -> Vec<(&str, Renderer)> {
            match f {
                Format::Table => vec![],
                Format::Json => vec![("findings.json", |r, _, w| report::json::render(r, w))],
                Format::Csv => vec![
                    ("findings.csv", |r, _, w| report::csv::render_findings(r, w)),
                    ("verdicts.csv", |r, _, w| report::csv::render_verdicts(r, w)),
                ],
                Format::Html => vec![("report.html", |r, fail_on, w| {
                    report::html::render(r, fail_on, w)
                })],
            }
        })
        .collect();
    let fail_on = args.fail_on.as_str();
    let written = std::thread::scope(|s| {
        let jobs: Vec<_> = files
            .iter()
            .map(|(name, render)| {
                let result = &result;
                let out = &args.out;
                s.spawn(move || write_file(out, name, |w| render(result, fail_on, w)))
            })
            .collect();
        jobs.into_iter()
            .map(|j| {
                j.join().unwrap_or_else(|_| {
                    Err(report::ReportError::Render {
                        what: "reports".into(),
                        message: "a renderer stopped unexpectedly".into(),
                    })
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    if !args.quiet {
        for path in written {
            let _ = writeln!(stderr, "wrote {}", path.display());
        }
    }
    Ok(exit_code(&result, args.fail_on))
}

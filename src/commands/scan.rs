//! `b2bready scan`.

use std::io::Write;

use crate::cli::{FailOn, ScanArgs, ScopeArg};
use crate::error::Error;
use crate::model::Severity;
use crate::report::{self, Format, write_file};
use crate::rules::Registry;
use crate::scan::{self, ScanOptions, ScanResult, Scope, inputs};

pub fn options(args: &ScanArgs) -> Result<ScanOptions, Error> {
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

pub fn exit_code(result: &ScanResult, fail_on: FailOn) -> u8 {
    let threshold = match fail_on {
        FailOn::Blocker => Severity::Blocker,
        FailOn::Warning => Severity::Warning,
        FailOn::Never => return 0,
    };
    u8::from(result.worst().is_some_and(|w| w >= threshold))
}

pub fn run(args: ScanArgs) -> Result<u8, Error> {
    let registry = Registry::load(&args.rules)?;
    let options = options(&args)?;
    let result = scan::run(&args.snapshot, registry, options)?;
    let mut stderr = std::io::stderr().lock();
    if !args.quiet {
        for w in &result.warnings {
            let _ = writeln!(stderr, "warning: {w}");
        }
    }
    let mut formats = args.format.clone();
    formats.sort();
    formats.dedup();
    let mut written = Vec::new();
    for format in &formats {
        match format {
            Format::Table => {
                if !args.quiet {
                    let mut out = std::io::stdout().lock();
                    report::table::render(&result, &mut out)?;
                    out.flush().map_err(super::stdout_error)?;
                }
            }
            Format::Json => written.push(write_file(&args.out, "findings.json", |w| {
                report::json::render(&result, w)
            })?),
            Format::Csv => {
                written.push(write_file(&args.out, "findings.csv", |w| {
                    report::csv::render_findings(&result, w)
                })?);
                written.push(write_file(&args.out, "verdicts.csv", |w| {
                    report::csv::render_verdicts(&result, w)
                })?);
            }
            Format::Html => written.push(write_file(&args.out, "report.html", |w| {
                report::html::render(&result, args.fail_on.as_str(), w)
            })?),
        }
    }
    if !args.quiet {
        for path in written {
            let _ = writeln!(stderr, "wrote {}", path.display());
        }
    }
    Ok(exit_code(&result, args.fail_on))
}

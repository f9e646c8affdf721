//! `b2bready scan`.

use std::io::Write;
use std::path::Path;

use crate::cli::{FailOn, ScanArgs, ScanInputs, ScopeArg};
use crate::config::{self, Config};
use crate::error::Error;
use crate::model::Severity;
use crate::report::{self, Format, write_file};
use crate::rules::Registry;
use crate::scan::{self, ScanOptions, ScanResult, Scope, baseline, exceptions, inputs, review};

type Renderer = fn(&ScanResult, &mut dyn Write) -> Result<(), report::ReportError>;

/// The scan options: flags first, then the config file, then the defaults.
pub fn options(args: &ScanInputs, config: Option<&Config>) -> Result<ScanOptions, Error> {
    let from_config = |f: fn(&Config) -> Option<&std::path::PathBuf>| config.and_then(f).cloned();
    let scope_file = args.scope_file.clone().or(if args.scope.is_some() {
        None
    } else {
        from_config(|c| c.scope_file.as_ref())
    });
    let scope = match (scope_file, args.scope.or(config.and_then(|c| c.scope))) {
        (Some(file), _) => Scope::Listed(inputs::read_scope_file(&file)?),
        (None, Some(ScopeArg::All)) => Scope::All,
        (None, Some(ScopeArg::LikelyGuests) | None) => Scope::LikelyGuests,
    };
    let mau_billing = if args.no_mau_billing {
        false
    } else {
        args.mau_billing || config.and_then(|c| c.mau_billing).unwrap_or(false)
    };
    Ok(ScanOptions {
        scope,
        external_identities: args
            .external_identities
            .clone()
            .or(from_config(|c| c.external_identities.as_ref())),
        mau_billing,
        allow_incomplete: args.allow_incomplete,
    })
}

/// The config file the flags point at, if any.
pub fn load_config(inputs: &ScanInputs) -> Result<Option<Config>, Error> {
    Ok(Config::find(inputs.config.as_deref(), inputs.no_config)?)
}

/// The built-in rules, the config's rule folders and `--rules`, with the config's overrides.
/// For a plan (`keep_blockers`), overrides that would switch off or lower a blocker are left
/// out, with a warning: a plan must never convert an account that a blocker stops.
pub fn registry(
    inputs: &ScanInputs,
    config: Option<&Config>,
    keep_blockers: bool,
) -> Result<(Registry, Vec<String>, Vec<String>), Error> {
    let mut dirs: Vec<_> = config.map(|c| c.rule_folders.clone()).unwrap_or_default();
    dirs.extend(inputs.rules.iter().cloned());
    let mut registry = Registry::load(&dirs)?;
    let mut warnings = Vec::new();
    let disabled = match config {
        Some(c) => {
            c.check_rules(&registry)?;
            let overrides: Vec<_> = c
                .rules
                .iter()
                .filter(|o| {
                    let blocker = registry.get(&o.id).is_some_and(|r| {
                        r.severity == Severity::Blocker
                            || r.mau_billing_severity == Some(Severity::Blocker)
                    });
                    let weakens = o.disable || o.severity.is_some_and(|s| s < Severity::Blocker);
                    let skip = keep_blockers && blocker && weakens;
                    if skip {
                        warnings.push(format!(
                            "the plan ignores [rules.{}] of {}: it would let accounts a blocker stops into the plan",
                            o.id,
                            c.path.display()
                        ));
                    }
                    !skip
                })
                .cloned()
                .collect();
            config::apply_rule_overrides(&mut registry, &overrides)
        }
        None => Vec::new(),
    };
    Ok((registry, disabled, warnings))
}

/// Loads the config and the rules and scans for a plan.
pub fn scan_for_plan(snapshot: &Path, inputs: &ScanInputs) -> Result<ScanResult, Error> {
    let config = load_config(inputs)?;
    scan_configured(snapshot, inputs, config.as_ref(), true)
}

fn scan_configured(
    snapshot: &Path,
    inputs: &ScanInputs,
    config: Option<&Config>,
    keep_blockers: bool,
) -> Result<ScanResult, Error> {
    let (registry, disabled, warnings) = registry(inputs, config, keep_blockers)?;
    let mut result = scan::run(snapshot, registry, options(inputs, config)?)?;
    result.warnings.extend(warnings);
    result.review.config = config.map(|c| c.path.clone());
    result.review.disabled = disabled;
    Ok(result)
}

/// Exceptions, baseline and threshold: what decides the exit code.
fn review(result: &mut ScanResult, args: &ScanArgs, config: Option<&Config>) -> Result<(), Error> {
    let fail_on = args
        .fail_on
        .or(config.and_then(|c| c.fail_on))
        .unwrap_or(FailOn::Blocker);
    result.review.threshold = fail_on.threshold();
    result.review.fail_on_not_evaluated = !args.no_fail_on_not_evaluated
        && (args.fail_on_not_evaluated
            || config
                .and_then(|c| c.fail_on_not_evaluated)
                .unwrap_or(false));
    let listed = config.map(|c| c.exceptions.clone()).unwrap_or_default();
    if args.no_exceptions {
        result.review.exceptions_ignored = listed.len();
    } else {
        exceptions::apply(result, listed, exceptions::today());
    }
    if let Some(path) = &args.baseline {
        baseline::apply(result, path)?;
    }
    review::finish(result);
    Ok(())
}

fn renderers(formats: &[Format]) -> Vec<(&'static str, Renderer)> {
    formats
        .iter()
        .flat_map(|f| -> Vec<(&'static str, Renderer)> {
            match f {
                Format::Table | Format::Github => vec![],
                Format::Json => vec![("findings.json", report::json::render)],
                Format::Csv => vec![
                    ("findings.csv", report::csv::render_findings),
                    ("verdicts.csv", report::csv::render_verdicts),
                ],
                Format::Html => vec![("report.html", report::html::render)],
                Format::Sarif => vec![("findings.sarif", report::sarif::render)],
                Format::Junit => vec![("junit.xml", report::junit::render)],
                Format::Markdown => vec![("summary.md", report::markdown::render)],
            }
        })
        .collect()
}

pub fn run(args: ScanArgs) -> Result<u8, Error> {
    let config = load_config(&args.inputs)?;
    let mut result = scan_configured(&args.snapshot, &args.inputs, config.as_ref(), false)?;
    review(&mut result, &args, config.as_ref())?;
    let mut stderr = std::io::stderr().lock();
    if !args.quiet {
        if let Some(c) = &config {
            let _ = writeln!(stderr, "config: {}", c.path.display());
        }
        for w in result
            .warnings
            .iter()
            .cloned()
            .chain(result.unused_exceptions())
        {
            let _ = writeln!(stderr, "warning: {w}");
        }
    }
    let mut formats = args.format.clone();
    formats.sort();
    formats.dedup();
    {
        let mut out = std::io::stdout().lock();
        if formats.contains(&Format::Table) && !args.quiet {
            report::table::render(&result, &mut out)?;
        }
        // Annotations are read by the runner from standard output, even with --quiet.
        if formats.contains(&Format::Github) {
            report::github::render(&result, args.annotations, &mut out)?;
        }
        out.flush().map_err(super::stdout_error)?;
    }
    // The files are independent: write them side by side.
    let files = renderers(&formats);
    let written = std::thread::scope(|s| {
        let jobs: Vec<_> = files
            .iter()
            .map(|(name, render)| {
                let result = &result;
                let out = &args.out;
                s.spawn(move || write_file(out, name, |w| render(result, w)))
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
    let code = result.exit_code();
    if !args.quiet {
        for path in written {
            let _ = writeln!(stderr, "wrote {}", path.display());
        }
        for reason in result.gate_reasons() {
            let _ = writeln!(stderr, "fails: {reason}");
        }
    }
    Ok(code)
}

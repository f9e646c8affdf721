//! `b2bready scan`: resolve the settings, run the pipeline, write the chosen outputs, exit by
//! the review.

use std::io::Write;

use crate::cli::ScanArgs;
use crate::error::Error;
use crate::output::{OutputError, write_file};
use crate::pipeline::{self, Purpose, Settings};
use crate::report::{self, Format};
use crate::scan::ScanResult;

type Renderer = Box<dyn Fn(&ScanResult, &mut dyn Write) -> Result<(), OutputError> + Sync>;

fn renderers(formats: &[Format], args: &ScanArgs) -> Vec<(&'static str, Renderer)> {
    let html_max = args.html_max_accounts;
    formats
        .iter()
        .flat_map(|f| -> Vec<(&'static str, Renderer)> {
            match f {
                Format::Table | Format::Github => vec![],
                Format::Json => vec![("findings.json", Box::new(report::json::render))],
                Format::Csv => vec![
                    ("findings.csv", Box::new(report::csv::render_findings)),
                    ("verdicts.csv", Box::new(report::csv::render_verdicts)),
                ],
                Format::Html => vec![(
                    "report.html",
                    Box::new(move |r: &ScanResult, w: &mut dyn Write| {
                        report::html::render(r, html_max, w)
                    }),
                )],
                Format::Sarif => vec![("findings.sarif", Box::new(report::sarif::render))],
                Format::Junit => vec![("junit.xml", Box::new(report::junit::render))],
                Format::Markdown => vec![("summary.md", Box::new(report::markdown::render))],
            }
        })
        .collect()
}

pub fn run(args: ScanArgs) -> Result<u8, Error> {
    let settings = Settings::resolve(&args.inputs, Some(&args.review))?;
    // The key is checked before the scan, so a missing one costs nothing.
    let redactor = args.redact.redactor(settings.config.as_ref())?;
    let mut result = pipeline::scan(&args.snapshot, &settings, Purpose::Review)?;
    let mut formats = args.format.clone();
    formats.sort();
    formats.dedup();
    // Files that list every finding or verdict read the accounts in id order.
    if formats
        .iter()
        .any(|f| matches!(f, Format::Json | Format::Csv | Format::Html | Format::Sarif))
    {
        result.parts_mut().0.arrange();
    }
    if let Some(r) = &redactor {
        r.scan(&mut result);
    }
    // Standard error is locked only while writing to it: the report writers' threads print
    // their timings there.
    if !args.quiet {
        let mut stderr = std::io::stderr().lock();
        super::say_config_and_warnings(&result, &mut stderr);
        for w in result.unused_exceptions() {
            let _ = writeln!(stderr, "warning: {w}");
        }
    }
    {
        let mut out = std::io::stdout().lock();
        if formats.contains(&Format::Table) && !args.quiet {
            report::table::render(&result, &mut out).map_err(super::stdout_output)?;
        }
        // Annotations are read by the runner from standard output, even with --quiet.
        if formats.contains(&Format::Github) {
            report::github::render(&result, args.annotations, &mut out)
                .map_err(super::stdout_output)?;
        }
        out.flush().map_err(super::stdout_error)?;
    }
    let written = write_files(&result, &renderers(&formats, &args), &args.out)?;
    if !args.quiet {
        let mut stderr = std::io::stderr().lock();
        for path in written {
            let _ = writeln!(stderr, "wrote {}", path.display());
        }
        for reason in result.gate_reasons() {
            let _ = writeln!(stderr, "fails: {reason}");
        }
    }
    Ok(result.exit_code())
}

/// The files are independent: write them side by side.
fn write_files(
    result: &ScanResult,
    files: &[(&'static str, Renderer)],
    out: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>, OutputError> {
    std::thread::scope(|s| {
        let jobs: Vec<_> = files
            .iter()
            .map(|(name, render)| {
                s.spawn(move || {
                    let clock = crate::scan::Phases::start();
                    let written = write_file(out, name, |w| render(result, w));
                    clock.mark(&format!("write {name}"));
                    written
                })
            })
            .collect();
        jobs.into_iter()
            .map(|j| {
                j.join().unwrap_or_else(|_| {
                    Err(OutputError::Render {
                        what: "reports".into(),
                        message: "a renderer stopped unexpectedly".into(),
                    })
                })
            })
            .collect()
    })
}

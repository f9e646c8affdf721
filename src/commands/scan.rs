//! `b2bready scan`: resolve the settings, run the pipeline, write the chosen outputs, exit by
//! the review.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::ScanArgs;
use crate::error::Error;
use crate::output::{OutputError, write_file, write_pair};
use crate::pipeline::{self, Purpose, Settings};
use crate::report::{self, Format};
use crate::scan::ScanResult;

type Renderer = dyn Fn(&ScanResult, &mut dyn Write) -> Result<(), OutputError> + Sync;

/// Writes its files into the folder it is given and returns their paths.
type Job = Box<dyn Fn(&ScanResult, &Path) -> Result<Vec<PathBuf>, OutputError> + Sync>;

/// A job writing the one file `name`.
fn one(name: &'static str, render: Box<Renderer>) -> (&'static str, Job) {
    let job =
        move |r: &ScanResult, out: &Path| write_file(out, name, |w| render(r, w)).map(|p| vec![p]);
    (name, Box::new(job))
}

/// findings.json and findings.csv in one pass over the findings, each worked out once.
fn findings_json_and_csv() -> (&'static str, Job) {
    let job = |r: &ScanResult, out: &Path| {
        let names = ["findings.json", "findings.csv"];
        let written = write_pair(out, names, |json, csv| {
            report::json::render_with_csv(r, json, Some(csv))
        })?;
        Ok(written.to_vec())
    };
    ("findings.json + findings.csv", Box::new(job))
}

fn jobs(formats: &[Format], args: &ScanArgs) -> Vec<(&'static str, Job)> {
    let html_max = args.html_max_accounts;
    let both = formats.contains(&Format::Json) && formats.contains(&Format::Csv);
    let mut jobs = Vec::new();
    if both {
        jobs.push(findings_json_and_csv());
    }
    for f in formats {
        match f {
            Format::Table | Format::Github => {}
            Format::Json if both => {}
            Format::Json => jobs.push(one("findings.json", Box::new(report::json::render))),
            Format::Csv => {
                if !both {
                    jobs.push(one("findings.csv", Box::new(report::csv::render_findings)));
                }
                jobs.push(one("verdicts.csv", Box::new(report::csv::render_verdicts)));
            }
            Format::Html => jobs.push(one(
                "report.html",
                Box::new(move |r: &ScanResult, w: &mut dyn Write| {
                    report::html::render(r, html_max, w)
                }),
            )),
            Format::Sarif => jobs.push(one("findings.sarif", Box::new(report::sarif::render))),
            Format::Junit => jobs.push(one("junit.xml", Box::new(report::junit::render))),
            Format::Markdown => jobs.push(one("summary.md", Box::new(report::markdown::render))),
        }
    }
    jobs
}

pub fn run(args: ScanArgs) -> Result<u8, Error> {
    let settings = Settings::resolve(&args.inputs, Some(&args.review))?;
    // The key is checked before the scan, so a missing one costs nothing.
    let redactor = args.redact.redactor(settings.config.as_ref())?;
    let mut result = pipeline::scan(&args.snapshot, &settings, Purpose::Review)?;
    let mut formats = args.format.clone();
    formats.sort();
    formats.dedup();
    // Files that list every finding or verdict read the accounts in id order, and show no
    // others.
    if formats
        .iter()
        .any(|f| matches!(f, Format::Json | Format::Csv | Format::Html | Format::Sarif))
    {
        result.parts_mut().0.keep_listed();
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
    let written = write_files(&result, &jobs(&formats, &args), &args.out)?;
    if !args.quiet {
        let mut stderr = std::io::stderr().lock();
        for path in written {
            let _ = writeln!(stderr, "wrote {}", path.display());
        }
        for reason in result.gate_reasons() {
            let _ = writeln!(stderr, "fails: {reason}");
        }
    }
    let code = result.exit_code();
    // Everything the scan holds (every account's columns, a list per verdict) is let go on a
    // thread of its own: a command line ends without waiting a tenth of a second for it.
    let freeing = std::thread::Builder::new().spawn(move || drop(result));
    // Without a thread, the memory is freed here, as it would have been.
    drop(freeing);
    Ok(code)
}

/// The files are independent: write them side by side.
fn write_files(
    result: &ScanResult,
    jobs: &[(&'static str, Job)],
    out: &Path,
) -> Result<Vec<PathBuf>, OutputError> {
    let clock = crate::scan::Phases::start();
    let written = std::thread::scope(|s| {
        let running: Vec<_> = jobs
            .iter()
            .map(|(name, job)| {
                s.spawn(move || {
                    let clock = crate::scan::Phases::start();
                    let written = job(result, out);
                    clock.mark(&format!("write {name}"));
                    written
                })
            })
            .collect();
        let mut written = Vec::new();
        for j in running {
            let paths = j.join().unwrap_or_else(|_| {
                Err(OutputError::Render {
                    what: "reports".into(),
                    message: "a renderer stopped unexpectedly".into(),
                })
            })?;
            written.extend(paths);
        }
        Ok(written)
    });
    clock.mark("write, all files");
    written
}

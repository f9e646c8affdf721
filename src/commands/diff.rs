//! `b2bready diff OLD NEW`: read or scan both sides, compare, print and write what changed.

use std::io::Write;
use std::path::Path;

use crate::cli::{DiffArgs, DiffFormat};
use crate::diff::{self, Diff, Side, render};
use crate::error::Error;
use crate::output::{OutputError, write_file};
use crate::pipeline::{self, Purpose, Settings};

type Render = fn(&Diff, &mut dyn Write) -> Result<(), OutputError>;

/// A findings.json file is read; a folder is scanned as a snapshot with the given settings.
fn side(path: &Path, settings: &Settings) -> Result<Side, Error> {
    if path.is_file() {
        return Ok(Side::from_findings(path)?);
    }
    let result = pipeline::scan(path, settings, Purpose::Plan)?;
    Ok(Side::from_scan(&result))
}

pub fn run(args: DiffArgs) -> Result<u8, Error> {
    let settings = Settings::resolve(&args.inputs, None)?;
    let redactor = args.redact.redactor(settings.config.as_ref())?;
    let mut old = side(&args.old, &settings)?;
    let mut new = side(&args.new, &settings)?;
    if let Some(r) = &redactor {
        old.redact(r);
        new.redact(r);
    }
    let d = diff::compare(old, new)?;
    let mut formats = args.format.clone();
    formats.sort();
    formats.dedup();
    if formats.contains(&DiffFormat::Table) && !args.quiet {
        let mut out = std::io::stdout().lock();
        render::terminal(&d, &mut out).map_err(super::stdout_output)?;
        out.flush().map_err(super::stdout_error)?;
    }
    let files = formats.iter().filter_map(|f| -> Option<(&str, Render)> {
        match f {
            DiffFormat::Table => None,
            DiffFormat::Json => Some(("diff.json", render::json)),
            DiffFormat::Csv => Some(("diff.csv", render::csv)),
            DiffFormat::Markdown => Some(("diff.md", render::markdown)),
        }
    });
    for (name, render) in files {
        let path = write_file(&args.out, name, |w| render(&d, w))?;
        if !args.quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    let regressed = d.ready_now_blocked();
    if args.fail_on_new_blockers && regressed > 0 {
        if !args.quiet {
            eprintln!(
                "fails: {regressed} account{} ready before {} blocked now",
                crate::scan::review::plural(regressed),
                if regressed == 1 { "is" } else { "are" }
            );
        }
        return Ok(1);
    }
    Ok(0)
}

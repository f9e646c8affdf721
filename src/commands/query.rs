//! `b2bready query SNAPSHOT SQL`: scan, run the query over the scan's tables, print the result.

use std::io::Write;

use crate::cli::{QueryArgs, QueryFormat};
use crate::error::Error;
use crate::pipeline::{self, Purpose, Settings};
use crate::query::{self, output};

pub fn run(args: QueryArgs) -> Result<u8, Error> {
    let settings = Settings::resolve(&args.inputs, Some(&args.review))?;
    let mut result = pipeline::scan(&args.snapshot, &settings, Purpose::Review)?;
    // Tables list accounts as the outputs do: judged ones first, by id.
    result.parts_mut().0.arrange();
    let frame = query::run(&result, &args.sql)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        QueryFormat::Table => output::table(&frame, &mut out),
        QueryFormat::Csv => output::csv(&frame, &mut out),
        QueryFormat::Json => output::json(&frame, &mut out),
    }
    .map_err(super::stdout_output)?;
    out.flush().map_err(super::stdout_error)?;
    Ok(0)
}

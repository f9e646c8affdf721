//! CSV for people: every cell formula-safe, columns of equal length written by polars.

use std::io::Write;

use polars::prelude::{
    Column, CsvWriter, DataFrame, IntoColumn, NewChunkedArray, PlSmallStr, SerWriter, StringChunked,
};

use super::OutputError;

/// Makes a value safe for a spreadsheet cell: a leading `=`, `+`, `-`, `@`, tab or carriage
/// return would make Excel or LibreOffice run it as a formula, so it gets a `'` in front.
pub fn formula_safe(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with([
        '=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
    ]) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// A text column of formula-safe cells.
pub fn column<'a>(name: &str, values: impl Iterator<Item = Option<&'a str>>) -> Column {
    StringChunked::from_iter_options(PlSmallStr::from(name), values.map(|v| v.map(formula_safe)))
        .into_column()
}

/// Turns a polars error into a render error of `what`.
pub fn render_error(what: &str) -> impl Fn(polars::prelude::PolarsError) -> OutputError + '_ {
    move |e| OutputError::Render {
        what: what.into(),
        message: e.to_string(),
    }
}

/// Writes columns of equal length as one CSV file.
pub fn write_columns(
    columns: Vec<Column>,
    out: &mut dyn Write,
    what: &str,
) -> Result<(), OutputError> {
    let df = DataFrame::new_infer_height(columns).map_err(render_error(what))?;
    write_frame(df, out, what)
}

/// Writes a frame with its header.
pub fn write_frame(df: DataFrame, out: &mut dyn Write, what: &str) -> Result<(), OutputError> {
    write_rows(df, out, what, true)
}

/// Writes a frame's rows, after the header when `header`.
pub fn write_rows(
    mut df: DataFrame,
    out: &mut dyn Write,
    what: &str,
    header: bool,
) -> Result<(), OutputError> {
    CsvWriter::new(out)
        .include_header(header)
        .finish(&mut df)
        .map_err(render_error(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "＝1"] {
            assert!(formula_safe(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(formula_safe("ana@adatum.com"), "ana@adatum.com");
        assert_eq!(formula_safe(""), "");
    }
}

//! CSV for people: every cell formula-safe, columns of equal length written by the `csv` crate.
//! A file starts with a UTF-8 byte order mark: without one, Excel on Windows reads it in the
//! ANSI code page and mangles every name outside ASCII. Standard output gets none, since what
//! reads a pipe is a program.

use std::borrow::Cow;
use std::io::Write;

use super::OutputError;

/// Makes a value safe for a spreadsheet cell: a leading `=`, `+`, `-`, `@`, tab or carriage
/// return would make Excel or LibreOffice run it as a formula, so it gets a `'` in front.
pub fn formula_safe(value: &str) -> Cow<'_, str> {
    // Most cells start with a byte that begins none of them (the full-width forms all start
    // with 0xEF in UTF-8).
    let risky = |b: &u8| matches!(b, b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | 0xEF);
    if !value.as_bytes().first().is_some_and(risky) {
        return value.into();
    }
    if value.starts_with([
        '=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
    ]) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// A named column of formula-safe cells; a missing value is an empty cell.
pub struct Column<'a> {
    name: &'a str,
    cells: Vec<Option<Cow<'a, str>>>,
}

/// A text column of formula-safe cells.
pub fn column<'a>(name: &'a str, values: impl Iterator<Item = Option<&'a str>>) -> Column<'a> {
    Column {
        name,
        cells: values.map(|v| v.map(formula_safe)).collect(),
    }
}

/// Where rows go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The start of a file: byte order mark, then header.
    File,
    /// The start of standard output: header only.
    Stream,
    /// After earlier rows of the same file: rows only.
    Continued,
}

/// Writes columns of equal length as one CSV file.
pub fn write_columns(
    columns: Vec<Column<'_>>,
    out: &mut dyn Write,
    what: &str,
) -> Result<(), OutputError> {
    write_rows(&columns, out, what, Start::File)
}

/// Writes columns of equal length to standard output.
pub fn stream_columns(
    columns: Vec<Column<'_>>,
    out: &mut dyn Write,
    what: &str,
) -> Result<(), OutputError> {
    write_rows(&columns, out, what, Start::Stream)
}

fn csv_error(what: &str) -> impl Fn(csv::Error) -> OutputError + '_ {
    move |e| match e.into_kind() {
        csv::ErrorKind::Io(e) => OutputError::Write(e),
        other => OutputError::Render {
            what: what.into(),
            message: format!("{other:?}"),
        },
    }
}

/// A CSV writer as every file here is written: rows end in `\n`.
pub fn row_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out)
}

/// Appends one cell exactly as [`row_writer`] writes it: in quotes, each quote doubled, when
/// it holds a comma, a quote or a line break; as it is otherwise. For rows assembled by hand,
/// millions at a time.
pub fn push_field(buf: &mut Vec<u8>, cell: &[u8]) {
    // One pass with no early exit, into a byte: the compiler checks many bytes at a time
    // (folded into a `bool`, the four comparisons are made byte by byte).
    let special = cell.iter().fold(0u8, |any, &b| {
        any | u8::from((b == b',') | (b == b'"') | (b == b'\n') | (b == b'\r'))
    });
    if special == 0 {
        buf.extend_from_slice(cell);
        return;
    }
    buf.push(b'"');
    push_quotes_doubled(buf, cell);
    buf.push(b'"');
}

/// Appends `text` with each quote doubled, the quotes found with memchr (a cell of JSON holds
/// dozens of them).
pub fn push_quotes_doubled(buf: &mut Vec<u8>, text: &[u8]) {
    let mut start = 0;
    for quote in memchr::memchr_iter(b'"', text) {
        buf.extend_from_slice(&text[start..=quote]);
        buf.push(b'"');
        start = quote + 1;
    }
    buf.extend_from_slice(&text[start..]);
}

/// Writes one row of cells (already formula-safe).
pub fn write_record<W: Write, C: AsRef<[u8]>>(
    writer: &mut csv::Writer<W>,
    cells: impl IntoIterator<Item = C>,
    what: &str,
) -> Result<(), OutputError> {
    writer.write_record(cells).map_err(csv_error(what))
}

/// Writes what `start` asks for in front of the rows: the byte order mark, the header.
pub fn start(
    out: &mut dyn Write,
    names: &[&str],
    start: Start,
    what: &str,
) -> Result<(), OutputError> {
    if start == Start::File {
        out.write_all("\u{FEFF}".as_bytes())?;
    }
    if start != Start::Continued {
        let mut writer = row_writer(&mut *out);
        write_record(&mut writer, names, what)?;
        writer.flush()?;
    }
    Ok(())
}

/// Writes the rows the columns hold, with what `start` asks for in front of them.
pub fn write_rows(
    columns: &[Column<'_>],
    out: &mut dyn Write,
    what: &str,
    start: Start,
) -> Result<(), OutputError> {
    let rows = columns.first().map_or(0, |c| c.cells.len());
    if let Some(c) = columns.iter().find(|c| c.cells.len() != rows) {
        return Err(OutputError::Render {
            what: what.into(),
            message: format!("column {} has {} rows, not {rows}", c.name, c.cells.len()),
        });
    }
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    self::start(out, &names, start, what)?;
    let mut writer = row_writer(out);
    for row in 0..rows {
        let cells = columns
            .iter()
            .map(|c| c.cells[row].as_deref().unwrap_or(""));
        write_record(&mut writer, cells, what)?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(start: Start) -> String {
        let mut out = Vec::new();
        let columns = [
            column("name", [Some("Zoë"), None].into_iter()),
            column("note", [Some("a, \"b\"\nc"), Some("=1")].into_iter()),
        ];
        write_rows(&columns, &mut out, "test", start).expect("write");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn files_start_with_a_byte_order_mark_and_streams_do_not() {
        let rows = "Zoë,\"a, \"\"b\"\"\nc\"\n,'=1\n";
        assert_eq!(written(Start::File), format!("\u{FEFF}name,note\n{rows}"));
        assert_eq!(written(Start::Stream), format!("name,note\n{rows}"));
        assert_eq!(written(Start::Continued), rows);
    }

    #[test]
    fn cells_pushed_by_hand_are_what_the_csv_writer_writes() {
        let cells: [&[u8]; 13] = [
            b"plain",
            b"",
            b"a,b",
            b"say \"hi\"",
            b"\"",
            b"\"\"x\"",
            b"line\nbreak",
            b"cr\rhere",
            b"'=1",
            "Zoë 😀".as_bytes(),
            b" spaced ",
            b"#comment",
            b"tab\there",
        ];
        let mut by_hand = Vec::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                by_hand.push(b',');
            }
            push_field(&mut by_hand, cell);
        }
        by_hand.push(b'\n');
        let mut written = Vec::new();
        let mut w = row_writer(&mut written);
        write_record(&mut w, cells, "test").expect("write");
        w.flush().expect("flush");
        drop(w);
        assert_eq!(
            String::from_utf8_lossy(&by_hand),
            String::from_utf8_lossy(&written)
        );
    }

    #[test]
    fn columns_of_unequal_length_are_refused() {
        let columns = [
            column("a", [Some("1")].into_iter()),
            column("b", [].into_iter()),
        ];
        let e = write_rows(&columns, &mut Vec::new(), "x.csv", Start::File);
        assert!(e.is_err_and(|e| e.to_string().contains("column b has 0 rows")));
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in [
            "=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "＝1", "＋1", "－1", "＠x",
        ] {
            assert!(formula_safe(bad).starts_with('\''), "{bad:?}");
        }
        // Other characters whose UTF-8 starts with the full-width forms' first byte pass.
        for good in ["ana@adatum.com", "", "ｱﾅ", "\u{FEFF}x", "x=1"] {
            assert_eq!(formula_safe(good), good);
        }
    }
}

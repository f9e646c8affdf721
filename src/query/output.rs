//! A query's result on standard output: a table (tabled), CSV (formula-safe, no byte order mark
//! on a stream) or JSON (an array of objects with typed values).

use std::borrow::Cow;
use std::io::Write;

use polars::prelude::{AnyValue, DataFrame};
use tabled::builder::Builder;
use tabled::settings::Style;

use crate::output::OutputError;
use crate::output::csv::{Start, column, write_rows};
use crate::report::table::printable;

/// Rows drawn as a table; CSV and JSON hold every row.
pub const TABLE_ROWS: usize = 10_000;

fn cell<'a>(df: &'a DataFrame, c: usize, row: usize) -> AnyValue<'a> {
    df.columns()[c].get(row).unwrap_or(AnyValue::Null)
}

fn text(v: &AnyValue<'_>) -> Option<Cow<'static, str>> {
    match v {
        AnyValue::Null => None,
        AnyValue::String(s) => Some(Cow::Owned((*s).to_owned())),
        AnyValue::StringOwned(s) => Some(Cow::Owned(s.to_string())),
        other => Some(Cow::Owned(other.to_string())),
    }
}

pub fn table(df: &DataFrame, out: &mut dyn Write) -> Result<(), OutputError> {
    let mut b = Builder::default();
    b.push_record(df.get_column_names().iter().map(|n| n.to_string()));
    for row in 0..df.height().min(TABLE_ROWS) {
        b.push_record(
            (0..df.width())
                .map(|c| text(&cell(df, c, row)).map_or_else(String::new, |t| printable(&t))),
        );
    }
    let mut t = b.build();
    t.with(Style::rounded());
    writeln!(out, "{t}")?;
    let rows = df.height();
    if rows > TABLE_ROWS {
        writeln!(
            out,
            "{rows} rows; the first {TABLE_ROWS} are shown: --format csv or json gives them all"
        )?;
    } else {
        writeln!(out, "{rows} row{}", if rows == 1 { "" } else { "s" })?;
    }
    Ok(())
}

pub fn csv(df: &DataFrame, out: &mut dyn Write) -> Result<(), OutputError> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let values: Vec<Vec<Option<Cow<'static, str>>>> = (0..df.width())
        .map(|c| (0..df.height()).map(|r| text(&cell(df, c, r))).collect())
        .collect();
    let columns: Vec<_> = names
        .iter()
        .zip(&values)
        .map(|(n, v)| column(n, v.iter().map(|x| x.as_deref())))
        .collect();
    write_rows(&columns, out, "the query's CSV", Start::Stream)
}

fn json_value(v: &AnyValue<'_>) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        AnyValue::Int8(i) => (*i).into(),
        AnyValue::Int16(i) => (*i).into(),
        AnyValue::Int32(i) => (*i).into(),
        AnyValue::Int64(i) => (*i).into(),
        AnyValue::UInt8(i) => (*i).into(),
        AnyValue::UInt16(i) => (*i).into(),
        AnyValue::UInt32(i) => (*i).into(),
        AnyValue::UInt64(i) => (*i).into(),
        AnyValue::Float32(f) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(Value::Null, Value::Number)
        }
        AnyValue::Float64(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        other => text(other).map_or(Value::Null, |t| Value::String(t.into_owned())),
    }
}

/// One row as a JSON object, its keys in the order of the query's columns.
struct Row<'a> {
    df: &'a DataFrame,
    names: &'a [String],
    row: usize,
}

impl serde::Serialize for Row<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.names.len()))?;
        for (c, name) in self.names.iter().enumerate() {
            map.serialize_entry(name, &json_value(&cell(self.df, c, self.row)))?;
        }
        map.end()
    }
}

pub fn json(df: &DataFrame, out: &mut dyn Write) -> Result<(), OutputError> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    out.write_all(b"[")?;
    for row in 0..df.height() {
        out.write_all(if row == 0 { b"\n  " } else { b",\n  " })?;
        let value = Row {
            df,
            names: &names,
            row,
        };
        serde_json::to_writer(&mut *out, &value).map_err(|e| OutputError::Render {
            what: "the query's JSON".into(),
            message: e.to_string(),
        })?;
    }
    out.write_all(if df.height() == 0 { b"]\n" } else { b"\n]\n" })?;
    Ok(())
}

//! Each finding as its line in `findings.json` and its row in `findings.csv`, both assembled
//! from one working-out of the finding (message, fingerprint, evidence): a scan that writes
//! both files does that work once, and the CSV bytes go to their file on a thread of their own
//! while the JSON is written.
//!
//! The line is byte for byte what `serde_json` writes for a [`FindingDto`] (a test holds them
//! together); a string that needs no escaping is copied as it is, the others go through
//! `serde_json`.

use std::borrow::Cow;
use std::io::Write;
use std::sync::mpsc::sync_channel;

use super::json::{Evidence, FindingDto, finding};
use crate::model::Cell;
use crate::output::OutputError;
use crate::output::csv::{Start, formula_safe, push_field, push_quotes_doubled, start};
use crate::scan::{Finding, ScanResult};

/// The columns of `findings.csv`, in order.
pub const CSV_COLUMNS: [&str; 15] = [
    "rule",
    "severity",
    "subject_type",
    "subject_id",
    "user_principal_name",
    "mail",
    "message",
    "evidence",
    "fingerprint",
    "fails",
    "accepted",
    "exception_reason",
    "exception_owner",
    "exception_expires",
    "baseline",
];

const CSV_FILE: &str = "findings.csv";

/// Appends `s` as a JSON string, exactly as `serde_json` writes it.
pub fn push_str(buf: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    let bytes = s.as_bytes();
    // One pass over every byte with no early exit, into a byte, which the compiler turns into
    // a loop over many bytes at a time: for the short strings of a finding, twice as fast as
    // searching for each kind of byte in turn.
    let escaped = bytes.iter().fold(0u8, |any, &b| {
        any | u8::from((b < 0x20) | (b == b'"') | (b == b'\\'))
    });
    if escaped != 0 {
        return serde_json::to_writer(buf, s);
    }
    buf.push(b'"');
    buf.extend_from_slice(bytes);
    buf.push(b'"');
    Ok(())
}

/// Appends `s` as a JSON string, or `null`.
pub fn push_opt(buf: &mut Vec<u8>, s: Option<&str>) -> serde_json::Result<()> {
    match s {
        Some(s) => push_str(buf, s),
        None => {
            buf.extend_from_slice(b"null");
            Ok(())
        }
    }
}

fn push_bool(buf: &mut Vec<u8>, b: bool) {
    buf.extend_from_slice(if b { b"true" } else { b"false" });
}

/// Appends the evidence as a JSON object, its columns in order.
pub fn push_evidence(buf: &mut Vec<u8>, evidence: &Evidence<'_>) -> serde_json::Result<()> {
    push_evidence_to(buf, None, evidence)
}

/// Appends the evidence as a JSON object to `json` and, given `csv`, the same object as one
/// CSV field to it, as [`push_field`] would write it (in quotes, each quote doubled), made as
/// the object is, not searched for quotes afterwards: an evidence object holds dozens.
fn push_evidence_to(
    json: &mut Vec<u8>,
    mut csv: Option<&mut Vec<u8>>,
    evidence: &Evidence<'_>,
) -> serde_json::Result<()> {
    json.push(b'{');
    let mut empty = true;
    for (name, cell) in evidence.cells() {
        if !empty {
            json.push(b',');
        }
        let at = json.len();
        push_str(json, name)?;
        if let Some(csv) = csv.as_deref_mut() {
            csv.extend_from_slice(if empty { b"\"{" } else { b"," });
            push_doubled(csv, &json[at..], name.len());
        }
        json.push(b':');
        let at = json.len();
        match cell {
            Cell::Null => json.extend_from_slice(b"null"),
            Cell::Text(t) => push_str(json, t)?,
            Cell::Bool(b) => push_bool(json, b),
            Cell::Int(i) => serde_json::to_writer(&mut *json, &i)?,
        }
        if let Some(csv) = csv.as_deref_mut() {
            csv.push(b':');
            match cell {
                Cell::Text(t) => push_doubled(csv, &json[at..], t.len()),
                _ => csv.extend_from_slice(&json[at..]),
            }
        }
        empty = false;
    }
    json.push(b'}');
    if let Some(csv) = csv {
        // `{}` holds nothing a CSV field quotes.
        csv.extend_from_slice(if empty { b"{}" } else { b"}\"" });
    }
    Ok(())
}

/// Appends the JSON string `written` (made from `len` bytes of text) with its quotes doubled.
fn push_doubled(csv: &mut Vec<u8>, written: &[u8], len: usize) {
    // As long as the text and its quotes: copied as it was, so no quote inside.
    if let Some(inner) = written.get(1..=len).filter(|_| written.len() == len + 2) {
        csv.extend_from_slice(b"\"\"");
        csv.extend_from_slice(inner);
        csv.extend_from_slice(b"\"\"");
        return;
    }
    push_quotes_doubled(csv, written);
}

/// Appends the finding's `findings.json` line, with its evidence already rendered.
pub fn push_line(buf: &mut Vec<u8>, f: &FindingDto<'_>, evidence: &[u8]) -> serde_json::Result<()> {
    buf.extend_from_slice(b"{\"rule\":");
    push_str(buf, f.rule)?;
    buf.extend_from_slice(b",\"severity\":");
    push_str(buf, f.severity)?;
    buf.extend_from_slice(b",\"subject\":{\"type\":");
    push_str(buf, f.subject.kind)?;
    buf.extend_from_slice(b",\"id\":");
    push_str(buf, f.subject.id)?;
    buf.extend_from_slice(b",\"userPrincipalName\":");
    push_opt(buf, f.subject.user_principal_name)?;
    buf.extend_from_slice(b",\"mail\":");
    push_opt(buf, f.subject.mail)?;
    buf.extend_from_slice(b"},\"message\":");
    push_str(buf, &f.message)?;
    buf.extend_from_slice(b",\"evidence\":");
    buf.extend_from_slice(evidence);
    buf.extend_from_slice(b",\"fingerprint\":");
    push_str(buf, f.fingerprint.as_str())?;
    buf.extend_from_slice(b",\"fails\":");
    push_bool(buf, f.fails);
    buf.extend_from_slice(b",\"accepted\":");
    push_bool(buf, f.accepted);
    if let Some(e) = &f.exception {
        buf.extend_from_slice(b",\"exception\":");
        serde_json::to_writer(&mut *buf, e)?;
    }
    if let Some(b) = f.baseline {
        buf.extend_from_slice(b",\"baseline\":");
        push_str(buf, b)?;
    }
    buf.push(b'}');
    Ok(())
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The finding's `findings.csv` cells, formula-safe, in the order of [`CSV_COLUMNS`]: those
/// before the evidence and those after it.
fn csv_cells<'a>(f: &'a FindingDto<'a>) -> ([Cow<'a, str>; 7], [Cow<'a, str>; 7]) {
    let text = |s: Option<&'a str>| formula_safe(s.unwrap_or(""));
    let exception = f.exception.as_ref();
    (
        [
            text(Some(f.rule)),
            text(Some(f.severity)),
            text(Some(f.subject.kind)),
            text(Some(f.subject.id)),
            text(f.subject.user_principal_name),
            text(f.subject.mail),
            text(Some(&f.message)),
        ],
        [
            text(Some(f.fingerprint.as_str())),
            text(Some(yes_no(f.fails))),
            text(Some(yes_no(f.accepted))),
            text(exception.map(|e| e.reason)),
            text(exception.and_then(|e| e.owner)),
            text(exception.and_then(|e| e.expires.as_deref())),
            text(f.baseline),
        ],
    )
}

/// Appends the finding's `findings.csv` row; `evidence` is its CSV field, already quoted (a
/// JSON object starts with `{`, never with what a spreadsheet takes for a formula).
fn push_row(csv: &mut Vec<u8>, f: &FindingDto<'_>, evidence: &[u8]) {
    let (before, after) = csv_cells(f);
    for cell in &before {
        push_field(csv, cell.as_bytes());
        csv.push(b',');
    }
    csv.extend_from_slice(evidence);
    for cell in &after {
        csv.push(b',');
        push_field(csv, cell.as_bytes());
    }
    csv.push(b'\n');
}

/// A chunk of findings rendered: the JSON lines (each after its separator), the CSV rows.
#[derive(Default)]
struct Rendered {
    json: Vec<u8>,
    csv: Vec<u8>,
}

fn render_chunk(
    result: &ScanResult,
    chunk: &[Finding],
    first: bool,
    json: bool,
    csv: bool,
) -> Result<Rendered, OutputError> {
    let json_error = |e| super::json::json_error(super::json::FILE, e);
    let mut out = Rendered::default();
    if json {
        out.json.reserve(chunk.len() * 768);
    }
    if csv {
        out.csv.reserve(chunk.len() * 512);
    }
    let mut evidence = Vec::with_capacity(256);
    let mut csv_evidence = Vec::with_capacity(if csv { 512 } else { 0 });
    for (k, f) in chunk.iter().enumerate() {
        let dto = finding(result, f);
        evidence.clear();
        csv_evidence.clear();
        let to_csv = csv.then_some(&mut csv_evidence);
        push_evidence_to(&mut evidence, to_csv, &dto.evidence).map_err(json_error)?;
        if json {
            let sep: &[u8] = if first && k == 0 {
                b"\n    "
            } else {
                b",\n    "
            };
            out.json.extend_from_slice(sep);
            push_line(&mut out.json, &dto, &evidence).map_err(json_error)?;
        }
        if csv {
            push_row(&mut out.csv, &dto, &csv_evidence);
        }
    }
    Ok(out)
}

/// Renders every finding (as JSON lines, CSV rows or both) and hands each chunk to `emit` in
/// order.
fn each_chunk(
    result: &ScanResult,
    json: bool,
    csv: bool,
    emit: impl FnMut(Rendered) -> Result<(), OutputError>,
) -> Result<(), OutputError> {
    let render = |chunk: &[Finding], first| render_chunk(result, chunk, first, json, csv);
    super::chunked(&result.findings, render, emit)
}

/// The elements of `findings.json`'s `findings` array (what goes between its brackets).
pub fn write_json(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    each_chunk(result, true, false, |r| Ok(out.write_all(&r.json)?))
}

/// The whole of `findings.csv`.
pub fn write_csv(result: &ScanResult, out: &mut dyn Write) -> Result<(), OutputError> {
    start(out, &CSV_COLUMNS, Start::File, CSV_FILE)?;
    each_chunk(result, false, true, |r| Ok(out.write_all(&r.csv)?))
}

/// `findings.json`'s findings to `json` and the whole of `findings.csv` to `csv` in one pass;
/// the CSV is written on a thread of its own.
pub fn write_both(
    result: &ScanResult,
    json: &mut dyn Write,
    csv: &mut (dyn Write + Send),
) -> Result<(), OutputError> {
    std::thread::scope(|s| {
        let (to_csv, rows) = sync_channel::<Vec<u8>>(super::CHUNKS_AT_A_TIME);
        let writer = s.spawn(move || -> Result<(), OutputError> {
            start(csv, &CSV_COLUMNS, Start::File, CSV_FILE)?;
            for buf in rows {
                csv.write_all(&buf)?;
            }
            Ok(())
        });
        let sent = each_chunk(result, true, true, |r| {
            json.write_all(&r.json)?;
            // A closed channel means the CSV writer stopped: its error is the one reported.
            to_csv.send(r.csv).map_err(|_| OutputError::Render {
                what: CSV_FILE.into(),
                message: "the writer stopped".into(),
            })
        });
        drop(to_csv);
        let written = writer.join().unwrap_or_else(|_| {
            Err(OutputError::Render {
                what: CSV_FILE.into(),
                message: "the writer stopped unexpectedly".into(),
            })
        });
        written.and(sent)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, StrColumn, Table};

    #[test]
    fn evidence_made_as_a_csv_field_is_what_quoting_the_json_gives() {
        let texts = [
            "plain",
            "a \"quoted\" word",
            "x,y",
            "two\nlines",
            "\u{1}",
            "",
        ];
        let mut text = StrColumn::default();
        for t in texts {
            text.push(Some(t));
        }
        text.push(None);
        let rows = texts.len() + 1;
        let table = Table {
            schema: &[],
            columns: vec![
                Column::Text(text),
                Column::Int((0..rows as i64).map(|i| Some(i - 3)).collect()),
                Column::Bool(
                    (0..rows)
                        .map(|i| (i % 3 != 0).then_some(i % 2 == 0))
                        .collect(),
                ),
            ],
        };
        let all = [
            ("with \"quote\"".to_owned(), 0),
            ("count".to_owned(), 1),
            ("flag".to_owned(), 2),
        ];
        for columns in [&all[..], &all[1..], &[]] {
            for row in 0..rows {
                let evidence = Evidence {
                    columns,
                    table: &table,
                    row,
                };
                let (mut json, mut csv) = (Vec::new(), Vec::new());
                push_evidence_to(&mut json, Some(&mut csv), &evidence).expect("evidence");
                let mut want = Vec::new();
                push_field(&mut want, &json);
                assert_eq!(
                    String::from_utf8_lossy(&csv),
                    String::from_utf8_lossy(&want),
                    "row {row}"
                );
                let mut alone = Vec::new();
                push_evidence(&mut alone, &evidence).expect("evidence");
                assert_eq!(alone, json);
            }
        }
    }
}

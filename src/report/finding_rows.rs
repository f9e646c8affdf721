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
use crate::output::csv::{Start, formula_safe, push_field, start};
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
    buf.push(b'{');
    for (i, (name, cell)) in evidence.cells().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_str(buf, name)?;
        buf.push(b':');
        match cell {
            Cell::Null => buf.extend_from_slice(b"null"),
            Cell::Text(t) => push_str(buf, t)?,
            Cell::Bool(b) => push_bool(buf, b),
            Cell::Int(i) => serde_json::to_writer(&mut *buf, &i)?,
        }
    }
    buf.push(b'}');
    Ok(())
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
    push_str(buf, &f.fingerprint)?;
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

/// The finding's `findings.csv` cells, formula-safe, in the order of [`CSV_COLUMNS`].
fn csv_cells<'a>(f: &'a FindingDto<'a>, evidence: &'a [u8]) -> [Cow<'a, [u8]>; 15] {
    let text = |s: Option<&'a str>| match formula_safe(s.unwrap_or("")) {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    };
    let exception = f.exception.as_ref();
    [
        text(Some(f.rule)),
        text(Some(f.severity)),
        text(Some(f.subject.kind)),
        text(Some(f.subject.id)),
        text(f.subject.user_principal_name),
        text(f.subject.mail),
        text(Some(&f.message)),
        // A JSON object: it starts with `{`, never with what a spreadsheet takes for a formula.
        Cow::Borrowed(evidence),
        text(Some(&f.fingerprint)),
        text(Some(yes_no(f.fails))),
        text(Some(yes_no(f.accepted))),
        text(exception.map(|e| e.reason)),
        text(exception.and_then(|e| e.owner)),
        text(exception.and_then(|e| e.expires.as_deref())),
        text(f.baseline),
    ]
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
    for (k, f) in chunk.iter().enumerate() {
        let dto = finding(result, f);
        evidence.clear();
        push_evidence(&mut evidence, &dto.evidence).map_err(json_error)?;
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
            for (i, cell) in csv_cells(&dto, &evidence).iter().enumerate() {
                if i > 0 {
                    out.csv.push(b',');
                }
                push_field(&mut out.csv, cell);
            }
            out.csv.push(b'\n');
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

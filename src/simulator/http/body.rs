//! Reading a request's body: its framing from `Transfer-Encoding` and `Content-Length`,
//! `Expect: 100-continue`, and the bytes themselves, by length or in chunks, never past the
//! limit.

use std::io::Read;
use std::net::TcpStream;

use super::Limits;
use super::connection::Reader;
use super::request::{Refusal, bad_request, read_line, values};
use super::response::send;

/// How the body is framed: in chunks, or as this many bytes.
enum Framing {
    Chunked,
    Length(u64),
}

/// The body the headers announce, read within the limit; a client that expects it is told to
/// go on first.
pub(super) fn read_body(
    reader: &mut Reader<'_>,
    headers: &[(String, String)],
    stream: &TcpStream,
    limits: &Limits,
) -> Result<Vec<u8>, Refusal> {
    let framing = framing(headers, limits)?;
    expect_continue(headers, &framing, stream, limits)?;
    match framing {
        Framing::Chunked => read_chunked(reader, limits),
        Framing::Length(length) => read_exactly(reader, length),
    }
}

/// The body's framing from `Transfer-Encoding` and `Content-Length`, a declared length
/// already checked against the limit.
fn framing(headers: &[(String, String)], limits: &Limits) -> Result<Framing, Refusal> {
    let chunked = match values(headers, "Transfer-Encoding").next() {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("chunked") => true,
        Some(_) => {
            return Err(Refusal::Answer(
                501,
                "NotImplemented",
                "Only the chunked transfer coding is understood.".into(),
            ));
        }
    };
    let mut length: Option<u64> = None;
    for v in values(headers, "Content-Length") {
        let n = v
            .parse::<u64>()
            .ok()
            .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| bad_request("Content-Length is not a number."))?;
        if length.is_some_and(|l| l != n) {
            return Err(bad_request(
                "The request has two different Content-Lengths.",
            ));
        }
        length = Some(n);
    }
    if chunked && length.is_some() {
        return Err(bad_request(
            "The request has both a Content-Length and a Transfer-Encoding.",
        ));
    }
    if chunked {
        return Ok(Framing::Chunked);
    }
    let length = length.unwrap_or(0);
    if length > limits.max_body {
        return Err(too_large(length, limits));
    }
    Ok(Framing::Length(length))
}

/// Refuses any `Expect` but `100-continue`, and answers that with `100 Continue` when a body
/// is to follow.
fn expect_continue(
    headers: &[(String, String)],
    framing: &Framing,
    stream: &TcpStream,
    limits: &Limits,
) -> Result<(), Refusal> {
    let expect = values(headers, "Expect").next();
    if expect.is_some_and(|v| !v.eq_ignore_ascii_case("100-continue")) {
        return Err(Refusal::Answer(
            417,
            "ExpectationFailed",
            "Only Expect: 100-continue is understood.".into(),
        ));
    }
    if expect.is_some() && !matches!(framing, Framing::Length(0)) {
        send(stream, limits, b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    Ok(())
}

fn too_large(length: u64, limits: &Limits) -> Refusal {
    Refusal::Answer(
        413,
        "RequestEntityTooLarge",
        format!(
            "The request body is {length} bytes or more; the simulator accepts at most {} bytes.",
            limits.max_body
        ),
    )
}

/// `length` bytes, already checked against the limit; reading through `take` stops there
/// whatever the client sends.
fn read_exactly(reader: &mut Reader<'_>, length: u64) -> Result<Vec<u8>, Refusal> {
    let mut body = Vec::new();
    reader.by_ref().take(length).read_to_end(&mut body)?;
    if body.len() as u64 != length {
        return Err(Refusal::Quietly);
    }
    Ok(body)
}

/// A chunked body: each chunk is checked against what is left of the limit before it is read,
/// and the trailer lines count against the head's budget.
fn read_chunked(reader: &mut Reader<'_>, limits: &Limits) -> Result<Vec<u8>, Refusal> {
    let mut body = Vec::new();
    loop {
        let too_long = || bad_request("A chunk size line is too long.");
        let line = read_line(reader, &mut 1024, too_long)?;
        let line = String::from_utf8_lossy(&line);
        let digits = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(digits, 16)
            .ok()
            .filter(|_| digits.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| bad_request("A chunk size is not a hexadecimal number."))?;
        if size == 0 {
            break;
        }
        let so_far = body.len() as u64;
        if so_far.saturating_add(size) > limits.max_body {
            return Err(too_large(so_far.saturating_add(size), limits));
        }
        body.extend(read_exactly(reader, size)?);
        let misplaced = || bad_request("A chunk does not end where its size says.");
        if !read_line(reader, &mut 2, misplaced)?.is_empty() {
            return Err(misplaced());
        }
    }
    let mut budget = limits.max_head as u64;
    let too_long = || bad_request("The trailer is too long.");
    while !read_line(reader, &mut budget, too_long)?.is_empty() {}
    Ok(body)
}

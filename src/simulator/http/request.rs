//! Reading a request's head: the request line and headers against the head's byte and line
//! budgets, then its body (see `body`); and the refusals that end a connection.

use std::io::{self, BufRead, Read};
use std::net::TcpStream;

use super::Limits;
use super::body::read_body;
use super::connection::Reader;

pub(super) struct Parsed {
    pub(super) method: String,
    pub(super) url: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    pub(super) keep_alive: bool,
}

pub(super) enum Refusal {
    /// The connection closed, broke or went quiet: nothing to answer.
    Quietly,
    /// An answer in Graph's error shape, after which the connection closes.
    Answer(u16, &'static str, String),
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Self {
        if matches!(
            e.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) {
            Refusal::Answer(
                408,
                "RequestTimeout",
                "The request did not arrive in time.".into(),
            )
        } else {
            Refusal::Quietly
        }
    }
}

pub(super) fn bad_request(message: &str) -> Refusal {
    Refusal::Answer(400, "BadRequest", message.to_owned())
}

/// Reads one request: line, headers and body, each within its limit.
pub(super) fn read_request(
    reader: &mut Reader<'_>,
    stream: &TcpStream,
    limits: &Limits,
) -> Result<Parsed, Refusal> {
    let lines = read_head(reader, limits)?;
    let (first, header_lines) = lines
        .split_first()
        .ok_or_else(|| bad_request("The request has no request line."))?;
    let (method, url, version) = request_line(first)?;
    let headers = header_lines
        .iter()
        .map(|l| header(l))
        .collect::<Result<Vec<_>, _>>()?;
    let close = values(&headers, "Connection")
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("close"));
    let keep_alive = version == "HTTP/1.1" && !close;
    let body = read_body(reader, &headers, stream, limits)?;
    Ok(Parsed {
        method: method.to_owned(),
        url: url.to_owned(),
        headers,
        body,
        keep_alive,
    })
}

/// The values of the headers named `name` (names compare without case), in order.
pub(super) fn values<'a>(
    headers: &'a [(String, String)],
    name: &str,
) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The request line and header lines, without their line ends, read against the byte and
/// line budgets.
fn read_head(reader: &mut Reader<'_>, limits: &Limits) -> Result<Vec<String>, Refusal> {
    let head_too_large = || {
        Refusal::Answer(
            431,
            "RequestHeaderFieldsTooLarge",
            format!(
                "The request line and headers exceed {} bytes or {} lines.",
                limits.max_head, limits.max_headers
            ),
        )
    };
    let mut budget = limits.max_head as u64;
    let mut lines = Vec::new();
    loop {
        let line = read_line(reader, &mut budget, head_too_large)?;
        if line.is_empty() {
            // Blank lines before a request line are tolerated, as RFC 9112 asks.
            if lines.is_empty() {
                continue;
            }
            return Ok(lines);
        }
        if lines.len() > limits.max_headers {
            return Err(head_too_large());
        }
        let text = String::from_utf8(line)
            .ok()
            .filter(|t| !t.bytes().any(|b| b.is_ascii_control() && b != b'\t'))
            .ok_or_else(|| bad_request("The request head holds bytes HTTP does not allow."))?;
        lines.push(text);
    }
}

/// A line without its line end, read against `budget`, which it uses up; `too_long` when the
/// budget runs out first.
pub(super) fn read_line(
    reader: &mut Reader<'_>,
    budget: &mut u64,
    too_long: impl Fn() -> Refusal,
) -> Result<Vec<u8>, Refusal> {
    let mut line = Vec::new();
    let n = reader.by_ref().take(*budget).read_until(b'\n', &mut line)?;
    *budget -= n as u64;
    if line.last() != Some(&b'\n') {
        return Err(if *budget == 0 {
            too_long()
        } else {
            Refusal::Quietly
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

/// Method, target and version.
fn request_line(line: &str) -> Result<(&str, &str, &str), Refusal> {
    let mut parts = line.split(' ');
    let (Some(method), Some(url), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad_request(
            "The request line is not METHOD TARGET VERSION.",
        ));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad_request("The request method is not valid."));
    }
    if !url.starts_with('/') || url.contains('\t') {
        return Err(bad_request("The request target must be a path."));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(Refusal::Answer(
            505,
            "HttpVersionNotSupported",
            "Only HTTP/1.1 and HTTP/1.0 are served.".into(),
        ));
    }
    Ok((method, url, version))
}

fn header(line: &str) -> Result<(String, String), Refusal> {
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| bad_request("A header line has no colon."))?;
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(bad_request("A header name is not valid."));
    }
    Ok((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()))
}

//! The simulator's HTTP/1.1 server. Whatever a client does, what it can make the server spend
//! is bounded by construction:
//!
//! - threads: a fixed pool of workers serves the connections, one each; a connection waiting
//!   for its next request gives its worker up as soon as another connection is waiting for one,
//!   so idle connections cannot starve a client that has something to ask;
//! - memory: the request line and headers are read against a byte budget, and a body only
//!   after its declared length has been checked against the limit, reading no more than that;
//! - time: every read and write has a deadline.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, MutexGuard, PoisonError, mpsc};
use std::time::{Duration, Instant};

use serde_json::json;

/// What a client may make the server spend.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Worker threads, so connections served at once.
    pub workers: usize,
    /// The request line and the headers together, in bytes.
    pub max_head: usize,
    /// Header lines per request.
    pub max_headers: usize,
    /// A request body, in bytes.
    pub max_body: u64,
    /// How long a connection may wait for its next request (or its first).
    pub idle: Duration,
    /// How long a request may take to arrive once its first byte has.
    pub request: Duration,
    /// How long an answer may take to be sent.
    pub write: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            workers: 32,
            max_head: 64 << 10,
            max_headers: 100,
            // A $batch of 20 per-user requests is a few kilobytes.
            max_body: 4 << 20,
            idle: Duration::from_secs(30),
            request: Duration::from_secs(10),
            write: Duration::from_secs(10),
        }
    }
}

/// A request, read whole, and the slot its answer goes into.
pub struct Request<'a> {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    reply: &'a mut Option<Reply>,
}

enum Reply {
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Bytes that are not HTTP, after which the connection is closed.
    Break(Vec<u8>),
}

impl Request<'_> {
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target: path and query.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The first header of that name (names compare without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub fn respond(self, status: u16, headers: &[(&str, &str)], body: Vec<u8>) {
        *self.reply = Some(Reply::Answer {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body,
        });
    }

    /// Answers with `bytes` as they are, then closes the connection: the client's connection
    /// fails as it does on a reset.
    pub fn break_connection(self, bytes: &[u8]) {
        *self.reply = Some(Reply::Break(bytes.to_vec()));
    }
}

pub struct Server {
    listener: TcpListener,
    limits: Limits,
}

impl Server {
    pub fn bind(addrs: &[SocketAddr], limits: Limits) -> io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addrs)?,
            limits,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the process ends: this thread accepts, the workers answer.
    pub fn run(self, handler: &(dyn Fn(Request<'_>) + Sync)) {
        let workers = self.limits.workers.max(1);
        let pool = Pool::new(workers);
        // At most one waiting connection per worker; beyond that the kernel's backlog holds
        // them.
        let (tx, rx) = mpsc::sync_channel::<TcpStream>(workers);
        let rx = Mutex::new(rx);
        std::thread::scope(|s| {
            for worker in 0..workers {
                let (pool, rx, limits) = (&pool, &rx, &self.limits);
                s.spawn(move || {
                    let mut evicted = false;
                    loop {
                        pool.waiting(evicted);
                        let next = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        let Ok(stream) = next else { return };
                        pool.took();
                        evicted = serve_connection(worker, &stream, pool, limits, handler);
                    }
                });
            }
            loop {
                let stream = match self.listener.accept() {
                    Ok((stream, _)) => stream,
                    // Out of descriptors, or a connection reset before it was accepted: wait
                    // a little rather than spin.
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                };
                pool.enqueue();
                if tx.send(stream).is_err() {
                    break;
                }
            }
        });
    }
}

/// Who is doing what: connections waiting for a worker, workers waiting for a connection, and
/// the connections that wait for their next request, which can be closed to make room.
struct Pool {
    state: Mutex<PoolState>,
}

struct PoolState {
    /// Accepted connections no worker has taken yet.
    queued: usize,
    /// Workers waiting for a connection.
    free: usize,
    /// Workers whose idle connection was closed, on their way back.
    evicted: usize,
    /// Per worker, the connection it holds while that waits for its next request.
    idle: Vec<Option<Idle>>,
}

struct Idle {
    since: Instant,
    stream: TcpStream,
}

impl Pool {
    fn new(workers: usize) -> Self {
        Self {
            state: Mutex::new(PoolState {
                queued: 0,
                free: 0,
                evicted: 0,
                idle: (0..workers).map(|_| None).collect(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection was accepted and waits: close the longest idle connections until every
    /// waiting connection has a worker coming for it.
    fn enqueue(&self) {
        let mut s = self.lock();
        s.queued += 1;
        while s.queued > s.free + s.evicted {
            let oldest = s
                .idle
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.as_ref().map(|c| (c.since, i)))
                .min()
                .map(|(_, i)| i);
            let Some(idle) = oldest.and_then(|i| s.idle[i].take()) else {
                break;
            };
            let _ = idle.stream.shutdown(Shutdown::Both);
            s.evicted += 1;
        }
    }

    /// A worker waits for a connection (back from one closed to make room, or not).
    fn waiting(&self, evicted: bool) {
        let mut s = self.lock();
        s.free += 1;
        if evicted {
            s.evicted -= 1;
        }
    }

    fn took(&self) {
        let mut s = self.lock();
        s.free -= 1;
        s.queued -= 1;
    }

    /// A worker's connection is about to wait for its next request. False when another
    /// connection is waiting for a worker: this one closes and makes room.
    fn go_idle(&self, worker: usize, stream: &TcpStream) -> bool {
        let mut s = self.lock();
        if s.queued > s.free + s.evicted {
            return false;
        }
        let Ok(stream) = stream.try_clone() else {
            return false;
        };
        s.idle[worker] = Some(Idle {
            since: Instant::now(),
            stream,
        });
        true
    }

    /// The wait for the next request is over. False when the connection was closed to make
    /// room.
    fn wake(&self, worker: usize) -> bool {
        self.lock().idle[worker].take().is_some()
    }
}

/// Reads from or writes to the connection, failing once the deadline has passed.
struct Timed<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

impl Timed<'_> {
    /// What is left until the deadline, or the error once it has passed.
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        Ok(left)
    }
}

impl Read for Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.left()?))?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}

impl Write for Timed<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.left()?))?;
        let mut stream = self.stream;
        stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sends `bytes` within the time an answer may take.
fn send(stream: &TcpStream, limits: &Limits, bytes: &[u8]) -> io::Result<()> {
    let mut out = Timed {
        stream,
        deadline: Instant::now() + limits.write,
    };
    out.write_all(bytes)
}

type Reader<'a> = BufReader<Timed<'a>>;

/// Answers the requests of one connection until it closes, fails, or gives its worker up.
/// True when it was closed to make room for another connection.
fn serve_connection(
    worker: usize,
    stream: &TcpStream,
    pool: &Pool,
    limits: &Limits,
    handler: &(dyn Fn(Request<'_>) + Sync),
) -> bool {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::with_capacity(
        16 << 10,
        Timed {
            stream,
            deadline: Instant::now() + limits.idle,
        },
    );
    loop {
        if reader.buffer().is_empty() {
            if !pool.go_idle(worker, stream) {
                return false;
            }
            reader.get_mut().deadline = Instant::now() + limits.idle;
            let ready = matches!(reader.fill_buf(), Ok(b) if !b.is_empty());
            if !pool.wake(worker) {
                return true;
            }
            if !ready {
                return false;
            }
        }
        reader.get_mut().deadline = Instant::now() + limits.request;
        let request = match read_request(&mut reader, stream, limits) {
            Ok(request) => request,
            Err(Refusal::Quietly) => return false,
            Err(Refusal::Answer(status, code, message)) => {
                write_error(stream, limits, status, code, &message);
                linger_close(&mut reader, stream);
                return false;
            }
        };
        if !answer(stream, limits, request, handler) {
            let _ = stream.shutdown(Shutdown::Both);
            return false;
        }
    }
}

/// Has the handler answer a request and sends the answer. True when the connection stays
/// open for the next request.
fn answer(
    stream: &TcpStream,
    limits: &Limits,
    request: Parsed,
    handler: &(dyn Fn(Request<'_>) + Sync),
) -> bool {
    let mut reply = None;
    // A handler that panics loses its request, not its worker.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        handler(Request {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
            reply: &mut reply,
        })
    }));
    match reply {
        Some(Reply::Answer {
            status,
            headers,
            body,
        }) => {
            let keep = request.keep_alive && ran.is_ok();
            write_answer(stream, limits, status, &headers, &body, keep).is_ok() && keep
        }
        Some(Reply::Break(bytes)) => {
            let _ = send(stream, limits, &bytes);
            false
        }
        None => {
            let message = "The simulator failed to answer this request.";
            write_error(stream, limits, 500, "InternalServerError", message);
            false
        }
    }
}

/// An answer in Graph's error shape, after which the connection closes.
fn write_error(stream: &TcpStream, limits: &Limits, status: u16, code: &str, message: &str) {
    let body = json!({"error": {"code": code, "message": message}}).to_string();
    let headers = [("Content-Type".to_owned(), "application/json".to_owned())];
    let _ = write_answer(stream, limits, status, &headers, body.as_bytes(), false);
}

/// After refusing a request whose body was not read: stop writing, then read and drop what
/// the client still sends, for a moment and up to a bound, so that closing does not reset the
/// connection before the client has read the answer.
fn linger_close(reader: &mut Reader<'_>, stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    reader.get_mut().deadline = Instant::now() + Duration::from_secs(1);
    let _ = io::copy(&mut reader.by_ref().take(1 << 20), &mut io::sink());
    let _ = stream.shutdown(Shutdown::Both);
}

struct Parsed {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    keep_alive: bool,
}

enum Refusal {
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

fn bad_request(message: &str) -> Refusal {
    Refusal::Answer(400, "BadRequest", message.to_owned())
}

/// Reads one request: line, headers and body, each within its limit.
fn read_request(
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
    let values = |name: &'static str| {
        headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let close = values("Connection")
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("close"));
    let keep_alive = version == "HTTP/1.1" && !close;
    let chunked = match values("Transfer-Encoding").next() {
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
    for v in values("Content-Length") {
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
    let length = length.unwrap_or(0);
    if length > limits.max_body {
        return Err(too_large(length, limits));
    }
    let expect = values("Expect").next();
    if expect.is_some_and(|v| !v.eq_ignore_ascii_case("100-continue")) {
        return Err(Refusal::Answer(
            417,
            "ExpectationFailed",
            "Only Expect: 100-continue is understood.".into(),
        ));
    }
    if expect.is_some() && (length > 0 || chunked) {
        send(stream, limits, b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let body = if chunked {
        read_chunked(reader, limits)?
    } else {
        read_exactly(reader, length)?
    };
    Ok(Parsed {
        method: method.to_owned(),
        url: url.to_owned(),
        headers,
        body,
        keep_alive,
    })
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
fn read_line(
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

/// Writes an answer; headers whose name or value could break the head are left out.
fn write_answer(
    stream: &TcpStream,
    limits: &Limits,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    keep_alive: bool,
) -> io::Result<()> {
    use std::fmt::Write as _;
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    let safe = |s: &str| !s.bytes().any(|b| b.is_ascii_control() || b == b':');
    for (k, v) in headers {
        if safe(k) && !v.bytes().any(|b| b.is_ascii_control()) {
            let _ = write!(head, "{k}: {v}\r\n");
        }
    }
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let _ = write!(
        head,
        "Content-Length: {}\r\nConnection: {connection}\r\n\r\n",
        body.len()
    );
    let mut message = head.into_bytes();
    message.extend_from_slice(body);
    send(stream, limits, &message)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

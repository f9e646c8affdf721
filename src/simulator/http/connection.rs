//! One connection: its reads and writes against deadlines, and the loop that serves its
//! requests one after another until it closes or gives its worker up.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use super::pool::Pool;
use super::request::{Parsed, Refusal, read_request};
use super::response::{send, write_answer, write_error};
use super::{Limits, Reply, Request};

/// Reads from or writes to the connection, failing once the deadline has passed.
pub(super) struct Timed<'a> {
    pub(super) stream: &'a TcpStream,
    pub(super) deadline: Instant,
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

pub(super) type Reader<'a> = BufReader<Timed<'a>>;

/// Answers the requests of one connection until it closes, fails, or gives its worker up.
/// True when it was closed to make room for another connection.
pub(super) fn serve_connection(
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

/// After refusing a request whose body was not read: stop writing, then read and drop what
/// the client still sends, for a moment and up to a bound, so that closing does not reset the
/// connection before the client has read the answer.
fn linger_close(reader: &mut Reader<'_>, stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    reader.get_mut().deadline = Instant::now() + Duration::from_secs(1);
    let _ = io::copy(&mut reader.by_ref().take(1 << 20), &mut io::sink());
    let _ = stream.shutdown(Shutdown::Both);
}

//! The simulator's HTTP/1.1 server. Whatever a client does, what it can make the server spend
//! is bounded by construction:
//!
//! - threads: a fixed pool of workers serves the connections, one each; a connection waiting
//!   for its next request gives its worker up as soon as another connection is waiting for one,
//!   so idle connections cannot starve a client that has something to ask;
//! - memory: the request line and headers are read against a byte budget, and a body only
//!   after its declared length has been checked against the limit, reading no more than that;
//! - time: every read and write has a deadline.
//!
//! This module owns the public types and the accept loop; `pool` decides which connection
//! holds a worker, `connection` serves one connection, `request` reads a request's head,
//! `body` its body, and `response` writes an answer.

mod body;
mod connection;
mod pool;
mod request;
mod response;

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::Duration;

use connection::serve_connection;
use pool::Pool;

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

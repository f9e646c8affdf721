//! The worker pool's books: which connections wait for a worker, which workers wait for a
//! connection, and which idle connections can be closed to make room.

use std::net::{Shutdown, TcpStream};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// Who is doing what: connections waiting for a worker, workers waiting for a connection, and
/// the connections that wait for their next request, which can be closed to make room.
pub(super) struct Pool {
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
    pub(super) fn new(workers: usize) -> Self {
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
    pub(super) fn enqueue(&self) {
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
    pub(super) fn waiting(&self, evicted: bool) {
        let mut s = self.lock();
        s.free += 1;
        if evicted {
            s.evicted -= 1;
        }
    }

    pub(super) fn took(&self) {
        let mut s = self.lock();
        s.free -= 1;
        s.queued -= 1;
    }

    /// A worker's connection is about to wait for its next request. False when another
    /// connection is waiting for a worker: this one closes and makes room.
    pub(super) fn go_idle(&self, worker: usize, stream: &TcpStream) -> bool {
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
    pub(super) fn wake(&self, worker: usize) -> bool {
        self.lock().idle[worker].take().is_some()
    }
}

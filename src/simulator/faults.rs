//! Faults the simulator injects, each counted over the requests it applies to, so a test can
//! say "throttle every third request" and get exactly that.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Debug, Default, clap::Args)]
pub struct Faults {
    /// Add this much latency to every Graph and ARM request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Answer every Nth request 429 Too Many Requests.
    #[arg(long, value_name = "N")]
    pub throttle_every: Option<u64>,
    /// The Retry-After header of those 429s: seconds, an HTTP date, or "none".
    #[arg(long, default_value = "1")]
    pub retry_after: String,
    /// Answer every Nth request 503 Service Unavailable (without Retry-After).
    #[arg(long, value_name = "N")]
    pub unavailable_every: Option<u64>,
    /// Close the connection without answering every Nth request.
    #[arg(long, value_name = "N")]
    pub drop_every: Option<u64>,
    /// The Nth request that carries a page token is refused once with
    /// Directory_ExpiredPageToken.
    #[arg(long, value_name = "N")]
    pub expire_page_token_at: Option<u64>,
    /// The Nth page of users is served once with its own address as the next link.
    #[arg(long, value_name = "N")]
    pub repeat_next_link_at: Option<u64>,
    /// Answer 403 Authorization_RequestDenied for this collection, for `userWrites` (changing,
    /// deleting and restoring users) or for `invitations`. Repeatable.
    #[arg(long, value_name = "COLLECTION")]
    pub deny: Vec<String>,
    /// Hold every Nth request for this many milliseconds before answering (a stalled
    /// connection, for client timeouts).
    #[arg(long, value_name = "N")]
    pub stall_every: Option<u64>,
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub stall_ms: u64,
    /// Answer every Nth request inside a `$batch` 429, in the batch's response.
    #[arg(long, value_name = "N")]
    pub batch_throttle_every: Option<u64>,
    /// Refuse the token of every Nth request as expired (401), whatever its stated lifetime.
    #[arg(long, value_name = "N")]
    pub expire_token_every: Option<u64>,
    /// Tokens expire after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3599)]
    pub token_lifetime: u64,
    /// Record every Nth invitation that takes effect, then close the connection without
    /// answering it (the client cannot tell whether it took effect).
    #[arg(long, value_name = "N")]
    pub drop_after_invite_every: Option<u64>,
    /// Record every Nth invitation that takes effect, then answer it 503 serviceNotAvailable.
    #[arg(long, value_name = "N")]
    pub unavailable_after_invite_every: Option<u64>,
    /// Every Nth invitation creates a new guest object instead of converting the account it
    /// names, as Graph does when sent a whole user object.
    #[arg(long, value_name = "N")]
    pub new_guest_every: Option<u64>,
    #[arg(skip)]
    pub expired_once: AtomicBool,
    #[arg(skip)]
    pub repeated_once: AtomicBool,
}

pub enum Fault {
    Throttle,
    Unavailable,
    Drop,
}

/// Whether `n` is a multiple of a fault's period (a period of 0 never is).
fn every(period: Option<u64>, n: u64) -> bool {
    period.is_some_and(|k| k > 0 && n.is_multiple_of(k))
}

impl Faults {
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }

    /// The fault for the `n`th (1-based) Graph or ARM request, if any.
    pub fn for_request(&self, n: u64) -> Option<Fault> {
        if every(self.drop_every, n) {
            Some(Fault::Drop)
        } else if every(self.throttle_every, n) {
            Some(Fault::Throttle)
        } else if every(self.unavailable_every, n) {
            Some(Fault::Unavailable)
        } else {
            None
        }
    }

    /// The fault for the `n`th invitation that took effect (already recorded), if any.
    pub fn after_invite(&self, n: u64) -> Option<Fault> {
        if every(self.drop_after_invite_every, n) {
            Some(Fault::Drop)
        } else if every(self.unavailable_after_invite_every, n) {
            Some(Fault::Unavailable)
        } else {
            None
        }
    }

    /// Whether the `n`th invitation checked creates a new guest whatever it names.
    pub fn new_guest_now(&self, n: u64) -> bool {
        every(self.new_guest_every, n)
    }

    pub fn expire_now(&self, nth_paged: u64) -> bool {
        self.expire_page_token_at == Some(nth_paged)
            && !self.expired_once.swap(true, Ordering::SeqCst)
    }

    pub fn repeat_now(&self, nth_users_page: u64) -> bool {
        self.repeat_next_link_at == Some(nth_users_page)
            && !self.repeated_once.swap(true, Ordering::SeqCst)
    }
}

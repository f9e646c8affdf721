//! Sending a request that must not take effect twice (an invitation). Retried only when it
//! certainly never took effect: the connection could not be made, the token was refused
//! (401), or Graph throttled it (429, which Graph answers before doing anything). Every other
//! failure (a timeout, a dropped connection, a 5xx) leaves the outcome unknown, and the
//! caller reads the object back before deciding to send again.

use std::sync::atomic::Ordering;

use serde_json::Value;

use super::client::{MAX_REFRESHES, Method, wait_of};
use super::transport::{describe, redact};
use super::{Client, GraphError, Resource};

/// What became of a request sent once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Graph answered with this status and body (a 5xx among them: its outcome is unknown).
    Status { status: u16, body: String },
    /// No answer came back after the request may have reached Graph.
    Unknown(String),
}

impl Client {
    /// POSTs `body` to a Graph URL at most once in effect (see the module's doc).
    pub fn post_once(&self, url: &str, body: &Value) -> Result<Answer, GraphError> {
        let mut refreshes = 0;
        let mut attempt = 0;
        loop {
            let token = self.auth.token(&self.http, Resource::Graph)?;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .request(Method::Post, url, Some(body))
                .bearer_auth(token.expose())
                .header("Accept", "application/json")
                .send();
            let response = match sent {
                Ok(response) => response,
                // Nothing was sent: the connection was never made.
                Err(e) if e.is_connect() && attempt + 1 < self.policy.max_attempts => {
                    self.retry_after_wait(attempt, None);
                    attempt += 1;
                    continue;
                }
                Err(e) if e.is_connect() => {
                    return Err(GraphError::GaveUp {
                        url: redact(url),
                        attempts: attempt + 1,
                        last: describe(&e),
                    });
                }
                Err(e) => return Ok(Answer::Unknown(describe(&e))),
            };
            let status = response.status().as_u16();
            let wait = wait_of(&response);
            if status == 401 && refreshes < MAX_REFRESHES {
                refreshes += 1;
                self.stats.refreshes.fetch_add(1, Ordering::Relaxed);
                self.auth.invalidate(Resource::Graph);
                continue;
            }
            if status == 429 && attempt + 1 < self.policy.max_attempts {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                self.retry_after_wait(attempt, wait);
                attempt += 1;
                continue;
            }
            return Ok(match response.text() {
                Ok(body) => Answer::Status { status, body },
                // A 2xx whose body was cut off took effect; any other status is kept.
                Err(e) if (200..300).contains(&status) => Answer::Unknown(describe(&e)),
                Err(_) => Answer::Status {
                    status,
                    body: String::new(),
                },
            });
        }
    }

    fn retry_after_wait(&self, attempt: u32, wait: Option<std::time::Duration>) {
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        let delay = wait
            .unwrap_or_else(|| self.backoff(attempt))
            .min(self.policy.cap);
        std::thread::sleep(delay);
    }
}

//! The HTTP client: requests with the retries Graph documents. 429, 503 and 504 wait for
//! `Retry-After` (seconds or an HTTP date) or back off exponentially with jitter up to a cap;
//! connection failures and timeouts retry the same way; a 401 signs in again and repeats the
//! request, up to [`MAX_REFRESHES`] times (requests run side by side, so the new token can be
//! refused too when it expires under one of them; a token refused that often is not expiry). A
//! request that must not be repeated blindly (an invitation) goes through `post_once`, which
//! retries only what certainly never took effect.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use serde_json::value::RawValue;

use super::auth::{Auth, Resource};
use super::transport::{describe, redact};
use super::{Endpoints, GraphError};

/// Sign-ins again for one request refused with 401 before its 401 is the answer.
pub(super) const MAX_REFRESHES: u32 = 5;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// How long one request may take before it is abandoned and retried.
    pub timeout: Duration,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            timeout: Duration::from_secs(120),
            base: Duration::from_millis(500),
            cap: Duration::from_secs(60),
        }
    }
}

/// Request and retry counts for the closing summary.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
    pub refreshes: AtomicU64,
}

/// One page of a collection, or a single entity (then `value` holds it alone). Items stay
/// as the exact compact JSON text Graph sent, one line each, never parsed into a tree.
#[derive(Debug)]
pub struct Page {
    pub value: Vec<Box<RawValue>>,
    pub next_link: Option<String>,
    /// The last page of a delta round: where the next round starts.
    pub delta_link: Option<String>,
}

#[derive(serde::Deserialize)]
struct RawPage {
    value: Option<Vec<Box<RawValue>>>,
    #[serde(rename = "@odata.nextLink", alias = "nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

pub struct Client {
    pub(super) http: reqwest::blocking::Client,
    pub auth: Auth,
    pub endpoints: Endpoints,
    pub policy: RetryPolicy,
    pub stats: Stats,
    seed: AtomicU64,
}

impl Client {
    /// A token for `resource`: the cached one, or a new sign-in.
    pub fn token(&self, resource: Resource) -> Result<super::Secret, GraphError> {
        self.auth.token(&self.http, resource)
    }

    /// Signs in to `resource` now, if a token can be had, keeping it for later requests.
    pub fn sign_in_early(&self, resource: Resource) {
        if self.auth.can_sign_in(resource) {
            // A failure is not final: the first request for the resource signs in again and
            // reports it there.
            let _ = self.auth.token(&self.http, resource);
        }
    }
}

/// How long a response asks to wait (its `Retry-After`), if it says.
pub fn wait_of(response: &reqwest::blocking::Response) -> Option<Duration> {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, SystemTime::now()))
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

impl Client {
    pub fn new(auth: Auth, endpoints: Endpoints, policy: RetryPolicy) -> Result<Self, GraphError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(Duration::from_secs(20))
            .user_agent(concat!("b2bready/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GraphError::Config(format!("cannot create the HTTP client: {e}")))?;
        Ok(Self {
            http,
            auth,
            endpoints,
            policy,
            stats: Stats::default(),
            seed: AtomicU64::new(0x2545_F491_4F6C_DD1D),
        })
    }

    /// Exponential backoff with full jitter: a random wait up to base × 2^attempt, capped.
    pub(super) fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .policy
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.policy.cap);
        let mut x = self
            .seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        let fraction = (x % 1000) as u32;
        ceiling / 1000 * fraction + ceiling / 2000
    }

    /// GETs a Graph or ARM URL (absolute, as a nextLink is) and returns a page.
    pub fn get(&self, resource: Resource, url: &str) -> Result<Page, GraphError> {
        let text = self.send(resource, Method::Get, url, None)?;
        parse_page(url, &text)
    }

    /// PATCHes a Graph object. Only for writes that may be repeated safely (setting a
    /// property to a value), since a timed-out PATCH is sent again.
    pub fn patch(&self, url: &str, body: &Value) -> Result<(), GraphError> {
        self.send(Resource::Graph, Method::Patch, url, Some(body))
            .map(drop)
    }

    /// POSTs a JSON body to Graph's `$batch` and returns the parsed response.
    pub fn batch(&self, body: &Value) -> Result<Value, GraphError> {
        let url = format!("{}/v1.0/$batch", self.endpoints.graph);
        let text = self.send(Resource::Graph, Method::Post, &url, Some(body))?;
        serde_json::from_str(&text).map_err(|e| GraphError::Network {
            url: redact(&url),
            message: format!("the response is not JSON: {e}"),
        })
    }

    /// Sends one request with the retries Graph asks for; returns the body of a 2xx answer.
    fn send(
        &self,
        resource: Resource,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<String, GraphError> {
        let mut refreshes = 0;
        let mut attempt = 0;
        loop {
            let token = self.auth.token(&self.http, resource)?;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .request(method, url, body)
                .bearer_auth(token.expose())
                .header("Accept", "application/json")
                .send();
            let failure = match sent {
                Err(e) => describe(&e),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let wait = wait_of(&response);
                    let body = response.text();
                    match (status, body) {
                        (200..=299, Ok(text)) => return Ok(text),
                        (401, _) if refreshes < MAX_REFRESHES => {
                            refreshes += 1;
                            self.stats.refreshes.fetch_add(1, Ordering::Relaxed);
                            self.auth.invalidate(resource);
                            continue;
                        }
                        (429 | 503 | 504, _) => {
                            if status == 429 {
                                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                            }
                            if attempt + 1 < self.policy.max_attempts {
                                let delay = wait
                                    .unwrap_or_else(|| self.backoff(attempt))
                                    .min(self.policy.cap);
                                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                                attempt += 1;
                                std::thread::sleep(delay);
                                continue;
                            }
                            format!("HTTP {status}")
                        }
                        (200..=299, Err(e)) => describe(&e),
                        (_, body) => {
                            let (code, message) = error_body(&body.unwrap_or_default());
                            return Err(GraphError::Status {
                                status,
                                url: redact(url),
                                code,
                                message,
                            });
                        }
                    }
                }
            };
            if attempt + 1 >= self.policy.max_attempts {
                return Err(GraphError::GaveUp {
                    url: redact(url),
                    attempts: attempt + 1,
                    last: failure,
                });
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(self.backoff(attempt));
            attempt += 1;
        }
    }
}

/// How a request is sent.
#[derive(Debug, Clone, Copy)]
pub(super) enum Method {
    Get,
    Post,
    Patch,
}

impl Client {
    pub(super) fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> reqwest::blocking::RequestBuilder {
        let builder = match method {
            Method::Get => self.http.get(url),
            Method::Post => self.http.post(url),
            Method::Patch => self.http.patch(url),
        };
        match body {
            Some(b) => builder.json(b),
            None => builder,
        }
    }
}

/// Graph's error code and message from an error body (the start of the text when it is not
/// Graph's shape).
pub fn error_body(text: &str) -> (String, String) {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let e = &v["error"];
    let code = e["code"].as_str().unwrap_or("").to_owned();
    let message = e["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| text.chars().take(200).collect());
    (code, message)
}

fn parse_page(url: &str, text: &str) -> Result<Page, GraphError> {
    let not_json = |e: serde_json::Error| GraphError::Network {
        url: redact(url),
        message: format!("the response is not JSON: {e}"),
    };
    let page: RawPage = serde_json::from_str(text).map_err(not_json)?;
    let value = match page.value {
        Some(items) => items,
        // A single entity, such as the authorization policy.
        None => vec![RawValue::from_string(text.trim().to_owned()).map_err(not_json)?],
    };
    // A record is one line: re-serialise the rare item that was sent pretty-printed.
    let value = value
        .into_iter()
        .map(|item| {
            if item.get().contains('\n') {
                let v: Value = serde_json::from_str(item.get()).map_err(not_json)?;
                RawValue::from_string(v.to_string()).map_err(not_json)
            } else {
                Ok(item)
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Page {
        value,
        next_link: page.next_link,
        delta_link: page.delta_link,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after("10", now), Some(Duration::from_secs(10)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(retry_after(&later, now), Some(Duration::from_secs(30)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn messages_drop_the_query_string() {
        assert_eq!(
            redact("https://graph.microsoft.com/v1.0/users?$skiptoken=abc"),
            "https://graph.microsoft.com/v1.0/users"
        );
    }
}

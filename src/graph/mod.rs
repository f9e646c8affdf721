//! Talking to Microsoft Graph and Azure Resource Manager: endpoints per cloud, sign-in, and a
//! client that retries the way Graph asks (Retry-After, backoff with jitter, one token
//! refresh on 401).

pub mod auth;
pub mod azcli;
pub mod cert;
pub mod client;
mod device;
pub mod hosted;
pub mod once;
pub mod signin;
pub mod transport;

use std::fmt;

pub use auth::{Auth, Resource};
pub use client::{Client, Page, RetryPolicy, Stats};
pub use once::Answer;
pub use transport::redact;

/// Graph's `$batch` takes at most 20 requests.
pub const BATCH_SIZE: usize = 20;

/// The service roots of one cloud (or of a local simulator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub graph: String,
    pub login: String,
    pub arm: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cloud {
    /// Microsoft Graph global service (also GCC).
    Global,
    /// US Government L4 (GCC High).
    Usgov,
    /// US Government L5 (DoD).
    Usgovdod,
    /// Microsoft Graph China operated by 21Vianet.
    China,
}

impl Cloud {
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::Usgov => "usgov",
            Cloud::Usgovdod => "usgovdod",
            Cloud::China => "china",
        }
    }

    pub fn endpoints(self) -> Endpoints {
        let (graph, login, arm) = match self {
            Cloud::Global => (
                "https://graph.microsoft.com",
                "https://login.microsoftonline.com",
                "https://management.azure.com",
            ),
            Cloud::Usgov => (
                "https://graph.microsoft.us",
                "https://login.microsoftonline.us",
                "https://management.usgovcloudapi.net",
            ),
            Cloud::Usgovdod => (
                "https://dod-graph.microsoft.us",
                "https://login.microsoftonline.us",
                "https://management.usgovcloudapi.net",
            ),
            Cloud::China => (
                "https://microsoftgraph.chinacloudapi.cn",
                "https://login.chinacloudapi.cn",
                "https://management.chinacloudapi.cn",
            ),
        };
        Endpoints {
            graph: graph.into(),
            login: login.into(),
            arm: arm.into(),
        }
    }
}

/// Seconds since the Unix epoch, as tokens and assertions count time.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How long a token that expires at `at` (seconds since the epoch) may still be used.
pub(crate) fn lifetime_until(at: u64) -> std::time::Duration {
    std::time::Duration::from_secs(at.saturating_sub(unix_now()))
}

/// Whether a URL's host is this machine.
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks a service root given on the command line: https, or plain http on loopback only.
pub fn check_root(flag: &str, url: &str) -> Result<String, GraphError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| GraphError::Config(format!("{flag} {url:?} is not a URL: {e}")))?;
    let loopback = is_loopback(&parsed);
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(GraphError::Config(format!(
                "{flag} {url:?} must be https (plain http is accepted only for loopback)"
            )));
        }
    }
    if !parsed.path().trim_end_matches('/').is_empty() || parsed.query().is_some() {
        return Err(GraphError::Config(format!(
            "{flag} {url:?} must be a service root like https://graph.microsoft.com, without a path"
        )));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// An error from Graph, ARM or the token endpoint. Messages never hold a secret or a token.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("{0}")]
    Config(String),
    #[error("sign-in failed: {0}")]
    Auth(String),
    #[error("{status} from {url}: {code}: {message}")]
    Status {
        status: u16,
        url: String,
        code: String,
        message: String,
    },
    #[error("{url}: {message}")]
    Network { url: String, message: String },
    #[error("{url}: gave up after {attempts} attempts ({last})")]
    GaveUp {
        url: String,
        attempts: u32,
        last: String,
    },
}

impl GraphError {
    pub fn status(&self) -> Option<u16> {
        match self {
            GraphError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A page token Graph no longer accepts: the collection must start again.
    pub fn is_expired_page_token(&self) -> bool {
        match self {
            GraphError::Status {
                status: 400,
                code,
                message,
                ..
            } => code == "Directory_ExpiredPageToken" || message.contains("Invalid Skip Token"),
            _ => false,
        }
    }
}

/// Wraps a secret so that `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(check_root("--graph-url", "http://127.0.0.1:8080").is_ok());
        assert!(check_root("--graph-url", "http://localhost:1").is_ok());
        assert!(check_root("--graph-url", "http://[::1]:1").is_ok());
        assert!(check_root("--graph-url", "https://graph.microsoft.com/").is_ok());
        assert!(check_root("--graph-url", "http://graph.microsoft.com").is_err());
        assert!(check_root("--graph-url", "http://10.0.0.1").is_err());
        assert!(check_root("--graph-url", "https://graph.microsoft.com/v1.0").is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}

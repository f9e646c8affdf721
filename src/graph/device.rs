//! Device code sign-in for a person at a keyboard: the code is shown, then the token endpoint
//! is polled until they have signed in (or the code expires).

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::auth::{Auth, DEVICE_CODE_GRANT, Resource, TokenError};
use super::{GraphError, Secret};

#[derive(Deserialize)]
struct DeviceCode {
    device_code: String,
    #[serde(default)]
    message: String,
    #[serde(default = "five")]
    interval: u64,
    #[serde(default = "fifteen_minutes")]
    expires_in: u64,
}

fn five() -> u64 {
    5
}

fn fifteen_minutes() -> u64 {
    900
}

impl Auth {
    /// Shows the person a code to enter in a browser, then polls until they have signed in.
    pub(super) fn device_code(
        &self,
        http: &reqwest::blocking::Client,
        tenant: &str,
        client_id: &str,
        resource: Resource,
    ) -> Result<(Secret, Duration), GraphError> {
        let url = format!("{}/{tenant}/oauth2/v2.0/devicecode", self.endpoints.login);
        let scope = format!("{} offline_access", self.scope(resource));
        let response = http
            .post(&url)
            .form(&[("client_id", client_id), ("scope", &scope)])
            .send()
            .map_err(|e| GraphError::Network {
                url: url.clone(),
                message: super::transport::describe(&e),
            })?;
        let text = response.text().unwrap_or_default();
        let code: DeviceCode = serde_json::from_str(&text).map_err(|_| {
            let e: TokenError = serde_json::from_str(&text).unwrap_or(TokenError {
                error: "no device code".into(),
                error_description: String::new(),
            });
            GraphError::Auth(format!(
                "{}: {}",
                e.error,
                e.error_description.lines().next().unwrap_or("")
            ))
        })?;
        eprintln!("{}", code.message);
        let mut interval = Duration::from_secs(code.interval.max(1));
        let deadline = Instant::now() + Duration::from_secs(code.expires_in);
        let token_url = format!("{}/{tenant}/oauth2/v2.0/token", self.endpoints.login);
        loop {
            if Instant::now() > deadline {
                return Err(GraphError::Auth(
                    "the device code expired before sign-in finished".into(),
                ));
            }
            std::thread::sleep(interval);
            let response = http
                .post(&token_url)
                .form(&[
                    ("grant_type", DEVICE_CODE_GRANT),
                    ("client_id", client_id),
                    ("device_code", &code.device_code),
                ])
                .send()
                .map_err(|e| GraphError::Network {
                    url: token_url.clone(),
                    message: super::transport::describe(&e),
                })?;
            let ok = response.status().is_success();
            let text = response.text().unwrap_or_default();
            if ok {
                return self.accept(&token_url, &text);
            }
            let e: TokenError = serde_json::from_str(&text).unwrap_or(TokenError {
                error: "unknown".into(),
                error_description: String::new(),
            });
            match e.error.as_str() {
                "authorization_pending" => {}
                "slow_down" => interval += Duration::from_secs(5),
                _ => {
                    let first = e.error_description.lines().next().unwrap_or("");
                    return Err(GraphError::Auth(format!("{}: {first}", e.error)));
                }
            }
        }
    }
}

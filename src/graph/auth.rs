//! Sign-in, following the azure-identity conventions: a client secret (client credentials
//! grant) or a token acquired beforehand. Tokens are cached per resource until shortly before
//! they expire; a 401 drops the cached token so the next request signs in again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{Endpoints, GraphError, Secret};

/// Which service a token is for: tokens are not interchangeable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    Graph,
    Arm,
}

/// How to get tokens.
#[derive(Debug, Clone)]
pub enum Credential {
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    ClientSecret {
        tenant: String,
        client_id: String,
        secret: Secret,
    },
    /// Workload identity federation: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and
    /// `AZURE_FEDERATED_TOKEN_FILE`, a token from another identity provider (GitHub Actions,
    /// Kubernetes) that Entra exchanges. The file is read anew for every sign-in, since those
    /// tokens are short-lived and the platform replaces them.
    Federated {
        tenant: String,
        client_id: String,
        token_file: std::path::PathBuf,
    },
    /// A token acquired beforehand (e.g. `az account get-access-token`), per resource.
    Tokens {
        graph: Option<Secret>,
        arm: Option<Secret>,
    },
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Renew this long before a token expires, so a long page never runs out mid-request.
const EARLY: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct Auth {
    credential: Credential,
    endpoints: Endpoints,
    cache: Mutex<HashMap<Resource, (Secret, Instant)>>,
}

impl Auth {
    pub fn new(credential: Credential, endpoints: Endpoints) -> Self {
        Self {
            credential,
            endpoints,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn scope(&self, resource: Resource) -> String {
        match resource {
            Resource::Graph => format!("{}/.default", self.endpoints.graph),
            Resource::Arm => format!("{}/.default", self.endpoints.arm),
        }
    }

    /// Forgets a token the service refused.
    pub fn invalidate(&self, resource: Resource) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&resource);
        }
    }

    /// Whether a token for `resource` can be had at all (a pre-acquired Graph token gives no
    /// ARM token).
    pub fn can_sign_in(&self, resource: Resource) -> bool {
        match &self.credential {
            Credential::ClientSecret { .. } | Credential::Federated { .. } => true,
            Credential::Tokens { graph, arm } => match resource {
                Resource::Graph => graph.is_some(),
                Resource::Arm => arm.is_some(),
            },
        }
    }

    pub fn token(
        &self,
        http: &reqwest::blocking::Client,
        resource: Resource,
    ) -> Result<Secret, GraphError> {
        if let Ok(cache) = self.cache.lock()
            && let Some((token, until)) = cache.get(&resource)
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = match &self.credential {
            Credential::Tokens { graph, arm } => {
                let t = match resource {
                    Resource::Graph => graph,
                    Resource::Arm => arm,
                };
                let t = t.clone().ok_or_else(|| {
                    GraphError::Auth(format!("no access token was given for {resource:?}"))
                })?;
                (t, Duration::from_secs(24 * 3600))
            }
            Credential::ClientSecret {
                tenant,
                client_id,
                secret,
            } => self.client_credentials(
                http,
                tenant,
                &[
                    ("client_id", client_id.as_str()),
                    ("client_secret", secret.expose()),
                    ("scope", &self.scope(resource)),
                    ("grant_type", "client_credentials"),
                ],
            )?,
            Credential::Federated {
                tenant,
                client_id,
                token_file,
            } => {
                let assertion = std::fs::read_to_string(token_file).map_err(|e| {
                    GraphError::Auth(format!("cannot read {}: {e}", token_file.display()))
                })?;
                self.client_credentials(
                    http,
                    tenant,
                    &[
                        ("client_id", client_id.as_str()),
                        ("client_assertion_type", JWT_BEARER),
                        ("client_assertion", assertion.trim()),
                        ("scope", &self.scope(resource)),
                        ("grant_type", "client_credentials"),
                    ],
                )?
            }
        };
        if let Ok(mut cache) = self.cache.lock() {
            let until = Instant::now() + lifetime.saturating_sub(EARLY);
            cache.insert(resource, (token.clone(), until));
        }
        Ok(token)
    }

    fn client_credentials(
        &self,
        http: &reqwest::blocking::Client,
        tenant: &str,
        form: &[(&str, &str)],
    ) -> Result<(Secret, Duration), GraphError> {
        let url = format!("{}/{tenant}/oauth2/v2.0/token", self.endpoints.login);
        let response = http
            .post(&url)
            .form(form)
            .send()
            .map_err(|e| GraphError::Network {
                url: url.clone(),
                message: super::client::describe(&e),
            })?;
        let status = response.status();
        let text = response.text().unwrap_or_default();
        if !status.is_success() {
            let e: TokenError = serde_json::from_str(&text).unwrap_or(TokenError {
                error: status.to_string(),
                error_description: String::new(),
            });
            let first_line = e.error_description.lines().next().unwrap_or("").to_owned();
            return Err(GraphError::Auth(format!("{}: {first_line}", e.error)));
        }
        let t: TokenResponse = serde_json::from_str(&text)
            .map_err(|_| GraphError::Auth(format!("{url} answered without an access token")))?;
        Ok((
            Secret::new(t.access_token),
            Duration::from_secs(t.expires_in.unwrap_or(3599)),
        ))
    }
}

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
    /// `AZURE_CLIENT_CERTIFICATE_PATH` (PEM or PKCS#12): a signed client assertion.
    Certificate {
        tenant: String,
        client_id: String,
        certificate: Box<super::cert::ClientCertificate>,
    },
    /// A person at a keyboard: the device code flow, then a refresh token for the other
    /// resource, so one sign-in serves Graph and ARM.
    DeviceCode { tenant: String, client_id: String },
    /// The Azure CLI's session (`az login`): `az account get-access-token` per resource,
    /// for the tenant given or the CLI's default one.
    AzureCli { tenant: Option<String> },
    /// An Azure managed identity (`--managed-identity`), system- or user-assigned.
    ManagedIdentity(super::hosted::ManagedIdentity),
    /// An Azure Pipelines service connection (`--azure-pipelines`): the job's OIDC token,
    /// asked for at every sign-in and exchanged like a federated one.
    AzurePipelines {
        tenant: String,
        client_id: String,
        connection: super::hosted::PipelinesConnection,
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
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct TokenError {
    #[serde(default)]
    pub(super) error: String,
    #[serde(default)]
    pub(super) error_description: String,
}

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Renew this long before a token expires, so a long page never runs out mid-request.
const EARLY: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct Auth {
    credential: Credential,
    pub(super) endpoints: Endpoints,
    cache: Mutex<HashMap<Resource, (Secret, Instant)>>,
    refresh: Mutex<Option<Secret>>,
}

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl Auth {
    pub fn new(credential: Credential, endpoints: Endpoints) -> Self {
        Self {
            credential,
            endpoints,
            cache: Mutex::new(HashMap::new()),
            refresh: Mutex::new(None),
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
            Credential::ClientSecret { .. }
            | Credential::Certificate { .. }
            | Credential::Federated { .. }
            | Credential::DeviceCode { .. }
            | Credential::AzureCli { .. }
            | Credential::ManagedIdentity(_)
            | Credential::AzurePipelines { .. } => true,
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
            Credential::Certificate {
                tenant,
                client_id,
                certificate,
            } => {
                let audience = format!("{}/{tenant}/oauth2/v2.0/token", self.endpoints.login);
                let assertion = certificate.assertion(client_id, &audience)?;
                self.client_credentials(
                    http,
                    tenant,
                    &[
                        ("client_id", client_id.as_str()),
                        ("client_assertion_type", JWT_BEARER),
                        ("client_assertion", &assertion),
                        ("scope", &self.scope(resource)),
                        ("grant_type", "client_credentials"),
                    ],
                )?
            }
            Credential::AzureCli { tenant } => {
                super::azcli::token(tenant.as_deref(), self.root(resource))?
            }
            Credential::ManagedIdentity(identity) => identity.token(http, self.root(resource))?,
            Credential::AzurePipelines {
                tenant,
                client_id,
                connection,
            } => {
                let assertion = connection.assertion(http)?;
                self.exchange(http, tenant, client_id, &assertion, resource)?
            }
            Credential::DeviceCode { tenant, client_id } => {
                let refresh = self.refresh.lock().ok().and_then(|r| r.clone());
                match refresh {
                    Some(r) => self.client_credentials(
                        http,
                        tenant,
                        &[
                            ("client_id", client_id.as_str()),
                            ("grant_type", "refresh_token"),
                            ("refresh_token", r.expose()),
                            ("scope", &format!("{} offline_access", self.scope(resource))),
                        ],
                    )?,
                    None => self.device_code(http, tenant, client_id, resource)?,
                }
            }
            Credential::Federated {
                tenant,
                client_id,
                token_file,
            } => {
                let assertion =
                    crate::files::read_text(token_file, super::signin::TOKEN_FILE_LIMIT).map_err(
                        |e| GraphError::Auth(format!("cannot read {}: {e}", token_file.display())),
                    )?;
                self.exchange(http, tenant, client_id, assertion.trim(), resource)?
            }
        };
        if let Ok(mut cache) = self.cache.lock() {
            let until = Instant::now() + lifetime.saturating_sub(EARLY);
            cache.insert(resource, (token.clone(), until));
        }
        Ok(token)
    }

    /// The service root a token for `resource` is for.
    fn root(&self, resource: Resource) -> &str {
        match resource {
            Resource::Graph => &self.endpoints.graph,
            Resource::Arm => &self.endpoints.arm,
        }
    }

    /// Exchanges another identity provider's token for one of Entra's (workload identity
    /// federation).
    fn exchange(
        &self,
        http: &reqwest::blocking::Client,
        tenant: &str,
        client_id: &str,
        assertion: &str,
        resource: Resource,
    ) -> Result<(Secret, Duration), GraphError> {
        self.client_credentials(
            http,
            tenant,
            &[
                ("client_id", client_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion),
                ("scope", &self.scope(resource)),
                ("grant_type", "client_credentials"),
            ],
        )
    }

    /// Reads a token response, keeping a refresh token if one came with it.
    pub(super) fn accept(&self, url: &str, text: &str) -> Result<(Secret, Duration), GraphError> {
        let t: TokenResponse = serde_json::from_str(text)
            .map_err(|_| GraphError::Auth(format!("{url} answered without an access token")))?;
        if let (Some(r), Ok(mut slot)) = (t.refresh_token, self.refresh.lock()) {
            *slot = Some(Secret::new(r));
        }
        Ok((
            Secret::new(t.access_token),
            Duration::from_secs(t.expires_in.unwrap_or(3599)),
        ))
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
                message: super::transport::describe(&e),
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
        self.accept(&url, &text)
    }
}

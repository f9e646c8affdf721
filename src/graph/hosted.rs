//! Sign-in from where b2bready runs: an Azure managed identity (App Service, Functions and
//! Container Apps through `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`; virtual machines through the
//! instance metadata service) and an Azure Pipelines service connection's workload identity
//! federation (an OIDC token from `SYSTEM_OIDCREQUESTURI`, asked for anew at every sign-in so a
//! job is not limited to the first token's hour).

use std::time::Duration;

use serde::Deserialize;

use super::signin::env_var as env;
use super::transport::describe;
use super::{GraphError, Secret};

/// The instance metadata service's address, as every Azure VM sees it.
const IMDS: &str = "http://169.254.169.254";

/// How long the instance metadata service may take to answer: off Azure nothing answers.
const IMDS_TIMEOUT: Duration = Duration::from_secs(5);

/// Attempts at the identity endpoint: it asks for retries on 429 and 5xx while it warms up.
const ATTEMPTS: u32 = 4;

/// A managed identity: the system-assigned one, or the user-assigned one with this client id.
#[derive(Debug, Clone)]
pub struct ManagedIdentity {
    pub client_id: Option<String>,
}

/// Where the managed identity answers and how it wants to be asked.
enum Endpoint {
    /// App Service, Functions, Container Apps: `IDENTITY_ENDPOINT` with `X-IDENTITY-HEADER`.
    Hosting { url: String, header: Secret },
    /// A virtual machine's instance metadata service, with `Metadata: true`.
    Imds { url: String },
}

/// An http URL is accepted only on loopback or link-local addresses (where these endpoints
/// live); anything else must be https, so a token never crosses a network in clear.
fn check_endpoint(name: &str, url: &str) -> Result<String, GraphError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| GraphError::Config(format!("{name} {url:?} is not a URL: {e}")))?;
    let link_local = matches!(parsed.host(), Some(url::Host::Ipv4(ip)) if ip.is_link_local());
    let local = super::is_loopback(&parsed) || link_local;
    match parsed.scheme() {
        "https" => Ok(url.to_owned()),
        "http" if local => Ok(url.to_owned()),
        _ => Err(GraphError::Config(format!(
            "{name} {url:?} must be https, or http on a loopback or link-local address"
        ))),
    }
}

fn endpoint() -> Result<Endpoint, GraphError> {
    if let (Some(url), Some(header)) = (env("IDENTITY_ENDPOINT"), env("IDENTITY_HEADER")) {
        return Ok(Endpoint::Hosting {
            url: check_endpoint("IDENTITY_ENDPOINT", &url)?,
            header: Secret::new(header),
        });
    }
    // azure-identity's override of the metadata service's address.
    let root = env("AZURE_POD_IDENTITY_AUTHORITY_HOST").unwrap_or_else(|| IMDS.into());
    let root = check_endpoint("AZURE_POD_IDENTITY_AUTHORITY_HOST", &root)?;
    Ok(Endpoint::Imds {
        url: format!(
            "{}/metadata/identity/oauth2/token",
            root.trim_end_matches('/')
        ),
    })
}

/// A token answer of either endpoint: `expires_on` is seconds since the epoch, as a string
/// or a number depending on the platform.
#[derive(Deserialize)]
struct Answer {
    access_token: String,
    #[serde(default)]
    expires_on: Option<serde_json::Value>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

fn seconds(v: Option<&serde_json::Value>) -> Option<u64> {
    match v? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl ManagedIdentity {
    /// A token for the service at `resource` (its root URL) and its lifetime.
    pub fn token(
        &self,
        http: &reqwest::blocking::Client,
        resource: &str,
    ) -> Result<(Secret, Duration), GraphError> {
        let endpoint = endpoint()?;
        let mut query = vec![("resource", resource)];
        if let Some(id) = &self.client_id {
            query.push(("client_id", id));
        }
        let (url, request) = match &endpoint {
            Endpoint::Hosting { url, header } => {
                query.push(("api-version", "2019-08-01"));
                let r = http
                    .get(url)
                    .query(&query)
                    .header("X-IDENTITY-HEADER", header.expose());
                (url, r)
            }
            Endpoint::Imds { url } => {
                query.push(("api-version", "2018-02-01"));
                let r = http
                    .get(url)
                    .query(&query)
                    .header("Metadata", "true")
                    .timeout(IMDS_TIMEOUT);
                (url, r)
            }
        };
        let text = send(request, url)?;
        let answer: Answer = serde_json::from_str(&text).map_err(|_| {
            GraphError::Auth(format!(
                "the managed identity endpoint {url} answered without an access token"
            ))
        })?;
        let lifetime = match (
            seconds(answer.expires_on.as_ref()),
            seconds(answer.expires_in.as_ref()),
        ) {
            (Some(at), _) => super::lifetime_until(at),
            (None, Some(secs)) => Duration::from_secs(secs),
            (None, None) => Duration::from_secs(300),
        };
        Ok((Secret::new(answer.access_token), lifetime))
    }
}

/// Sends a request the endpoint may ask to repeat (429, 5xx), and returns the body of its
/// success. A failure names the endpoint and what it said, never a token or header.
fn send(request: reqwest::blocking::RequestBuilder, url: &str) -> Result<String, GraphError> {
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(250 << attempt));
        }
        let Some(r) = request.try_clone() else { break };
        let response = match r.send() {
            Ok(r) => r,
            Err(e) if e.is_connect() || e.is_timeout() => {
                return Err(GraphError::Auth(format!(
                    "no managed identity answered at {url} ({}): run on an Azure resource with a managed identity, or sign in another way",
                    describe(&e)
                )));
            }
            Err(e) => {
                last = describe(&e);
                continue;
            }
        };
        let status = response.status();
        let text = response.text().unwrap_or_default();
        if status.is_success() {
            return Ok(text);
        }
        last = format!("{status}: {}", error_message(&text));
        if !(status.as_u16() == 429 || status.is_server_error()) {
            break;
        }
    }
    Err(GraphError::Auth(format!(
        "the managed identity endpoint {url} refused: {last}"
    )))
}

/// What an identity endpoint's error body says, in one line.
fn error_message(text: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let said = [
        &v["error_description"],
        &v["error"]["message"],
        &v["message"],
        &v["error"],
    ]
    .into_iter()
    .find_map(|m| m.as_str())
    .unwrap_or("no message");
    said.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(300)
        .collect()
}

/// An Azure Pipelines service connection that federates with an app registration.
#[derive(Debug, Clone)]
pub struct PipelinesConnection {
    /// `SYSTEM_OIDCREQUESTURI`, the job's OIDC endpoint.
    pub request_uri: String,
    /// `AZURESUBSCRIPTION_SERVICE_CONNECTION_ID`.
    pub service_connection: String,
    /// `SYSTEM_ACCESSTOKEN`, the job's token (mapped into the step's environment).
    pub access_token: Secret,
}

impl PipelinesConnection {
    /// The variables a pipeline step sees; names the first one missing.
    pub fn from_env() -> Result<Self, GraphError> {
        let need = |name: &str, hint: &str| {
            env(name)
                .ok_or_else(|| GraphError::Config(format!("--azure-pipelines needs {name}{hint}")))
        };
        Ok(Self {
            request_uri: check_endpoint(
                "SYSTEM_OIDCREQUESTURI",
                &need("SYSTEM_OIDCREQUESTURI", " (set in every pipeline job)")?,
            )?,
            service_connection: need(
                "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
                " (set by the AzureCLI@2 and AzurePowerShell@5 tasks, or set it to the service connection's id)",
            )?,
            access_token: Secret::new(need(
                "SYSTEM_ACCESSTOKEN",
                " (map it into the step: env: SYSTEM_ACCESSTOKEN: $(System.AccessToken))",
            )?),
        })
    }

    /// A fresh OIDC token for the service connection, to exchange at Entra.
    pub fn assertion(&self, http: &reqwest::blocking::Client) -> Result<String, GraphError> {
        let url = &self.request_uri;
        let response = http
            .post(url)
            .query(&[
                ("api-version", "7.1"),
                ("serviceConnectionId", self.service_connection.as_str()),
            ])
            .bearer_auth(self.access_token.expose())
            .header("Content-Type", "application/json")
            .header("X-TFS-FedAuthRedirect", "Suppress")
            .send()
            .map_err(|e| GraphError::Network {
                url: url.clone(),
                message: describe(&e),
            })?;
        let status = response.status();
        let text = response.text().unwrap_or_default();
        if !status.is_success() {
            return Err(GraphError::Auth(format!(
                "Azure Pipelines refused an OIDC token for service connection {}: {status}: {}",
                self.service_connection,
                error_message(&text)
            )));
        }
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        v["oidcToken"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| GraphError::Auth("Azure Pipelines answered without an oidcToken".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_endpoints_are_https_or_local() {
        assert!(check_endpoint("E", "http://169.254.169.254").is_ok());
        assert!(check_endpoint("E", "http://localhost:42356/msi/token").is_ok());
        assert!(check_endpoint("E", "http://127.0.0.1:8081/msi/token").is_ok());
        assert!(check_endpoint("E", "https://dev.azure.com/o/p/_apis/x/oidctoken").is_ok());
        assert!(check_endpoint("E", "http://identity.example.com/token").is_err());
    }

    #[test]
    fn expiry_reads_as_a_string_or_a_number() {
        assert_eq!(
            seconds(Some(&serde_json::json!("1700000000"))),
            Some(1_700_000_000)
        );
        assert_eq!(seconds(Some(&serde_json::json!(3599))), Some(3599));
        assert_eq!(seconds(None), None);
        assert_eq!(
            error_message(
                r#"{"error":"invalid_request","error_description":"Identity not found\nmore"}"#
            ),
            "Identity not found"
        );
    }
}

//! The identity endpoints of the places b2bready runs: a managed identity as App Service,
//! Functions and Container Apps serve it (`IDENTITY_ENDPOINT` with `X-IDENTITY-HEADER`) and as
//! a virtual machine's instance metadata service does (`Metadata: true`), and the OIDC token
//! endpoint of an Azure Pipelines job. Tokens they give are accepted by the Graph and ARM
//! routes like any other; the pipeline's OIDC token is the federated credential's.

use base64::Engine;
use serde_json::{Value, json};

use super::Simulator;
use super::http::Request;
use super::respond::respond;
use super::token::{now_secs, oauth_error, random_token, remember, unavailable};

/// The header value `IDENTITY_HEADER` carries for the simulated hosting platform.
pub const IDENTITY_HEADER: &str = "b2bready-simulator-identity-header";
/// The job token (`SYSTEM_ACCESSTOKEN`) the simulated pipeline accepts.
pub const PIPELINE_ACCESS_TOKEN: &str = "b2bready-simulator-job-token";
/// The service connection id the simulated pipeline knows.
pub const SERVICE_CONNECTION: &str = "b2bready-simulator-connection";

/// Answers one of the identity routes, or returns the request when the path is none of them.
pub(super) fn serve<'a>(
    sim: &Simulator,
    request: Request<'a>,
    path: &str,
    query: &[(String, String)],
) -> Option<Request<'a>> {
    let param = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    match (request.method(), path) {
        ("GET", "/metadata/identity/oauth2/token") => {
            if request.header("Metadata") != Some("true") {
                let e = oauth_error("invalid_request", "Required metadata header not specified");
                respond(request, 400, &e, &[]);
            } else {
                managed_identity(sim, request, param("resource"), param("client_id"));
            }
            None
        }
        ("GET", "/msi/token") => {
            if request.header("X-IDENTITY-HEADER") != Some(IDENTITY_HEADER) {
                let e = json!({"statusCode": 401, "message": "Unauthorized: the X-IDENTITY-HEADER is missing or wrong."});
                respond(request, 401, &e, &[]);
            } else {
                managed_identity(sim, request, param("resource"), param("client_id"));
            }
            None
        }
        ("POST", p) if p.ends_with("/oidctoken") => {
            pipeline_oidc(sim, request, param("serviceConnectionId"));
            None
        }
        _ => Some(request),
    }
}

/// A token for the identity: the system-assigned one, or the user-assigned one named by the
/// simulator's client id.
fn managed_identity(
    sim: &Simulator,
    request: Request,
    resource: Option<&str>,
    client_id: Option<&str>,
) {
    if resource.is_none_or(str::is_empty) {
        let e = oauth_error(
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
        return respond(request, 400, &e, &[]);
    }
    if client_id.is_some_and(|c| c != sim.client_id) {
        let e = oauth_error("invalid_request", "Identity not found");
        return respond(request, 400, &e, &[]);
    }
    let Some(token) = random_token() else {
        return unavailable(request);
    };
    let lifetime = remember(sim, &token);
    let body = json!({"access_token": token, "expires_in": lifetime.to_string(),
        "expires_on": (now_secs() + lifetime).to_string(), "resource": resource,
        "token_type": "Bearer", "client_id": sim.client_id});
    respond(request, 200, &body, &[])
}

/// The job's OIDC token for a service connection, carrying the issuer and subject the app's
/// federated credential trusts; asked with the job token.
fn pipeline_oidc(sim: &Simulator, request: Request, connection: Option<&str>) {
    let bearer = request
        .header("Authorization")
        .and_then(|h| h.strip_prefix("Bearer "));
    if bearer != Some(PIPELINE_ACCESS_TOKEN) {
        let e = json!({"message": "TF400813: The user is not authorized to access this resource."});
        return respond(request, 401, &e, &[]);
    }
    if connection != Some(SERVICE_CONNECTION) {
        let e = json!({"message": "The service connection does not exist or has not been authorized for use."});
        return respond(request, 400, &e, &[]);
    }
    let Some((issuer, subject)) = &sim.federated else {
        return unavailable(request);
    };
    let part = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let token = format!(
        "{}.{}.c2lnbmF0dXJl",
        part(json!({"alg": "RS256", "typ": "JWT"})),
        part(
            json!({"iss": issuer, "sub": subject, "aud": "api://AzureADTokenExchange",
            "exp": now_secs() + 600, "iat": now_secs()})
        )
    );
    respond(request, 200, &json!({"oidcToken": token}), &[])
}

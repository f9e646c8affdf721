//! The Entra token endpoint: client credentials (secret, certificate or federated assertion),
//! device code sign-in, refresh tokens, and the checks of the assertions a client signs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Simulator;
use super::http::Request;
use super::respond::respond;

/// How long a device code waits for its person, as Entra's do.
const DEVICE_CODE_SECS: u64 = 900;
/// Device codes waiting at most; when more are asked for, the one expiring first goes.
const MAX_DEVICE_CODES: usize = 1024;
/// Access tokens remembered before the expired ones are forgotten.
const PRUNE_TOKENS_AT: usize = 10_000;

/// A device code waiting for its person: who asked for it, the polls before the simulated
/// person has signed in, and when it expires.
pub(crate) struct DeviceCode {
    client_id: String,
    polls_left: u32,
    expires: Instant,
}

/// 32 random bytes, base64url: nothing about one token tells another.
pub(super) fn random_token() -> Option<String> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A code a person could type: eight random letters and digits without look-alikes.
fn user_code() -> Option<String> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).ok()?;
    let code: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect();
    Some(format!("{}-{}", &code[..4], &code[4..]))
}

/// Entra's answer when it cannot issue anything right now (here: no randomness).
pub(super) fn unavailable(request: Request) {
    let e = oauth_error(
        "temporarily_unavailable",
        "AADSTS90033: A transient error has occurred. Please try again.",
    );
    respond(request, 503, &e, &[])
}

/// A token request's form fields.
type Form = HashMap<String, String>;

fn form(request: &Request) -> Form {
    url::form_urlencoded::parse(request.body())
        .into_owned()
        .collect()
}

fn field<'a>(form: &'a Form, k: &str) -> &'a str {
    form.get(k).map(String::as_str).unwrap_or("")
}

pub(super) fn oauth_error(code: &str, text: &str) -> Value {
    json!({"error": code, "error_description": text})
}

/// Starts a device code sign-in for the client that asks; the simulated person signs in after
/// two polls, and only that client gets the tokens.
pub(super) fn device_code(sim: &Simulator, request: Request) {
    let form = form(&request);
    let client_id = field(&form, "client_id");
    if client_id.is_empty() {
        let e = json!({"error": "invalid_request", "error_description": "AADSTS900144: The request body must contain the following parameter: 'client_id'.", "error_codes": [900144]});
        return respond(request, 400, &e, &[]);
    }
    let (Some(code), Some(user_code)) = (random_token(), user_code()) else {
        return unavailable(request);
    };
    if let Ok(mut codes) = sim.device_codes.lock() {
        let now = Instant::now();
        codes.retain(|_, c| c.expires > now);
        if codes.len() >= MAX_DEVICE_CODES {
            let first = codes
                .iter()
                .min_by_key(|(_, c)| c.expires)
                .map(|(k, _)| k.clone());
            if let Some(first) = first {
                codes.remove(&first);
            }
        }
        codes.insert(
            code.clone(),
            DeviceCode {
                client_id: client_id.to_owned(),
                polls_left: 2,
                expires: now + Duration::from_secs(DEVICE_CODE_SECS),
            },
        );
    }
    let body = json!({"device_code": code, "user_code": user_code, "verification_uri": "https://microsoft.com/devicelogin",
        "expires_in": DEVICE_CODE_SECS, "interval": 1,
        "message": format!("To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code {user_code} to authenticate.")});
    respond(request, 200, &body, &[])
}

/// Registers an access token the Graph and ARM routes will accept; returns its lifetime in
/// seconds.
pub(super) fn remember(sim: &Simulator, token: &str) -> u64 {
    let lifetime = sim.faults.token_lifetime;
    if let Ok(mut tokens) = sim.tokens.lock() {
        let now = Instant::now();
        if tokens.len() >= PRUNE_TOKENS_AT {
            tokens.retain(|_, until| *until > now);
        }
        tokens.insert(token.to_owned(), now + Duration::from_secs(lifetime));
    }
    lifetime
}

/// Issues a random access token (and, for a person signed in with `refresh_for`'s client, a
/// refresh token bound to that client).
fn issue(sim: &Simulator, request: Request, refresh_for: Option<&str>) {
    let Some(token) = random_token() else {
        return unavailable(request);
    };
    let refresh = match refresh_for.map(|client| (client, random_token())) {
        Some((_, None)) => return unavailable(request),
        Some((client, Some(refresh))) => Some((client, refresh)),
        None => None,
    };
    let lifetime = remember(sim, &token);
    let mut body = json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token});
    if let Some((client, refresh)) = refresh {
        if let Ok(mut r) = sim.refresh_tokens.lock() {
            r.insert(refresh.clone(), client.to_owned());
        }
        body["refresh_token"] = json!(refresh);
    }
    respond(request, 200, &body, &[])
}

/// `POST /{tenant}/oauth2/v2.0/token`, by grant type.
pub(super) fn token(sim: &Simulator, request: Request) {
    let form = form(&request);
    let client_id = field(&form, "client_id");
    match field(&form, "grant_type") {
        crate::graph::auth::DEVICE_CODE_GRANT => {
            poll_device_code(sim, request, field(&form, "device_code"), client_id)
        }
        "refresh_token" => refresh(sim, request, field(&form, "refresh_token"), client_id),
        "client_credentials" => client_credentials(sim, request, &form),
        _ => {
            let e = json!({"error": "unsupported_grant_type", "error_description": "AADSTS70003: The app requested an unsupported grant type.", "error_codes": [70003]});
            respond(request, 400, &e, &[])
        }
    }
}

/// What a device code poll finds.
enum Poll {
    Unknown,
    OtherClient,
    Pending,
    SignedIn,
}

/// A device code poll by the client that asked for the code: pending until the person has
/// signed in, then tokens, once. Another client's poll changes nothing.
fn poll_device_code(sim: &Simulator, request: Request, code: &str, client_id: &str) {
    let poll = match sim.device_codes.lock() {
        Ok(mut codes) => match codes.get_mut(code) {
            None => Poll::Unknown,
            Some(c) if c.client_id != client_id => Poll::OtherClient,
            Some(c) if c.expires <= Instant::now() => {
                codes.remove(code);
                Poll::Unknown
            }
            Some(c) if c.polls_left == 0 => {
                codes.remove(code);
                Poll::SignedIn
            }
            Some(c) => {
                c.polls_left -= 1;
                Poll::Pending
            }
        },
        Err(_) => Poll::Unknown,
    };
    match poll {
        Poll::Unknown => respond(
            request,
            400,
            &oauth_error("expired_token", "AADSTS70019: Verification code expired."),
            &[],
        ),
        Poll::OtherClient => respond(
            request,
            400,
            &oauth_error(
                "invalid_grant",
                "AADSTS70000: The provided device code was issued to another application.",
            ),
            &[],
        ),
        Poll::SignedIn => issue(sim, request, Some(client_id)),
        Poll::Pending => respond(
            request,
            400,
            &oauth_error(
                "authorization_pending",
                "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.",
            ),
            &[],
        ),
    }
}

/// New tokens for a refresh token this server issued to this client.
fn refresh(sim: &Simulator, request: Request, refresh_token: &str, client_id: &str) {
    let known = sim
        .refresh_tokens
        .lock()
        .is_ok_and(|r| r.get(refresh_token).is_some_and(|c| c == client_id));
    if known {
        issue(sim, request, Some(client_id))
    } else {
        respond(
            request,
            400,
            &oauth_error(
                "invalid_grant",
                "AADSTS9002313: Invalid request. Request is malformed or invalid.",
            ),
            &[],
        )
    }
}

/// An app's own token: with its secret, a certificate assertion or a federated assertion.
fn client_credentials(sim: &Simulator, request: Request, form: &Form) {
    let field = |k: &str| field(form, k);
    let federated = field("client_assertion_type") == crate::graph::auth::JWT_BEARER;
    if federated && certificate_assertion(field("client_assertion")) {
        return if field("client_id") == sim.client_id
            && certificate_ok(sim, field("client_assertion"), field("client_id"))
        {
            issue(sim, request, None)
        } else {
            let e = json!({"error": "invalid_client", "error_description": "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.", "error_codes": [700027]});
            respond(request, 401, &e, &[])
        };
    }
    if federated
        && !(field("client_id") == sim.client_id && federated_ok(sim, field("client_assertion")))
    {
        let e = json!({"error": "invalid_client", "error_description": "AADSTS70021: No matching federated identity record found for presented assertion.", "error_codes": [70021]});
        return respond(request, 400, &e, &[]);
    }
    if !federated
        && (field("client_id") != sim.client_id || field("client_secret") != sim.client_secret)
    {
        let e = json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.", "error_codes": [7000215]});
        return respond(request, 401, &e, &[]);
    }
    if !field("scope").ends_with("/.default") {
        let e = json!({"error": "invalid_scope", "error_description": "AADSTS70011: The provided request must include a 'scope' input parameter.", "error_codes": [70011]});
        return respond(request, 400, &e, &[]);
    }
    issue(sim, request, None)
}

/// Seconds since the Unix epoch, as a JWT's `exp` counts them.
pub(super) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The `n`th part of a JWT (0 the header, 1 the claims), decoded.
fn jwt_part(jwt: &str, n: usize) -> Option<Value> {
    use base64::Engine;
    let part = jwt.split('.').nth(n)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// An assertion signed with a certificate names it in its header (`x5t#S256`, or the older
/// `x5t`, which is refused below).
fn certificate_assertion(jwt: &str) -> bool {
    jwt_part(jwt, 0).is_some_and(|h| h.get("x5t#S256").is_some() || h.get("x5t").is_some())
}

/// A certificate assertion is accepted when it is PS256, names the registered certificate by
/// its SHA-256 thumbprint, its RSA-PSS signature verifies with that certificate's key, it is
/// about this client and this token endpoint, it carries a `jti`, and it has not expired.
fn certificate_ok(sim: &Simulator, jwt: &str, client_id: &str) -> bool {
    use aws_lc_rs::signature::{RSA_PSS_2048_8192_SHA256, UnparsedPublicKey};
    use base64::Engine;
    let Some((thumbprint, key)) = &sim.certificate else {
        return false;
    };
    let (Some(header), Some(claims)) = (jwt_part(jwt, 0), jwt_part(jwt, 1)) else {
        return false;
    };
    let Some((signing_input, signature)) = jwt.rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let verifies = UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, key)
        .verify(signing_input.as_bytes(), &signature)
        .is_ok();
    let now = now_secs();
    header["alg"] == "PS256"
        && header["x5t#S256"] == thumbprint.as_str()
        && verifies
        && claims["iss"] == client_id
        && claims["sub"] == client_id
        && claims["jti"].as_str().is_some_and(|j| !j.is_empty())
        && claims["aud"]
            .as_str()
            .is_some_and(|a| a.ends_with("/oauth2/v2.0/token"))
        && claims["exp"].as_u64().is_some_and(|e| e > now)
}

/// A federated assertion matches when its audience is Entra's token exchange, its issuer and
/// subject are the trusted credential's, and it has not expired. The simulator does not check
/// signatures: it rehearses the flow, not the identity provider.
fn federated_ok(sim: &Simulator, assertion: &str) -> bool {
    let Some((issuer, subject)) = &sim.federated else {
        return false;
    };
    let Some(claims) = jwt_part(assertion, 1) else {
        return false;
    };
    let now = now_secs();
    let audience_ok = match &claims["aud"] {
        Value::String(a) => a == "api://AzureADTokenExchange",
        Value::Array(a) => a.iter().any(|x| x == "api://AzureADTokenExchange"),
        _ => false,
    };
    audience_ok
        && claims["iss"] == issuer.as_str()
        && claims["sub"] == subject.as_str()
        && claims["exp"].as_u64().is_some_and(|e| e > now)
}

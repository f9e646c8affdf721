//! The Entra token endpoint: client credentials (secret, certificate or federated assertion),
//! device code sign-in, refresh tokens, and the checks of the assertions a client signs.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Simulator;
use super::http::Request;
use super::respond::respond;

/// Starts a device code sign-in; the simulated person signs in after two polls.
pub(super) fn device_code(sim: &Simulator, request: Request) {
    let serial = sim.token_serial.fetch_add(1, Ordering::SeqCst);
    let code = format!("dc{serial:08x}");
    if let Ok(mut codes) = sim.device_codes.lock() {
        codes.insert(code.clone(), 2);
    }
    let body = json!({"device_code": code, "user_code": "SIMU-LATE", "verification_uri": "https://microsoft.com/devicelogin",
        "expires_in": 900, "interval": 1,
        "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code SIMU-LATE to authenticate."});
    respond(request, 200, &body, &[])
}

/// Issues an access token (and, for people, a refresh token).
fn issue(sim: &Simulator, request: Request, with_refresh: bool) {
    let serial = sim.token_serial.fetch_add(1, Ordering::SeqCst);
    let token = format!(
        "sim.{serial:08x}.{:016x}",
        (serial + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    );
    let lifetime = sim.faults.token_lifetime;
    if let Ok(mut tokens) = sim.tokens.lock() {
        tokens.insert(
            token.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        );
    }
    let mut body = json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token});
    if with_refresh {
        let refresh = format!("simrt.{serial:08x}");
        if let Ok(mut r) = sim.refresh_tokens.lock() {
            r.insert(refresh.clone());
        }
        body["refresh_token"] = json!(refresh);
    }
    respond(request, 200, &body, &[])
}

/// A token request's form fields.
type Form = HashMap<String, String>;

fn field<'a>(form: &'a Form, k: &str) -> &'a str {
    form.get(k).map(String::as_str).unwrap_or("")
}

fn oauth_error(code: &str, text: &str) -> Value {
    json!({"error": code, "error_description": text})
}

/// `POST /{tenant}/oauth2/v2.0/token`, by grant type.
pub(super) fn token(sim: &Simulator, request: Request) {
    let form: Form = url::form_urlencoded::parse(request.body())
        .into_owned()
        .collect();
    match field(&form, "grant_type") {
        crate::graph::auth::DEVICE_CODE_GRANT => {
            poll_device_code(sim, request, field(&form, "device_code"))
        }
        "refresh_token" => refresh(sim, request, field(&form, "refresh_token")),
        "client_credentials" => client_credentials(sim, request, &form),
        _ => {
            let e = json!({"error": "unsupported_grant_type", "error_description": "AADSTS70003: The app requested an unsupported grant type.", "error_codes": [70003]});
            respond(request, 400, &e, &[])
        }
    }
}

/// A device code poll: pending until the person has signed in, then tokens.
fn poll_device_code(sim: &Simulator, request: Request, code: &str) {
    let left = sim.device_codes.lock().ok().and_then(|mut c| {
        let n = c.get_mut(code)?;
        let left = *n;
        *n = n.saturating_sub(1);
        Some(left)
    });
    match left {
        None => respond(
            request,
            400,
            &oauth_error("expired_token", "AADSTS70019: Verification code expired."),
            &[],
        ),
        Some(0) => issue(sim, request, true),
        Some(_) => respond(
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

/// New tokens for a refresh token this server issued.
fn refresh(sim: &Simulator, request: Request, refresh_token: &str) {
    let known = sim
        .refresh_tokens
        .lock()
        .is_ok_and(|r| r.contains(refresh_token));
    if known {
        issue(sim, request, true)
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
            issue(sim, request, false)
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
    issue(sim, request, false)
}

/// Seconds since the Unix epoch, as a JWT's `exp` counts them.
fn now_secs() -> u64 {
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

/// An assertion signed with a certificate names it in its header (`x5t`).
fn certificate_assertion(jwt: &str) -> bool {
    jwt_part(jwt, 0).is_some_and(|h| h.get("x5t").is_some())
}

/// A certificate assertion is accepted when it names the registered certificate, its RS256
/// signature verifies with that certificate's key, it is about this client and this token
/// endpoint, and it has not expired.
fn certificate_ok(sim: &Simulator, jwt: &str, client_id: &str) -> bool {
    use base64::Engine;
    use rsa::signature::Verifier;
    let Some((x5t, key)) = &sim.certificate else {
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
    let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature.as_slice()) else {
        return false;
    };
    let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.clone());
    let now = now_secs();
    header["alg"] == "RS256"
        && header["x5t"] == x5t.as_str()
        && verifier
            .verify(signing_input.as_bytes(), &signature)
            .is_ok()
        && claims["iss"] == client_id
        && claims["sub"] == client_id
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

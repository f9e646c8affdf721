//! Request handling: token endpoint, Graph collections, ARM, and the faults.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tiny_http::{Header, Request, Response};

use super::faults::Fault;
use super::{Served, Simulator};
use crate::snapshot::Status;

const MAX_PAGE: usize = 999;
const DEFAULT_PAGE: usize = 100;
/// Mixed into page tokens so they are opaque, as Graph's are.
const TOKEN_KEY: u64 = 0x5DEE_CE66_D1CE_B00C;

fn respond(request: Request, status: u16, body: &Value, extra: &[(&str, &str)]) {
    let mut response = Response::from_string(body.to_string()).with_status_code(status);
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend_from_slice(extra);
    for (k, v) in headers {
        if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            response.add_header(h);
        }
    }
    let _ = request.respond(response);
}

/// Graph's error body, with the innerError Graph adds.
fn graph_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "innerError": {
        "date": "2026-11-20T08:00:00", "request-id": "7f3c1a52-2f4e-4a4b-9a57-1c7c1d0e2a11",
        "client-request-id": "7f3c1a52-2f4e-4a4b-9a57-1c7c1d0e2a11"}}})
}

pub fn handle(sim: &Simulator, mut request: Request) {
    let Ok(url) = url::Url::parse(&format!("http://simulator{}", request.url())) else {
        return respond(
            request,
            400,
            &graph_error("BadRequest", "Invalid request URL."),
            &[],
        );
    };
    let path = url.path().trim_end_matches('/').to_owned();
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if request.method() == &tiny_http::Method::Post && path.ends_with("/oauth2/v2.0/devicecode") {
        return device_code(sim, request);
    }
    if request.method() == &tiny_http::Method::Post && path.ends_with("/oauth2/v2.0/token") {
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        return token(sim, request, &body);
    }
    if request.method() == &tiny_http::Method::Post && path == "/v1.0/$batch" {
        let n = sim.requests.fetch_add(1, Ordering::SeqCst) + 1;
        if let Err((status, body)) = authorize(sim, &request, n) {
            return respond(request, status, &body, &[]);
        }
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        std::thread::sleep(sim.faults.latency());
        let (status, answer) = batch(sim, &body);
        return respond(request, status, &answer, &[]);
    }
    if let Some((status, body)) = per_user_path(&path).map(|(id, kind)| per_user(sim, id, kind)) {
        let n = sim.requests.fetch_add(1, Ordering::SeqCst) + 1;
        if let Err((status, body)) = authorize(sim, &request, n) {
            return respond(request, status, &body, &[]);
        }
        return respond(request, status, &body, &[]);
    }
    if request.method() != &tiny_http::Method::Get {
        return respond(
            request,
            405,
            &graph_error("BadRequest", "Only GET is served here."),
            &[],
        );
    }
    let n = sim.requests.fetch_add(1, Ordering::SeqCst) + 1;
    if let Err((status, body)) = authorize(sim, &request, n) {
        return respond(request, status, &body, &[]);
    }
    std::thread::sleep(sim.faults.latency());
    if sim
        .faults
        .stall_every
        .is_some_and(|k| k > 0 && n.is_multiple_of(k))
    {
        std::thread::sleep(Duration::from_millis(sim.faults.stall_ms));
    }
    match sim.faults.for_request(n) {
        Some(Fault::Drop) => {
            // Break the connection: what comes back is not HTTP, so the client's connection
            // fails as it does on a reset.
            let mut w = request.into_writer();
            let _ = w.write_all(b"\x00\x00\x00\r\n\r\n");
            let _ = w.flush();
            return;
        }
        Some(Fault::Throttle) => {
            let body = json!({"error": {"code": "TooManyRequests", "message": "Please retry again later.",
                "innerError": {"code": "429", "date": "2026-11-20T08:00:00", "message": "Please retry after",
                "request-id": "94fb3b52-452a-4535-a601-69e0a90e3aa2", "status": "429"}}});
            let retry = sim.faults.retry_after.as_str();
            let headers: Vec<(&str, &str)> = if retry == "none" {
                vec![]
            } else {
                vec![("Retry-After", retry)]
            };
            return respond(request, 429, &body, &headers);
        }
        Some(Fault::Unavailable) => {
            return respond(
                request,
                503,
                &graph_error(
                    "serviceNotAvailable",
                    "The service is temporarily unavailable.",
                ),
                &[],
            );
        }
        None => {}
    }
    if path.starts_with("/subscriptions") {
        return arm(sim, request, &path, &query);
    }
    let (collection, single) = match path.as_str() {
        "/v1.0/organization" => ("organization", false),
        "/v1.0/domains" => ("domains", false),
        "/v1.0/users" => ("users", false),
        "/v1.0/policies/authorizationPolicy" => ("authorizationPolicy", true),
        "/v1.0/policies/crossTenantAccessPolicy/default" => {
            ("crossTenantAccessPolicyDefault", true)
        }
        "/v1.0/policies/crossTenantAccessPolicy/partners" => {
            ("crossTenantAccessPolicyPartners", false)
        }
        "/beta/policies/b2bManagementPolicies" => ("b2bManagementPolicies", false),
        "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email" => {
            ("emailAuthenticationMethodConfiguration", true)
        }
        _ => {
            let segment = path.rsplit('/').next().unwrap_or("");
            return respond(
                request,
                400,
                &graph_error(
                    "BadRequest",
                    &format!("Resource not found for the segment '{segment}'."),
                ),
                &[],
            );
        }
    };
    let lines = match served(sim, collection) {
        Ok(lines) => lines,
        Err((status, body)) => return respond(request, status, &body, &[]),
    };
    if single {
        let Some(first) = lines.first() else {
            return respond(
                request,
                404,
                &graph_error("Request_ResourceNotFound", "Resource does not exist."),
                &[],
            );
        };
        let mut v: Value = serde_json::from_str(first).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "@odata.context".into(),
                json!(format!(
                    "https://graph.microsoft.com/v1.0/$metadata#{collection}/$entity"
                )),
            );
        }
        return respond(request, 200, &v, &[]);
    }
    page(sim, request, &path, &query, collection, lines)
}

/// `/v1.0/users/{id}/memberOf` or `/v1.0/users/{id}/authentication/methods`.
fn per_user_path(path: &str) -> Option<(&str, &'static str)> {
    let rest = path
        .strip_prefix("/v1.0/users/")
        .or_else(|| path.strip_prefix("/users/"))?;
    if let Some(id) = rest.strip_suffix("/memberOf") {
        return Some((id, "memberships"));
    }
    rest.strip_suffix("/authentication/methods")
        .map(|id| (id, "authenticationMethods"))
}

/// A user's groups or authentication methods: from the snapshot when it has them, otherwise
/// every user is in one group and has a password.
fn per_user(sim: &Simulator, id: &str, kind: &str) -> (u16, Value) {
    if !sim.tenant.user_ids.contains(id) {
        return (
            404,
            graph_error(
                "Request_ResourceNotFound",
                &format!(
                    "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
                ),
            ),
        );
    }
    if sim.faults.deny.iter().any(|d| d == kind) {
        return (
            403,
            graph_error(
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ),
        );
    }
    let key = if kind == "memberships" {
        "memberOf"
    } else {
        "methods"
    };
    if let Some(Served::Lines(lines)) = sim.tenant.collections.get(kind) {
        let found = lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["id"] == id);
        if let Some(v) = found {
            return (200, json!({"value": v[key].clone()}));
        }
    }
    let value = if kind == "memberships" {
        json!([{"@odata.type": "#microsoft.graph.group", "id": "0f3c2b1a-9e8d-4c7b-a6f5-e4d3c2b1a098", "displayName": "All Company"}])
    } else {
        json!([{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "28c10230-6103-485e-b985-444c60001490", "password": null}])
    };
    (200, json!({ "value": value }))
}

/// `$batch`: at most 20 requests with unique ids, each answered on its own, some throttled.
fn batch(sim: &Simulator, body: &str) -> (u16, Value) {
    let Ok(parsed) = serde_json::from_str::<Value>(body) else {
        return (
            400,
            graph_error("BadRequest", "Invalid batch payload format."),
        );
    };
    let Some(requests) = parsed["requests"].as_array() else {
        return (
            400,
            graph_error("BadRequest", "Invalid batch payload format."),
        );
    };
    if requests.len() > 20 {
        return (
            400,
            graph_error(
                "BadRequest",
                "The number of batch requests exceeds the limit of 20.",
            ),
        );
    }
    let mut ids = std::collections::HashSet::new();
    if !requests.iter().all(|r| {
        r["id"]
            .as_str()
            .is_some_and(|i| ids.insert(i.to_ascii_lowercase()))
    }) {
        return (
            400,
            graph_error("BadRequest", "Batch request ids must be unique."),
        );
    }
    let responses: Vec<Value> = requests
        .iter()
        .map(|r| {
            let id = r["id"].clone();
            let n = sim.batch_requests.fetch_add(1, Ordering::SeqCst) + 1;
            if sim.faults.batch_throttle_every.is_some_and(|k| k > 0 && n.is_multiple_of(k)) {
                return json!({"id": id, "status": 429, "headers": {"Retry-After": "0", "Content-Type": "application/json"},
                    "body": {"error": {"code": "TooManyRequests", "message": "Too many requests."}}});
            }
            let url = r["url"].as_str().unwrap_or("");
            let path = url.split('?').next().unwrap_or("");
            let (status, body) = match (r["method"].as_str(), per_user_path(path)) {
                (Some("GET"), Some((user, kind))) => per_user(sim, user, kind),
                _ => (400, graph_error("BadRequest", "Only per-user GET requests are simulated in a batch.")),
            };
            json!({"id": id, "status": status, "headers": {"Content-Type": "application/json"}, "body": body})
        })
        .collect();
    (200, json!({ "responses": responses }))
}

/// Starts a device code sign-in; the simulated person signs in after two polls.
fn device_code(sim: &Simulator, request: Request) {
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

fn token(sim: &Simulator, request: Request, body: &str) {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let oauth_error = |code: &str, text: &str| json!({"error": code, "error_description": text});
    match field("grant_type") {
        crate::graph::auth::DEVICE_CODE_GRANT => {
            let left = sim.device_codes.lock().ok().and_then(|mut c| {
                let n = c.get_mut(field("device_code"))?;
                let left = *n;
                *n = n.saturating_sub(1);
                Some(left)
            });
            return match left {
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
            };
        }
        "refresh_token" => {
            let known = sim
                .refresh_tokens
                .lock()
                .is_ok_and(|r| r.contains(field("refresh_token")));
            return if known {
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
            };
        }
        _ => {}
    }
    if field("grant_type") != "client_credentials" {
        let e = json!({"error": "unsupported_grant_type", "error_description": "AADSTS70003: The app requested an unsupported grant type.", "error_codes": [70003]});
        return respond(request, 400, &e, &[]);
    }
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
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
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
    use base64::Engine;
    let Some((issuer, subject)) = &sim.federated else {
        return false;
    };
    let Some(payload) = assertion.split('.').nth(1) else {
        return false;
    };
    let decoded =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('='));
    let Some(claims) = decoded
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
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

fn authorize(sim: &Simulator, request: &Request, n: u64) -> Result<(), (u16, Value)> {
    let bearer = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| h.value.as_str().strip_prefix("Bearer "))
        .map(str::to_owned);
    let Some(bearer) = bearer else {
        return Err((
            401,
            graph_error("InvalidAuthenticationToken", "Access token is empty."),
        ));
    };
    let mut expiry = sim.tokens.lock().ok().and_then(|t| t.get(&bearer).copied());
    if sim
        .faults
        .expire_token_every
        .is_some_and(|k| k > 0 && n.is_multiple_of(k))
        && let Ok(mut tokens) = sim.tokens.lock()
    {
        // The token dies now: this request and any later one with it are refused.
        tokens.insert(bearer.clone(), Instant::now());
        expiry = Some(Instant::now());
    }
    match expiry {
        None => Err((
            401,
            graph_error(
                "InvalidAuthenticationToken",
                "IDX14100: JWT is not well formed.",
            ),
        )),
        Some(until) if Instant::now() >= until => Err((
            401,
            graph_error(
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            ),
        )),
        Some(_) => Ok(()),
    }
}

fn served<'a>(sim: &'a Simulator, collection: &str) -> Result<&'a [Box<str>], (u16, Value)> {
    if sim.faults.deny.iter().any(|d| d == collection) {
        return Err((
            403,
            graph_error(
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ),
        ));
    }
    match sim.tenant.collections.get(collection) {
        Some(Served::Lines(lines)) => Ok(lines),
        Some(Served::Missing(Status::Denied)) => Err((
            403,
            graph_error(
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ),
        )),
        _ => Err((
            404,
            graph_error("Request_ResourceNotFound", "Resource not found."),
        )),
    }
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// One page of a collection: `$top` (at most 999), `$select`, and an opaque `$skiptoken` in a
/// nextLink that repeats every other query parameter.
fn page(
    sim: &Simulator,
    request: Request,
    path: &str,
    query: &[(String, String)],
    collection: &str,
    lines: &[Box<str>],
) {
    let top = match param(query, "$top").map(str::parse::<usize>) {
        None => DEFAULT_PAGE,
        Some(Ok(t)) if (1..=MAX_PAGE).contains(&t) => t,
        Some(_) => {
            let t = param(query, "$top").unwrap_or("");
            return respond(
                request,
                400,
                &graph_error(
                    "Request_BadRequest",
                    &format!(
                        "Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."
                    ),
                ),
                &[],
            );
        }
    };
    let offset = match param(query, "$skiptoken") {
        None => 0,
        Some(token) => {
            let paged = sim.page_requests.fetch_add(1, Ordering::SeqCst) + 1;
            if sim.faults.expire_now(paged) {
                return respond(
                    request,
                    400,
                    &graph_error(
                        "Directory_ExpiredPageToken",
                        "The specified page token value has expired and can no longer be included in your request.",
                    ),
                    &[],
                );
            }
            match u64::from_str_radix(token.trim_start_matches("RFNwdAIAAQAAAD8"), 16) {
                Ok(v) => (v ^ TOKEN_KEY) as usize,
                Err(_) => {
                    return respond(request, 400, &graph_error("", "Invalid Skip Token"), &[]);
                }
            }
        }
    };
    let select: Option<Vec<String>> = param(query, "$select").map(|s| {
        s.split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .collect()
    });
    let end = (offset + top).min(lines.len());
    let records: Vec<String> = lines[offset.min(end)..end]
        .iter()
        .map(|l| project(l, select.as_deref()))
        .collect();
    let host = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str().to_owned())
        .unwrap_or_else(|| "localhost".into());
    let mut next_link = None;
    let this_url = format!("http://{host}{}", request.url());
    let users_page = collection == "users" && {
        let n = sim.users_pages.fetch_add(1, Ordering::SeqCst) + 1;
        sim.faults.repeat_now(n)
    };
    if users_page && offset > 0 {
        next_link = Some(this_url);
    } else if end < lines.len() {
        let mut next = url::Url::parse(&format!("http://{host}{path}")).expect("a valid URL");
        {
            let mut pairs = next.query_pairs_mut();
            for (k, v) in query
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
            {
                pairs.append_pair(k, v);
            }
            pairs.append_pair(
                "$skiptoken",
                &format!("RFNwdAIAAQAAAD8{:016x}", end as u64 ^ TOKEN_KEY),
            );
        }
        next_link = Some(next.to_string());
    }
    // Assembled as text: the records are already JSON.
    let mut body = format!(
        "{{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#{collection}\",\"value\":[{}]",
        records.join(",")
    );
    if let Some(link) = next_link {
        body.push_str(&format!(",\"@odata.nextLink\":{}", json!(link)));
    }
    body.push('}');
    respond_text(request, 200, body)
}

fn respond_text(request: Request, status: u16, body: String) {
    let mut response = Response::from_string(body).with_status_code(status);
    if let Ok(h) = Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]) {
        response.add_header(h);
    }
    let _ = request.respond(response);
}

/// A record with only the `$select`ed properties. Property values stay raw text, so a page
/// costs little more than copying its bytes.
fn project(line: &str, select: Option<&[String]>) -> String {
    type Raw<'a> = &'a serde_json::value::RawValue;
    let Some(keep) = select else {
        return line.to_owned();
    };
    // Borrowed keys and values: nothing is copied until the kept ones are written out.
    match serde_json::from_str::<std::collections::BTreeMap<std::borrow::Cow<str>, Raw>>(line) {
        Ok(map) => {
            let kept: std::collections::BTreeMap<_, _> = map
                .into_iter()
                .filter(|(k, _)| keep.iter().any(|s| s.eq_ignore_ascii_case(k)))
                .collect();
            serde_json::to_string(&kept).unwrap_or_else(|_| "null".into())
        }
        Err(_) => "null".into(),
    }
}

/// Subscriptions, and the guestUsages resources that link the tenant to one.
fn arm(sim: &Simulator, request: Request, path: &str, query: &[(String, String)]) {
    if param(query, "api-version").is_none() {
        let e = json!({"error": {"code": "MissingApiVersionParameter", "message": "The api-version query parameter (?api-version=) is required for all requests."}});
        return respond(request, 400, &e, &[]);
    }
    let usages: Vec<Value> = match served(sim, "guestUsages") {
        Ok(lines) => lines
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        Err((403, _)) => {
            let e = json!({"error": {"code": "AuthorizationFailed", "message": "The client does not have authorization to perform action 'Microsoft.AzureActiveDirectory/guestUsages/read'."}});
            return respond(request, 403, &e, &[]);
        }
        Err(_) => Vec::new(),
    };
    let subscription_of = |v: &Value| {
        v["id"]
            .as_str()
            .and_then(|id| id.split('/').nth(2))
            .map(str::to_owned)
    };
    let mut subscriptions: Vec<String> = usages.iter().filter_map(subscription_of).collect();
    subscriptions.sort();
    subscriptions.dedup();
    if subscriptions.is_empty() {
        subscriptions.push("2d1c3b4a-5f6e-4d7c-8b9a-0e1f2a3b4c5d".into());
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["subscriptions"] => {
            let value: Vec<Value> = subscriptions
                .iter()
                .map(|s| json!({"id": format!("/subscriptions/{s}"), "subscriptionId": s, "tenantId": sim.tenant.id, "displayName": "Identity", "state": "Enabled"}))
                .collect();
            respond(request, 200, &json!({"value": value}), &[])
        }
        ["subscriptions", sub, "providers", provider, "guestUsages"]
            if provider.eq_ignore_ascii_case("Microsoft.AzureActiveDirectory") =>
        {
            let value: Vec<&Value> = usages
                .iter()
                .filter(|u| subscription_of(u).as_deref() == Some(*sub))
                .collect();
            respond(request, 200, &json!({"value": value}), &[])
        }
        _ => {
            let e = json!({"error": {"code": "InvalidResourceType", "message": "The resource type could not be found."}});
            respond(request, 404, &e, &[])
        }
    }
}

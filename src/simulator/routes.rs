//! Request handling: which handler answers a request, the bearer token every Graph and ARM
//! request must carry, and the faults a run switches on. The handlers live in `token`
//! (sign-in), `collections` (Graph lists and objects), `batch` (per-user requests and
//! `$batch`), `user_api` (one user: read, change, delete, restore), `invite` (invitations),
//! `arm` (subscriptions and guestUsages) and `control` (test-only routes).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Simulator;
use super::faults::Fault;
use super::http::Request;
use super::respond::{graph_error, respond};
use super::{
    arm, batch, collections, control, delta, directory, identity, invite, token, user_api,
};

pub fn handle(sim: &Simulator, request: Request) {
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
    if let Some(after) = sim.accept_after {
        // Acceptances are applied before anything reads a user.
        sim.tenant.users.settle(after, Instant::now());
    }
    let post = request.method() == "POST";
    if post && path.ends_with("/oauth2/v2.0/devicecode") {
        return token::device_code(sim, request);
    }
    if post && path.ends_with("/oauth2/v2.0/token") {
        return token::token(sim, request);
    }
    if post && path == "/v1.0/$batch" {
        return batch::serve_batch(sim, request);
    }
    if let Some((id, kind)) = batch::per_user_path(&path) {
        return batch::serve_per_user(sim, request, id, kind);
    }
    if path == "/_simulator" || path.starts_with("/_simulator/") {
        return control::serve(sim, request, &path);
    }
    let Some(request) = identity::serve(sim, request, &path, &query) else {
        return;
    };
    graph(sim, request, &path, &query)
}

/// A Graph or ARM request: its token checked, its latency and faults, then its answer.
fn graph(sim: &Simulator, request: Request, path: &str, query: &[(String, String)]) {
    let invitation = request.method() == "POST" && path == "/v1.0/invitations";
    let delta = path == "/v1.0/users/delta";
    let on_user = user_api::route(request.method(), path).filter(|_| !delta);
    if !invitation && on_user.is_none() && request.method() != "GET" {
        return respond(
            request,
            405,
            &graph_error("BadRequest", "This method is not served here."),
            &[],
        );
    }
    let n = match admit(sim, &request) {
        Ok(n) => n,
        Err((status, body)) => return respond(request, status, &body, &[]),
    };
    if invitation {
        // It draws its latency and faults itself, after counting the POST.
        return invite::serve(sim, request, n);
    }
    let Some(request) = pass(sim, request, n) else {
        return;
    };
    if let Some(route) = on_user {
        return user_api::serve(sim, request, route, query);
    }
    if path.starts_with("/subscriptions") {
        return arm::arm(sim, request, path, query);
    }
    if delta {
        return delta::serve(sim, request, query);
    }
    if let Some(lookup) = directory::route(path) {
        return directory::serve(sim, request, lookup);
    }
    collections::serve(sim, request, path, query)
}

/// The latency and stall of the `n`th request, then the fault it draws, answered here; the
/// request back when it draws none.
pub(super) fn pass<'a>(sim: &Simulator, request: Request<'a>, n: u64) -> Option<Request<'a>> {
    delay(sim, n);
    match sim.faults.for_request(n) {
        Some(fault) => {
            inject(sim, request, fault);
            None
        }
        None => Some(request),
    }
}

/// Counts a Graph or ARM request and checks its token; the request's number when accepted.
pub(super) fn admit(sim: &Simulator, request: &Request) -> Result<u64, (u16, Value)> {
    let n = sim.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let expire = sim
        .faults
        .expire_token_every
        .is_some_and(|k| k > 0 && n.is_multiple_of(k));
    authorize(sim, request, expire).map(|()| n)
}

/// Checks a request's token without counting it, so that it moves no fault's count (for the
/// test-only routes).
pub(super) fn check_token(sim: &Simulator, request: &Request) -> Result<(), (u16, Value)> {
    authorize(sim, request, false)
}

/// Checks the bearer token; `expire` makes it expire now (a fault).
fn authorize(sim: &Simulator, request: &Request, expire: bool) -> Result<(), (u16, Value)> {
    let bearer = request
        .header("Authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_owned);
    let Some(bearer) = bearer else {
        return Err((
            401,
            graph_error("InvalidAuthenticationToken", "Access token is empty."),
        ));
    };
    let mut expiry = sim.tokens.lock().ok().and_then(|t| t.get(&bearer).copied());
    if expire && let Ok(mut tokens) = sim.tokens.lock() {
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

/// The latency every request gets, and the stall every Nth one does.
fn delay(sim: &Simulator, n: u64) {
    std::thread::sleep(sim.faults.latency());
    if sim
        .faults
        .stall_every
        .is_some_and(|k| k > 0 && n.is_multiple_of(k))
    {
        std::thread::sleep(Duration::from_millis(sim.faults.stall_ms));
    }
}

/// Answers a request with the fault it drew instead of what it asked for.
pub(super) fn inject(sim: &Simulator, request: Request, fault: Fault) {
    match fault {
        Fault::Drop => {
            // Break the connection: what comes back is not HTTP, so the client's connection
            // fails as it does on a reset.
            request.break_connection(b"\x00\x00\x00\r\n\r\n")
        }
        Fault::Throttle => {
            let body = json!({"error": {"code": "TooManyRequests", "message": "Please retry again later.",
                "innerError": {"code": "429", "date": "2026-11-20T08:00:00", "message": "Please retry after",
                "request-id": "94fb3b52-452a-4535-a601-69e0a90e3aa2", "status": "429"}}});
            let retry = sim.faults.retry_after.as_str();
            let headers: Vec<(&str, &str)> = if retry == "none" {
                vec![]
            } else {
                vec![("Retry-After", retry)]
            };
            respond(request, 429, &body, &headers)
        }
        Fault::Unavailable => respond(
            request,
            503,
            &graph_error(
                "serviceNotAvailable",
                "The service is temporarily unavailable.",
            ),
            &[],
        ),
    }
}

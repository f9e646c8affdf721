//! The per-user requests the export sends (a user's memberOf and authentication methods),
//! alone or inside a `$batch`.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::http::Request;
use super::respond::{denied, graph_error, not_found, respond};
use super::routes::admit;
use super::{Served, Simulator};

/// `/v1.0/users/{id}/memberOf` or `/v1.0/users/{id}/authentication/methods`.
pub(super) fn per_user_path(path: &str) -> Option<(&str, &'static str)> {
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
    // Deleted users have neither groups nor methods to list.
    if sim.tenant.users.read().live(id).is_none() {
        return (404, not_found(id));
    }
    if sim.faults.deny.iter().any(|d| d == kind) {
        return (403, denied());
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

/// `POST /v1.0/$batch`, once its token is accepted.
pub(super) fn serve_batch(sim: &Simulator, request: Request) {
    if let Err((status, body)) = admit(sim, &request) {
        return respond(request, status, &body, &[]);
    }
    std::thread::sleep(sim.faults.latency());
    let (status, answer) = batch(sim, &String::from_utf8_lossy(request.body()));
    respond(request, status, &answer, &[])
}

/// A single per-user request, once its token is accepted.
pub(super) fn serve_per_user(sim: &Simulator, request: Request, id: &str, kind: &str) {
    let (status, body) = per_user(sim, id, kind);
    if let Err((status, body)) = admit(sim, &request) {
        return respond(request, status, &body, &[]);
    }
    respond(request, status, &body, &[])
}

/// `$batch`: at most 20 requests with unique ids, each answered on its own, some throttled.
fn batch(sim: &Simulator, body: &str) -> (u16, Value) {
    let Ok(parsed) = serde_json::from_str::<Value>(body) else {
        return (
            400,
            graph_error("BadRequest", "Invalid batch payload format."),
        );
    };
    let requests = match requests_of(&parsed) {
        Ok(requests) => requests,
        Err(e) => return (400, e),
    };
    let responses: Vec<Value> = requests.iter().map(|r| answer(sim, r)).collect();
    (200, json!({ "responses": responses }))
}

/// The requests of a batch Graph accepts: at most 20, each with an id of its own.
fn requests_of(parsed: &Value) -> Result<&[Value], Value> {
    let Some(requests) = parsed["requests"].as_array() else {
        return Err(graph_error("BadRequest", "Invalid batch payload format."));
    };
    if requests.len() > 20 {
        return Err(graph_error(
            "BadRequest",
            "The number of batch requests exceeds the limit of 20.",
        ));
    }
    let mut ids = std::collections::HashSet::new();
    if !requests.iter().all(|r| {
        r["id"]
            .as_str()
            .is_some_and(|i| ids.insert(i.to_ascii_lowercase()))
    }) {
        return Err(graph_error(
            "BadRequest",
            "Batch request ids must be unique.",
        ));
    }
    Ok(requests)
}

/// The response to one request of a batch.
fn answer(sim: &Simulator, r: &Value) -> Value {
    let id = r["id"].clone();
    let n = sim.batch_requests.fetch_add(1, Ordering::SeqCst) + 1;
    if sim
        .faults
        .batch_throttle_every
        .is_some_and(|k| k > 0 && n.is_multiple_of(k))
    {
        return json!({"id": id, "status": 429, "headers": {"Retry-After": "0", "Content-Type": "application/json"},
            "body": {"error": {"code": "TooManyRequests", "message": "Too many requests."}}});
    }
    let url = r["url"].as_str().unwrap_or("");
    let path = url.split('?').next().unwrap_or("");
    let (status, body) = match (r["method"].as_str(), per_user_path(path)) {
        (Some("GET"), Some((user, kind))) => per_user(sim, user, kind),
        _ => (
            400,
            graph_error(
                "BadRequest",
                "Only per-user GET requests are simulated in a batch.",
            ),
        ),
    };
    json!({"id": id, "status": status, "headers": {"Content-Type": "application/json"}, "body": body})
}

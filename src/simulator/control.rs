//! Routes for tests only, under `/_simulator/`: the invitations counted so far, users set up
//! by hand (any property, read-only ones too; added; removed for good), and users delta tokens
//! made to expire. They need a
//! token like Graph's routes but draw no latency or fault and move no fault's count.

use std::time::Instant;

use serde_json::{Value, json};

use super::Simulator;
use super::directory::decode;
use super::http::Request;
use super::invite::ledger;
use super::respond::{Refusal, graph_error, no_content, not_found, respond};
use super::routes::check_token;
use super::user_api::object_body;

pub(super) fn serve(sim: &Simulator, request: Request, path: &str) {
    if let Err((status, body)) = check_token(sim, &request) {
        return respond(request, status, &body, &[]);
    }
    let rest = path
        .trim_start_matches("/_simulator")
        .trim_start_matches('/');
    let user = rest
        .strip_prefix("users/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .map(decode);
    match (request.method(), rest, user) {
        ("GET", "invitations", _) => {
            let body = ledger(sim).to_json();
            respond(request, 200, &body, &[])
        }
        ("POST", "users", _) => add(sim, request),
        ("POST", "delta", _) => expire_delta(sim, request),
        ("PATCH", _, Some(id)) => set(sim, request, &id),
        ("DELETE", _, Some(id)) => {
            let mut store = sim.tenant.users.write();
            match store.find(&id) {
                Some(line) => {
                    store.remove(line, Instant::now());
                    drop(store);
                    no_content(request)
                }
                None => respond(request, 404, &not_found(&id), &[]),
            }
        }
        _ => respond(
            request,
            404,
            &graph_error("Request_ResourceNotFound", "No such simulator route."),
            &[],
        ),
    }
}

/// `POST /_simulator/users`: adds the user object of the body; 201 with it.
fn add(sim: &Simulator, request: Request) {
    let user = match object_body(request.body()) {
        Ok(user) => user,
        Err(refusal) => return refusal.send(request),
    };
    let added = sim
        .tenant
        .users
        .write()
        .insert(user.clone(), Instant::now());
    match added {
        Ok(_) => respond(request, 201, &Value::Object(user), &[]),
        Err(message) => Refusal::new(400, "Request_BadRequest", &message).send(request),
    }
}

/// `PATCH /_simulator/users/{id}`: sets every property of the body on the user, soft-deleted
/// or not (null removes it); 200 with the user as it now is. Its id cannot change.
fn set(sim: &Simulator, request: Request, id: &str) {
    let changes = match object_body(request.body()) {
        Ok(changes) => changes,
        Err(refusal) => return refusal.send(request),
    };
    if changes
        .get("id")
        .is_some_and(|new| !new.as_str().is_some_and(|n| n.eq_ignore_ascii_case(id)))
    {
        let refusal = Refusal::new(400, "Request_BadRequest", "A user's id cannot change.");
        return refusal.send(request);
    }
    let user = {
        let mut store = sim.tenant.users.write();
        store.find(id).map(|line| {
            store.edit(line, &changes, Instant::now());
            store.object(line)
        })
    };
    match user {
        Some(user) => respond(request, 200, &json!(user), &[]),
        None => respond(request, 404, &not_found(id), &[]),
    }
}

/// `POST /_simulator/delta` with `{"expire": "syncStateNotFound"}` or `{"expire": "reset"}`:
/// every users delta token issued so far is refused that way from now on; 204.
fn expire_delta(sim: &Simulator, request: Request) {
    let how = match object_body(request.body()) {
        Ok(body) => match body.get("expire").and_then(Value::as_str) {
            Some("syncStateNotFound") => super::delta::Refusal::Expired,
            Some("reset") => super::delta::Refusal::Reset,
            _ => {
                let message = "expire must be \"syncStateNotFound\" or \"reset\".";
                return Refusal::new(400, "Request_BadRequest", message).send(request);
            }
        },
        Err(refusal) => return refusal.send(request),
    };
    sim.tenant.users.write().expire_delta_tokens(how);
    no_content(request)
}

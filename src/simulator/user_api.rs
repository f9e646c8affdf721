//! Graph's requests on one user: read it, change it, delete it (soft) and restore it.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::Simulator;
use super::collections::{param, project, selection, users_served};
use super::directory::decode;
use super::http::Request;
use super::respond::{Refusal, denied, no_content, not_found, not_found_message, respond};

pub(super) enum Route {
    Get(String),
    Patch(String),
    Delete(String),
    Restore(String),
}

const USERS: &str = "/v1.0/users/";
const DELETED: &str = "/v1.0/directory/deletedItems/";

/// The route of a request on one user. A user's memberOf and authentication methods are not
/// among them (see `batch`).
pub(super) fn route(method: &str, path: &str) -> Option<Route> {
    let single = |rest: &str| (!rest.is_empty() && !rest.contains('/')).then(|| decode(rest));
    if method == "POST"
        && let Some(id) = path
            .strip_prefix(DELETED)
            .and_then(|r| r.strip_suffix("/restore"))
            .and_then(single)
    {
        return Some(Route::Restore(id));
    }
    let id = path.strip_prefix(USERS).and_then(single)?;
    match method {
        "GET" => Some(Route::Get(id)),
        "PATCH" => Some(Route::Patch(id)),
        "DELETE" => Some(Route::Delete(id)),
        _ => None,
    }
}

/// Answers a request on one user, once its token is accepted and its faults drawn.
pub(super) fn serve(sim: &Simulator, request: Request, route: Route, query: &[(String, String)]) {
    let writes = !matches!(route, Route::Get(_));
    if writes && sim.faults.deny.iter().any(|d| d == "userWrites") {
        return respond(request, 403, &denied(), &[]);
    }
    match route {
        Route::Get(id) => get(sim, request, &id, query),
        Route::Patch(id) => match patch(sim, &id, request.body()) {
            Ok(()) => no_content(request),
            Err(refusal) => refusal.send(request),
        },
        Route::Delete(id) => {
            let mut store = sim.tenant.users.write();
            match store.live(&id) {
                Some(line) => {
                    store.set_deleted(line, true);
                    drop(store);
                    no_content(request)
                }
                None => respond(request, 404, &not_found(&id), &[]),
            }
        }
        Route::Restore(id) => restore(sim, request, &id),
    }
}

fn get(sim: &Simulator, request: Request, id: &str, query: &[(String, String)]) {
    if let Err((status, body)) = users_served(sim) {
        return respond(request, status, &body, &[]);
    }
    let text = {
        let store = sim.tenant.users.read();
        store.live(id).map(|line| {
            let select = param(query, "$select").map(selection);
            project(store.line(line), select.as_deref())
        })
    };
    let Some(text) = text else {
        return respond(request, 404, &not_found(id), &[]);
    };
    let mut user: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!({}));
    if let Some(user) = user.as_object_mut() {
        user.insert(
            "@odata.context".into(),
            json!("https://graph.microsoft.com/v1.0/$metadata#users/$entity"),
        );
    }
    respond(request, 200, &user, &[])
}

/// Properties Graph does not let a client set on a user.
fn read_only(name: &str) -> bool {
    const FIXED: [&str; 11] = [
        "id",
        "externalUserState",
        "externalUserStateChangeDateTime",
        "externalUserConvertedOn",
        "creationType",
        "identities",
        "proxyAddresses",
        "createdDateTime",
        "deletedDateTime",
        "securityIdentifier",
        "assignedPlans",
    ];
    FIXED.iter().any(|f| f.eq_ignore_ascii_case(name))
        || name
            .get(..10)
            .is_some_and(|p| p.eq_ignore_ascii_case("onPremises"))
}

/// The JSON object a write request carries.
pub(super) fn object_body(body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    serde_json::from_slice(body).map_err(|_| {
        Refusal::new(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
    })
}

fn patch(sim: &Simulator, id: &str, body: &[u8]) -> Result<(), Refusal> {
    let changes = object_body(body)?;
    if let Some(name) = changes.keys().find(|k| read_only(k)) {
        return Err(Refusal::new(
            400,
            "Request_BadRequest",
            &format!("Property '{name}' is read-only and cannot be set."),
        ));
    }
    let mut store = sim.tenant.users.write();
    let Some(line) = store.live(id) else {
        return Err(Refusal::new(
            404,
            "Request_ResourceNotFound",
            &not_found_message(id),
        ));
    };
    store.edit(line, &changes, Instant::now());
    Ok(())
}

/// Restores a soft-deleted user: 200 with the user, as a directory object.
fn restore(sim: &Simulator, request: Request, id: &str) {
    let user = {
        let mut store = sim.tenant.users.write();
        match store.find(id).filter(|l| store.is_deleted(*l)) {
            Some(line) => {
                store.set_deleted(line, false);
                Some(store.object(line))
            }
            None => None,
        }
    };
    let Some(mut user) = user else {
        return respond(request, 404, &not_found(id), &[]);
    };
    user.insert(
        "@odata.context".into(),
        json!("https://graph.microsoft.com/v1.0/$metadata#directoryObjects/$entity"),
    );
    user.insert("@odata.type".into(), json!("#microsoft.graph.user"));
    respond(request, 200, &Value::Object(user), &[])
}

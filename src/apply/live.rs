//! What apply reads from and writes to the live tenant: one account as Graph has it now, the
//! tenant the signed-in identity acts in, and the plain checks that an account is still the
//! internal account the plan was made for.

use serde_json::Value;

use crate::export::catalogue::USER_SELECT;
use crate::graph::{Client, GraphError, Resource};
use crate::plan::PlannedAccount;

/// An account's path segment, percent-encoded: a plan is data, not a URL.
fn user_url(client: &Client, id: &str, select: &str) -> String {
    let segment: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!(
        "{}/v1.0/users/{}?$select={select}",
        client.endpoints.graph,
        segment.replace('+', "%20")
    )
}

/// The account as Graph has it now, with every property the rules read; `None` when it is
/// gone (deleted, or never there).
pub fn read_user(client: &Client, id: &str) -> Result<Option<Value>, GraphError> {
    read(client, id, USER_SELECT)
}

/// Only what `apply --status` needs.
pub fn read_state(client: &Client, id: &str) -> Result<Option<Value>, GraphError> {
    read(
        client,
        id,
        "id,externalUserState,externalUserStateChangeDateTime",
    )
}

fn read(client: &Client, id: &str, select: &str) -> Result<Option<Value>, GraphError> {
    match client.get(Resource::Graph, &user_url(client, id, select)) {
        Ok(page) => {
            let text = page.value.first().map(|v| v.get()).unwrap_or("null");
            let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            Ok(value.is_object().then_some(value))
        }
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The tenant the identity signs in to: the token's `tid` claim when the token is a JWT,
/// otherwise the organization Graph answers for.
pub fn tenant_of(client: &Client) -> Result<String, GraphError> {
    let token = client.token(Resource::Graph)?;
    if let Some(tid) = tid_claim(token.expose()) {
        return Ok(tid);
    }
    let url = format!("{}/v1.0/organization?$select=id", client.endpoints.graph);
    let page = client.get(Resource::Graph, &url)?;
    page.value
        .first()
        .and_then(|v| serde_json::from_str::<Value>(v.get()).ok())
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .ok_or_else(|| GraphError::Network {
            url: url.clone(),
            message: "the organization has no id".into(),
        })
}

/// The `tid` claim of a JWT, read without checking its signature: it only tells which
/// tenant the token was issued for, and Graph checks the token itself.
fn tid_claim(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["tid"].as_str().map(str::to_owned)
}

/// Whether an account read live has been invited (its invitation pending or redeemed).
pub fn invited(live: &Value) -> bool {
    matches!(
        live["externalUserState"].as_str(),
        Some("PendingAcceptance" | "Accepted")
    )
}

/// What makes a live account no longer the one the plan would invite, before any rule: its
/// mail changed, or it is no longer internal. A planned resend expects a pending invitation.
pub fn changed(account: &PlannedAccount, live: &Value) -> Option<String> {
    let mail = live["mail"].as_str().unwrap_or("");
    let planned = &account.request.invited_user_email_address;
    if mail != planned {
        return Some(if mail.is_empty() {
            format!("mail was removed (planned {planned})")
        } else {
            format!("mail changed from {planned} to {mail}")
        });
    }
    let upn = live["userPrincipalName"].as_str().unwrap_or("");
    if upn.to_ascii_uppercase().contains("#EXT#") {
        return Some(format!(
            "the account is external now (userPrincipalName {upn})"
        ));
    }
    if live["creationType"].as_str() == Some("Invitation") {
        return Some("the account is external now (creationType Invitation)".into());
    }
    match (live["externalUserState"].as_str(), account.resend) {
        (None, false) | (Some("PendingAcceptance"), true) => None,
        (Some(state), false) => Some(format!(
            "already invited since the plan was made: externalUserState is {state}"
        )),
        (Some(state), true) => Some(format!("no longer pending: externalUserState is {state}")),
        (None, true) => Some("no longer pending: the invitation was withdrawn or reset".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tid_claim_is_read_from_a_jwt() {
        use base64::Engine;
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"tid":"4a7c8d1e-0000-4000-8000-000000000001","aud":"x"}"#);
        let token = format!("eyJhbGciOiJub25lIn0.{claims}.sig");
        assert_eq!(
            tid_claim(&token).as_deref(),
            Some("4a7c8d1e-0000-4000-8000-000000000001")
        );
        assert_eq!(tid_claim("opaque-token"), None);
    }
}

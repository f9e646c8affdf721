//! Azure Resource Manager: the subscriptions the tenant's guestUsages resources live in, and
//! those resources, which link the tenant to a subscription for billing.

use serde_json::{Value, json};

use super::Simulator;
use super::collections::{param, served};
use super::http::Request;
use super::respond::respond;

/// Subscriptions, and the guestUsages resources that link the tenant to one.
pub(super) fn arm(sim: &Simulator, request: Request, path: &str, query: &[(String, String)]) {
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

//! The directory requests that are not plain lists: the members of an administrative unit,
//! and `findTenantInformationByDomainName`, answered from the snapshot's `domainTenants` (a
//! domain it does not list has no tenant, as Graph answers for consumer domains).

use serde_json::{Value, json};

use super::Simulator;
use super::collections::served;
use super::http::Request;
use super::respond::{graph_error, respond};

pub(super) enum Lookup {
    Members(String),
    Tenant(String),
}

const UNITS: &str = "/v1.0/directory/administrativeUnits/";
const FIND_TENANT: &str = "/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName=";

pub(super) fn route(path: &str) -> Option<Lookup> {
    if let Some(unit) = path
        .strip_prefix(UNITS)
        .and_then(|rest| rest.strip_suffix("/members"))
        .filter(|u| !u.contains('/'))
    {
        return Some(Lookup::Members(decode(unit)));
    }
    let quoted = path.strip_prefix(FIND_TENANT)?.strip_suffix(')')?;
    let domain = decode(quoted);
    let domain = domain.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(Lookup::Tenant(domain.replace("''", "'")))
}

/// A path segment or query value, percent-decoded.
pub(super) fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub(super) fn serve(sim: &Simulator, request: Request, lookup: Lookup) {
    let collection = match lookup {
        Lookup::Members(_) => "administrativeUnits",
        Lookup::Tenant(_) => "domainTenants",
    };
    let lines = match served(sim, collection) {
        Ok(lines) => lines,
        Err((status, body)) => return respond(request, status, &body, &[]),
    };
    let records = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok());
    let (status, body) = match lookup {
        Lookup::Members(unit) => match records.into_iter().find(|u| {
            u["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(&unit))
        }) {
            Some(u) => {
                let members: Vec<Value> = u["members"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| json!({"@odata.type": "#microsoft.graph.user", "id": m["id"]}))
                    .collect();
                (
                    200,
                    json!({"@odata.context":
                    "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": members}),
                )
            }
            None => (404, not_found()),
        },
        Lookup::Tenant(domain) => {
            let found = records.into_iter().find(|d| {
                d["domain"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(&domain))
            });
            match found.as_ref().and_then(|d| d["status"].as_str()) {
                Some("entra") => {
                    let d = found.as_ref().expect("found");
                    (
                        200,
                        json!({
                        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.tenantInformation",
                        "tenantId": d["tenantId"], "displayName": d["displayName"],
                        "defaultDomainName": d["defaultDomainName"], "federationBrandName": null}),
                    )
                }
                // The lookup failed when the snapshot was taken: it fails here too.
                Some("unknown") => (
                    400,
                    graph_error(
                        "Request_BadRequest",
                        "Invalid domain name in the request url.",
                    ),
                ),
                _ => (404, not_found()),
            }
        }
    };
    respond(request, status, &body, &[])
}

fn not_found() -> Value {
    graph_error(
        "Request_ResourceNotFound",
        "Resource not found for the segment.",
    )
}

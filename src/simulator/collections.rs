//! The Graph collections of the served snapshot: which path serves which collection, single
//! objects, and pages of lists with `$top`, `$select` and opaque skip tokens.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::http::Request;
use super::respond::{denied, graph_error, respond, respond_text};
use super::{Served, Simulator};
use crate::snapshot::Status;

const MAX_PAGE: usize = 999;
const DEFAULT_PAGE: usize = 100;
/// Mixed into page tokens so they are opaque, as Graph's are.
const TOKEN_KEY: u64 = 0x5DEE_CE66_D1CE_B00C;

/// A Graph collection or single object, by its path.
pub(super) fn serve(sim: &Simulator, request: Request, path: &str, query: &[(String, String)]) {
    let Some((collection, single)) = collection_at(path) else {
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
    };
    let source = if collection == "users" {
        users_served(sim).map(|()| Source::Users)
    } else {
        served(sim, collection).map(Source::Lines)
    };
    match source {
        Err((status, body)) => respond(request, status, &body, &[]),
        Ok(Source::Lines(lines)) if single => entity(request, collection, lines),
        Ok(source) => page(sim, request, path, query, collection, source),
    }
}

/// Where a page's records come from: a collection's lines, or the user store.
enum Source<'a> {
    Lines(&'a [Box<str>]),
    Users,
}

impl Source<'_> {
    /// The records from `offset`, `top` lines on, as `$select` keeps them, and how many lines
    /// the source has.
    fn records(
        &self,
        sim: &Simulator,
        offset: usize,
        top: usize,
        select: Option<&[String]>,
    ) -> (Vec<String>, usize) {
        match self {
            Source::Lines(lines) => {
                let end = offset.saturating_add(top).min(lines.len());
                let shown = lines[offset.min(end)..end]
                    .iter()
                    .map(|l| project(l, select))
                    .collect();
                (shown, lines.len())
            }
            Source::Users => sim
                .tenant
                .users
                .read()
                .page(offset, top, |l| project(l, select)),
        }
    }
}

/// Whether the users can be read: the store serves them unless the run denies them or the
/// snapshot does not have them.
pub(super) fn users_served(sim: &Simulator) -> Result<(), (u16, Value)> {
    if sim.faults.deny.iter().any(|d| d == "users") {
        return Err((403, denied()));
    }
    match sim.tenant.collections.get("users") {
        Some(Served::Missing(Status::Denied)) => Err((403, denied())),
        Some(Served::Missing(_)) => Err((
            404,
            graph_error("Request_ResourceNotFound", "Resource not found."),
        )),
        _ => Ok(()),
    }
}

/// The property names of a `$select`, lower-cased.
pub(super) fn selection(select: &str) -> Vec<String> {
    select
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .collect()
}

/// The collection a path serves, and whether it is a single object rather than a list.
fn collection_at(path: &str) -> Option<(&'static str, bool)> {
    Some(match path {
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
        "/v1.0/contacts" => ("contacts", false),
        "/v1.0/directory/deletedItems/microsoft.graph.user" => ("deletedUsers", false),
        "/beta/roleManagement/directory/roleAssignments" => ("directoryRoles", false),
        "/v1.0/directory/administrativeUnits" => ("administrativeUnits", false),
        "/v1.0/identity/conditionalAccess/policies" => ("conditionalAccessPolicies", false),
        // Only externalUserConvertedOn is kept for beta users: the snapshot's convertedUsers.
        "/beta/users" => ("convertedUsers", false),
        _ => return None,
    })
}

/// A single object: the collection's first record, with its `@odata.context`.
fn entity(request: Request, collection: &str, lines: &[Box<str>]) {
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
    respond(request, 200, &v, &[])
}

/// A collection's records, or the error Graph gives when they cannot be read.
pub(super) fn served<'a>(
    sim: &'a Simulator,
    collection: &str,
) -> Result<&'a [Box<str>], (u16, Value)> {
    if sim.faults.deny.iter().any(|d| d == collection) {
        return Err((403, denied()));
    }
    match sim.tenant.collections.get(collection) {
        Some(Served::Lines(lines)) => Ok(lines),
        Some(Served::Missing(Status::Denied)) => Err((403, denied())),
        _ => Err((
            404,
            graph_error("Request_ResourceNotFound", "Resource not found."),
        )),
    }
}

pub(super) fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
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
    source: Source,
) {
    let top = match page_size(query) {
        Ok(top) => top,
        Err(body) => return respond(request, 400, &body, &[]),
    };
    let offset = match page_offset(sim, query) {
        Ok(offset) => offset,
        Err(body) => return respond(request, 400, &body, &[]),
    };
    let select = param(query, "$select").map(selection);
    let (records, len) = source.records(sim, offset, top, select.as_deref());
    let end = offset.saturating_add(top).min(len);
    let host = request.header("Host").unwrap_or("localhost").to_owned();
    let users_page = collection == "users" && {
        let n = sim.users_pages.fetch_add(1, Ordering::SeqCst) + 1;
        sim.faults.repeat_now(n)
    };
    let next_link = if users_page && offset > 0 {
        Some(format!("http://{host}{}", request.url()))
    } else if end < len {
        Some(link_after(&host, path, query, end))
    } else {
        None
    };
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

/// `$top`, or the error body for a page size Graph refuses.
fn page_size(query: &[(String, String)]) -> Result<usize, Value> {
    match param(query, "$top").map(str::parse::<usize>) {
        None => Ok(DEFAULT_PAGE),
        Some(Ok(t)) if (1..=MAX_PAGE).contains(&t) => Ok(t),
        Some(_) => {
            let t = param(query, "$top").unwrap_or("");
            Err(graph_error(
                "Request_BadRequest",
                &format!(
                    "Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."
                ),
            ))
        }
    }
}

/// Where the page starts: 0, or what its `$skiptoken` says, unless the token expired (a fault)
/// or is not one this server made.
fn page_offset(sim: &Simulator, query: &[(String, String)]) -> Result<usize, Value> {
    let Some(token) = param(query, "$skiptoken") else {
        return Ok(0);
    };
    let paged = sim.page_requests.fetch_add(1, Ordering::SeqCst) + 1;
    if sim.faults.expire_now(paged) {
        return Err(graph_error(
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        ));
    }
    match u64::from_str_radix(token.trim_start_matches("RFNwdAIAAQAAAD8"), 16) {
        Ok(v) => Ok((v ^ TOKEN_KEY) as usize),
        Err(_) => Err(graph_error("", "Invalid Skip Token")),
    }
}

/// The nextLink of a page that ends at `end`: the same query with a new `$skiptoken`.
fn link_after(host: &str, path: &str, query: &[(String, String)], end: usize) -> String {
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
    next.to_string()
}

/// A record with only the `$select`ed properties. Property values stay raw text, so a page
/// costs little more than copying its bytes.
pub(super) fn project(line: &str, select: Option<&[String]>) -> String {
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

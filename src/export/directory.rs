//! The two collections that are more than a list: administrative units, whose restricted ones
//! get their members read, and the tenant behind every distinct mail domain of the accounts,
//! looked up once per domain with `findTenantInformationByDomainName`.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::ExportOptions;
use super::fetch::all_items;
use super::partial::{Partial, write_error};
use super::progress::Reporter;
use crate::graph::{Client, GraphError, Resource};
use crate::snapshot::manifest::CollectionEntry;

/// Lookups in flight at once: one per distinct domain, so a tenant with thousands of partner
/// domains still finishes in minutes.
const LOOKUPS_IN_FLIGHT: usize = 8;

/// A page of administrative units, each restricted one with its members' ids.
pub(super) fn with_members(
    client: &Client,
    units: Vec<Box<RawValue>>,
) -> Result<Vec<Box<RawValue>>, GraphError> {
    let mut out = Vec::with_capacity(units.len());
    for unit in units {
        let mut v: Value = serde_json::from_str(unit.get()).unwrap_or(Value::Null);
        let restricted = v["isMemberManagementRestricted"].as_bool() == Some(true);
        let id = v["id"].as_str().map(str::to_owned);
        match (restricted, id) {
            (true, Some(id)) => {
                let url = format!(
                    "{}/v1.0/directory/administrativeUnits/{}/members?$select=id",
                    client.endpoints.graph,
                    url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
                );
                let first = client.get(Resource::Graph, &url)?;
                let members: Vec<Value> = all_items(client, first)?
                    .into_iter()
                    .filter_map(|m| m["id"].as_str().map(|id| json!({"id": id})))
                    .collect();
                v["members"] = Value::Array(members);
                out.push(raw(&v)?);
            }
            _ => out.push(unit),
        }
    }
    Ok(out)
}

fn raw(v: &Value) -> Result<Box<RawValue>, GraphError> {
    RawValue::from_string(v.to_string())
        .map_err(|e| GraphError::Config(format!("cannot re-encode a record: {e}")))
}

/// One record per distinct mail domain of the users that is not a domain of this tenant:
/// `entra` with the tenant, `none` when Graph knows no tenant for it (404), or `unknown`
/// with the error when Graph refused the name (400). A 403 denies the whole collection.
pub(super) fn domain_tenants(
    client: &Client,
    options: &ExportOptions,
    name: &str,
    reporter: &mut Reporter,
) -> Result<CollectionEntry, GraphError> {
    let dir = &options.out;
    let domains = external_domains(dir)?;
    let mut partial = Partial::open(Partial::path(dir, name), 0)?;
    let next = AtomicUsize::new(0);
    let found: Mutex<Vec<Option<Value>>> = Mutex::new(vec![None; domains.len()]);
    let failed: Mutex<Option<GraphError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..LOOKUPS_IN_FLIGHT.min(domains.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= domains.len() || failed.lock().map(|d| d.is_some()).unwrap_or(true) {
                        return;
                    }
                    match lookup(client, &domains[i]) {
                        Ok(record) => {
                            if let Ok(mut f) = found.lock() {
                                f[i] = Some(record);
                            }
                        }
                        Err(e) => {
                            if let Ok(mut d) = failed.lock() {
                                d.get_or_insert(e);
                            }
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(e);
    }
    let records = found.into_inner().unwrap_or_default();
    for record in records.iter().flatten() {
        partial.write_line(record.to_string().as_bytes())?;
    }
    partial.flush()?;
    reporter.update(name, records.len() as u64);
    partial.finish(dir, name, records.len() as u64)
}

/// The lookup of one domain as a record; an error for what stops the collection (a 403, or a
/// failure that outlasted the client's retries).
fn lookup(client: &Client, domain: &str) -> Result<Value, GraphError> {
    if !is_domain_name(domain) {
        return Ok(json!({"domain": domain, "status": "unknown",
            "error": "not a domain name; not looked up"}));
    }
    let url = format!(
        "{}/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='{domain}')",
        client.endpoints.graph
    );
    // A token that keeps expiring under the parallel lookups, past the client's renewals, is
    // not an answer about the domain: ask again.
    let mut answer = client.get(Resource::Graph, &url);
    for _ in 0..3 {
        match &answer {
            Err(e) if e.status() == Some(401) => answer = client.get(Resource::Graph, &url),
            _ => break,
        }
    }
    match answer {
        Ok(page) => {
            let v: Value = page
                .value
                .first()
                .and_then(|r| serde_json::from_str(r.get()).ok())
                .unwrap_or(Value::Null);
            Ok(
                json!({"domain": domain, "status": "entra", "tenantId": v["tenantId"],
                "displayName": v["displayName"], "defaultDomainName": v["defaultDomainName"]}),
            )
        }
        Err(e) if e.status() == Some(404) => Ok(json!({"domain": domain, "status": "none"})),
        // Graph refused the name itself: recorded, the other domains go on.
        Err(e) if e.status() == Some(400) => {
            Ok(json!({"domain": domain, "status": "unknown", "error": e.to_string()}))
        }
        // A refusal (403) denies the collection; anything else that outlasted the client's
        // retries stops it, to be resumed, rather than pass for a fact about the domain.
        Err(e) => Err(e),
    }
}

/// Letters, digits, hyphens and dots only: the only names worth a lookup, and nothing that
/// could change the meaning of the request's address.
fn is_domain_name(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.contains('.')
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The distinct lower-case mail domains of the exported users, less the tenant's own.
fn external_domains(dir: &std::path::Path) -> Result<Vec<String>, GraphError> {
    let own: BTreeSet<String> = own_domains(dir);
    let users = dir.join("users.jsonl");
    let file = std::fs::File::open(&users).map_err(write_error(&users))?;
    let mut domains = BTreeSet::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(file)) {
        let line = line.map_err(write_error(&users))?;
        #[derive(serde::Deserialize)]
        struct Mail<'a> {
            #[serde(borrow)]
            mail: Option<crate::snapshot::Text<'a>>,
        }
        let Ok(m) = serde_json::from_str::<Mail>(&line) else {
            continue;
        };
        let Some((_, domain)) = m.mail.as_deref().and_then(|m| m.trim().rsplit_once('@')) else {
            continue;
        };
        let domain = domain.to_ascii_lowercase();
        if !own.contains(&domain) {
            domains.insert(domain);
        }
    }
    Ok(domains.into_iter().collect())
}

/// The tenant's domains, from `domains.jsonl` and the organization's verified domains.
fn own_domains(dir: &std::path::Path) -> BTreeSet<String> {
    let mut own = BTreeSet::new();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    for line in read("domains.jsonl").lines() {
        if let Ok(v) = serde_json::from_str::<Value>(line)
            && let Some(id) = v["id"].as_str()
        {
            own.insert(id.to_ascii_lowercase());
        }
    }
    for line in read("organization.jsonl").lines() {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            for d in v["verifiedDomains"].as_array().into_iter().flatten() {
                if let Some(n) = d["name"].as_str() {
                    own.insert(n.to_ascii_lowercase());
                }
            }
        }
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_domain_names_are_looked_up() {
        assert!(is_domain_name("northwind-traders.co.uk"));
        assert!(!is_domain_name("evil.com') or 1 eq 1 or ('"));
        assert!(!is_domain_name("a/../../b.com"));
        assert!(!is_domain_name("localhost"));
        assert!(!is_domain_name(""));
    }
}

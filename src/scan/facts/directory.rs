//! Facts from the directory around each account: an outside identity already bound to it, the
//! tenant behind its mail domain and the cross-tenant access settings and trust that tenant
//! gets (`cross_tenant`), the conditional access policies that would ask it for MFA once converted, its
//! directory roles and the administrative units with restricted management it belongs to.

use std::collections::{HashMap, HashSet};

use super::cross_tenant::{DomainFact, DomainFacts};

use rayon::prelude::*;

use super::{RowFacts, build_columns, text_column};
use crate::model::{Column, StrColumn, Table, user as col};
use crate::snapshot::directory::ConditionalAccessPolicy;
use crate::snapshot::tenant::TenantData;

/// The directory's lookups by account and by domain, built once per snapshot.
pub(super) struct Directory {
    domains: DomainFacts,
    roles: Roles,
    units: HashMap<String, Vec<String>>,
}

impl Directory {
    pub(super) fn new(tenant: &TenantData, verified: &HashSet<String>) -> Self {
        Directory {
            domains: DomainFacts::new(tenant, verified),
            roles: Roles::new(tenant),
            units: restricted_units(tenant),
        }
    }
}

/// Per account: the federated issuers, roles and units, plus everything keyed by mail domain.
pub(super) fn derive(
    table: &Table,
    tenant: &TenantData,
    lookups: (&HashSet<String>, &Directory),
    judged: &[u32],
    rows: &[RowFacts],
) -> Vec<(usize, Column)> {
    let n = table.len();
    let text = |c: usize| table.columns[c].text().expect("text column");
    let (ids, issuers) = (text(col::ID), text(col::IDENTITY_ISSUERS));
    let converted_on = text(col::EXTERNAL_USER_CONVERTED_ON);
    let (verified, directory) = lookups;
    let Directory {
        domains,
        roles,
        units,
    } = directory;
    let policies: Vec<&ConditionalAccessPolicy> = tenant
        .conditional_access
        .iter()
        .filter(|p| p.enabled() && p.requires_mfa())
        .collect();

    // Only the accounts the rules judge; `slot` finds a row's entry.
    let per_row: Vec<RowDirectory> = judged
        .par_iter()
        .map(|&r| {
            let r = r as usize;
            let id = ids.get(r).unwrap_or("").to_ascii_lowercase();
            let issuer = issuers.get(r).and_then(|list| {
                list.split("; ")
                    .map(str::trim)
                    .find(|i| !i.is_empty() && !verified.contains(&i.to_ascii_lowercase()))
                    .map(str::to_owned)
            });
            let home = rows[r].domain.as_deref().and_then(|d| domains.get(d));
            let held = roles.of(&id);
            let role_ids: Vec<&str> = held.iter().map(|h| h.definition.as_str()).collect();
            let ca: Vec<&str> = policies
                .iter()
                .filter(|p| {
                    p.covers_converted(&id, home.and_then(|h| h.tenant.as_deref()), &role_ids)
                })
                .map(|p| p.display_name.as_deref().or(p.id.as_deref()).unwrap_or(""))
                .collect();
            let converted = match converted_on.get(r) {
                Some(c) if !c.trim().is_empty() => None,
                _ => tenant.converted.get(&id).cloned(),
            };
            RowDirectory {
                converted,
                issuer,
                home,
                roles_text: roles_text(&held),
                roles: held,
                units: units.get(&id).map(|u| u.join("; ")),
                ca: (!ca.is_empty()).then(|| ca.join("; ")),
            }
        })
        .collect();

    columns(n, judged, &per_row, converted_on)
}

/// The derived columns, from the entries of the judged rows (null for the others).
fn columns(
    n: usize,
    judged: &[u32],
    per_row: &[RowDirectory],
    converted_on: &StrColumn,
) -> Vec<(usize, Column)> {
    let mut slot = vec![u32::MAX; n];
    for (i, &r) in judged.iter().enumerate() {
        slot[r as usize] = i as u32;
    }
    let slot = &slot;
    let at = move |r: usize| per_row.get(slot[r] as usize);
    let mut builders = text_builders(n, at);
    let count = move |f: fn(&RowDirectory) -> i64| {
        move || Column::Int((0..n).map(|r| at(r).map(f)).collect())
    };
    let others: [super::Builder; 4] = [
        (
            col::EXTERNAL_USER_CONVERTED_ON,
            Box::new(move || {
                let mut converted = StrColumn::default();
                for r in 0..n {
                    let found = at(r).and_then(|d| d.converted.as_deref());
                    converted.push(found.or(converted_on.get(r)));
                }
                Column::Text(converted)
            }),
        ),
        (
            col::INBOUND_MFA_TRUSTED,
            Box::new(move || Column::Bool((0..n).map(|r| at(r)?.home?.mfa).collect())),
        ),
        (
            col::DIRECTORY_ROLE_COUNT,
            Box::new(count(|d| d.roles.len() as i64)),
        ),
        (
            col::PRIVILEGED_ROLE_COUNT,
            Box::new(count(|d| {
                d.roles.iter().filter(|h| h.privileged).count() as i64
            })),
        ),
    ];
    builders.extend(others);
    build_columns(builders)
}

/// The text columns of the directory facts, each read from the judged rows' entries (`at`).
fn text_builders<'a>(
    n: usize,
    at: impl Fn(usize) -> Option<&'a RowDirectory<'a>> + Copy + Send + Sync + 'a,
) -> Vec<super::Builder<'a>> {
    type Text = for<'d> fn(&'d RowDirectory<'d>) -> Option<&'d str>;
    let texts: [(usize, Text); 9] = [
        (col::EXTERNAL_IDENTITY_ISSUER, |d| d.issuer.as_deref()),
        (col::HOME_TENANT, |d| d.home.map(|h| h.status)),
        (col::HOME_TENANT_ID, |d| d.home?.tenant.as_deref()),
        (col::CROSS_TENANT_POLICY, |d| d.home?.policy),
        (col::CROSS_TENANT_INBOUND, |d| {
            Some(d.home?.inbound.as_ref()?.state)
        }),
        (col::CROSS_TENANT_INBOUND_DETAIL, |d| {
            d.home?.inbound.as_ref()?.detail.as_deref()
        }),
        (col::CA_MFA_POLICIES, |d| d.ca.as_deref()),
        (col::DIRECTORY_ROLES, |d| d.roles_text.as_deref()),
        (col::RESTRICTED_UNITS, |d| d.units.as_deref()),
    ];
    texts
        .into_iter()
        .map(|(index, f)| -> super::Builder {
            (
                index,
                Box::new(move || text_column((0..n).map(|r| at(r).and_then(f)))),
            )
        })
        .collect()
}

struct RowDirectory<'a> {
    /// externalUserConvertedOn from `convertedUsers`, when `users` did not carry it.
    converted: Option<String>,
    issuer: Option<String>,
    home: Option<&'a DomainFact>,
    roles: Vec<&'a HeldRole>,
    roles_text: Option<String>,
    units: Option<String>,
    ca: Option<String>,
}

fn roles_text(roles: &[&HeldRole]) -> Option<String> {
    (!roles.is_empty()).then(|| {
        roles
            .iter()
            .map(|h| h.text.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// One active role assignment of an account, in words.
struct HeldRole {
    definition: String,
    privileged: bool,
    text: String,
}

struct Roles {
    by_principal: HashMap<String, Vec<HeldRole>>,
}

impl Roles {
    fn new(tenant: &TenantData) -> Self {
        let mut by_principal: HashMap<String, Vec<HeldRole>> = HashMap::new();
        for a in &tenant.role_assignments {
            let Some(principal) = a.principal_id.as_deref() else {
                continue;
            };
            let definition = a.role_definition.as_ref();
            let name = definition
                .and_then(|d| d.display_name.as_deref())
                .or(a.role_definition_id.as_deref())
                .unwrap_or("a directory role");
            let privileged = definition.and_then(|d| d.is_privileged).unwrap_or(false);
            let mut text = name.to_owned();
            let scope = a.directory_scope_id.as_deref().filter(|s| *s != "/");
            match (privileged, scope) {
                (true, Some(s)) => text.push_str(&format!(" (privileged, scope {s})")),
                (true, None) => text.push_str(" (privileged)"),
                (false, Some(s)) => text.push_str(&format!(" (scope {s})")),
                (false, None) => {}
            }
            by_principal
                .entry(principal.trim().to_ascii_lowercase())
                .or_default()
                .push(HeldRole {
                    definition: a
                        .role_definition_id
                        .as_deref()
                        .or(definition.and_then(|d| d.id.as_deref()))
                        .unwrap_or("")
                        .to_owned(),
                    privileged,
                    text,
                });
        }
        for held in by_principal.values_mut() {
            held.sort_by(|a, b| a.text.cmp(&b.text));
        }
        Roles { by_principal }
    }

    fn of(&self, id: &str) -> Vec<&HeldRole> {
        self.by_principal
            .get(id)
            .map(|h| h.iter().collect())
            .unwrap_or_default()
    }
}

/// Member id → names of the restricted management units it belongs to.
fn restricted_units(tenant: &TenantData) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for unit in &tenant.administrative_units {
        if unit.is_member_management_restricted != Some(true) {
            continue;
        }
        let name = unit
            .display_name
            .as_deref()
            .or(unit.id.as_deref())
            .unwrap_or("an administrative unit");
        for m in unit.members.iter().flatten() {
            if let Some(id) = m.id.as_deref() {
                out.entry(id.trim().to_ascii_lowercase())
                    .or_default()
                    .push(name.to_owned());
            }
        }
    }
    for names in out.values_mut() {
        names.sort();
        names.dedup();
    }
    out
}

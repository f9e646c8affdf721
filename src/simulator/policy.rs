//! The tenant's settings an invitation is checked against, read once from the snapshot:
//! who may invite, the verified domains, the collaboration restrictions (allow or deny list
//! of domains), and the inbound cross-tenant access for the tenants behind mail domains.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::respond::Refusal;
use super::{Served, values as records};
use crate::snapshot::tenant::DomainPolicy;

#[derive(Default)]
pub(super) struct InvitePolicy {
    /// authorizationPolicy's allowInvitesFrom is "none".
    pub invites_off: bool,
    /// Verified domains, lower-case.
    pub verified: HashSet<String>,
    /// The domain new guests' userPrincipalNames end with.
    pub initial_domain: String,
    pub domains: DomainPolicy,
    /// Mail domain → its Entra tenant, lower-case.
    pub tenants: HashMap<String, String>,
    /// Whether the default inbound B2B collaboration blocks all users.
    pub default_blocked: bool,
    /// Partner tenant → whether its inbound B2B collaboration blocks all users, when it says.
    pub partners: HashMap<String, Option<bool>>,
}

fn lower(v: &Value) -> Option<String> {
    v.as_str()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
}

/// Whether users and groups are blocked for everyone. A block of listed users or groups only
/// is not: Graph cannot tell here whether the invited person is one of them, and the scan
/// calls it restricted, not blocked. `None` when the setting is absent.
fn blocks_all(inbound: &Value) -> Option<bool> {
    let users = &inbound["usersAndGroups"];
    if users.is_null() {
        return None;
    }
    let blocked = users["accessType"]
        .as_str()
        .is_some_and(|a| a.eq_ignore_ascii_case("blocked"));
    let all = users["targets"].as_array().into_iter().flatten().any(|t| {
        t["target"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("AllUsers"))
    });
    Some(blocked && all)
}

/// The allow and deny lists of every b2bManagementPolicy definition (a JSON document inside
/// a string); a definition that cannot be read lists nothing.
fn domain_policy(collections: &HashMap<String, Served>) -> DomainPolicy {
    let mut out = DomainPolicy::default();
    for policy in records(collections, "b2bManagementPolicies") {
        for text in policy["definition"].as_array().into_iter().flatten() {
            let doc: Value = text
                .as_str()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null);
            let lists = &doc["B2BManagementPolicy"]["InvitationsAllowedAndBlockedDomainsPolicy"];
            let names = |key: &str| -> Vec<String> {
                lists[key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(lower)
                    .collect()
            };
            out.allowed.extend(names("AllowedDomains"));
            out.blocked.extend(names("BlockedDomains"));
        }
    }
    out
}

impl InvitePolicy {
    pub(super) fn load(collections: &HashMap<String, Served>) -> Self {
        let mut p = InvitePolicy {
            domains: domain_policy(collections),
            ..Default::default()
        };
        p.invites_off = records(collections, "authorizationPolicy")
            .next()
            .is_some_and(|a| lower(&a["allowInvitesFrom"]).as_deref() == Some("none"));
        for d in records(collections, "domains") {
            let name = lower(&d["id"]);
            if d["isInitial"] == true {
                p.initial_domain = name.clone().unwrap_or_default();
            }
            p.verified.extend(name.filter(|_| d["isVerified"] == true));
        }
        for org in records(collections, "organization") {
            for d in org["verifiedDomains"].as_array().into_iter().flatten() {
                if d["isInitial"] == true && p.initial_domain.is_empty() {
                    p.initial_domain = lower(&d["name"]).unwrap_or_default();
                }
                p.verified.extend(lower(&d["name"]));
            }
        }
        if p.initial_domain.is_empty() {
            p.initial_domain = "simulator.onmicrosoft.com".into();
        }
        p.tenants = records(collections, "domainTenants")
            .filter(|d| d["status"] == "entra")
            .filter_map(|d| Some((lower(&d["domain"])?, lower(&d["tenantId"])?)))
            .collect();
        p.default_blocked = records(collections, "crossTenantAccessPolicyDefault")
            .next()
            .and_then(|d| blocks_all(&d["b2bCollaborationInbound"]))
            .unwrap_or(false);
        p.partners = records(collections, "crossTenantAccessPolicyPartners")
            .filter_map(|t| {
                Some((
                    lower(&t["tenantId"])?,
                    blocks_all(&t["b2bCollaborationInbound"]),
                ))
            })
            .collect();
        p
    }

    /// Refused when the tenant allows no one to invite guests.
    pub(super) fn invites_allowed(&self) -> Result<(), Refusal> {
        if self.invites_off {
            return Err(Refusal::new(
                403,
                "Authorization_RequestDenied",
                "Guest invitations not allowed for your company. Contact your company administrator for more details.",
            ));
        }
        Ok(())
    }

    /// Refused when the collaboration restrictions' deny list names the domain, or their
    /// allow list does not.
    pub(super) fn collaboration(&self, domain: &str) -> Result<(), Refusal> {
        let Some(why) = self.domains.refusal(domain) else {
            return Ok(());
        };
        let list = if why.starts_with("blocked") {
            "is on the deny list"
        } else {
            "is not on the allow list"
        };
        Err(Refusal::new(
            400,
            "BadRequest",
            &format!(
                "This invitation is blocked by your organization's collaboration restrictions: the domain '{domain}' {list}."
            ),
        ))
    }

    /// Refused when inbound B2B collaboration from the domain's tenant is blocked: by its
    /// partner configuration, or by the default where the partner does not say.
    pub(super) fn cross_tenant(&self, domain: &str) -> Result<(), Refusal> {
        let Some(tenant) = self.tenants.get(domain) else {
            return Ok(());
        };
        let partner = self.partners.get(tenant).copied().flatten();
        if partner.unwrap_or(self.default_blocked) {
            return Err(Refusal::new(
                403,
                "Forbidden",
                "This invitation is blocked by cross-tenant access settings. Admins in both your organization and the invited user's organization must configure cross-tenant access settings to allow the invitation.",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(records: &[&str]) -> Served {
        Served::Lines(records.iter().map(|r| (*r).into()).collect())
    }

    #[test]
    fn inbound_blocks_come_from_the_partner_or_else_the_default() {
        let blocked =
            r#"{"usersAndGroups": {"accessType": "blocked", "targets": [{"target": "AllUsers"}]}}"#;
        let collections = HashMap::from([
            (
                "domainTenants".to_owned(),
                lines(&[
                    r#"{"domain": "a.example", "status": "entra", "tenantId": "TA"}"#,
                    r#"{"domain": "b.example", "status": "entra", "tenantId": "tb"}"#,
                    r#"{"domain": "c.example", "status": "entra", "tenantId": "tc"}"#,
                ]),
            ),
            (
                "crossTenantAccessPolicyDefault".to_owned(),
                lines(&[&format!(r#"{{"b2bCollaborationInbound": {blocked}}}"#)]),
            ),
            (
                "crossTenantAccessPolicyPartners".to_owned(),
                lines(&[
                    r#"{"tenantId": "ta", "b2bCollaborationInbound": {"usersAndGroups": {"accessType": "allowed", "targets": [{"target": "AllUsers"}]}}}"#,
                    r#"{"tenantId": "tb", "b2bCollaborationInbound": null}"#,
                ]),
            ),
        ]);
        let p = InvitePolicy::load(&collections);
        assert!(p.cross_tenant("a.example").is_ok(), "the partner allows");
        assert_eq!(p.cross_tenant("b.example").map_err(|r| r.status), Err(403));
        assert!(
            p.cross_tenant("c.example").is_err(),
            "no partner: the default"
        );
        assert!(p.cross_tenant("gmail.com").is_ok(), "no tenant");
    }
}

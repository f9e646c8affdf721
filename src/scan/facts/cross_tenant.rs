//! The cross-tenant access settings an account's home tenant gets: the tenant behind its mail
//! domain, the partner configuration for that tenant over the default, field by field, and
//! what they make of inbound B2B collaboration and MFA trust.

use std::collections::{HashMap, HashSet};

use crate::snapshot::tenant::{CrossTenantPolicy, TargetConfiguration, TenantData};

/// Inbound B2B collaboration as one setting decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Inbound {
    /// allowed, restricted or blocked.
    pub state: &'static str,
    pub detail: Option<String>,
}

/// The effective inbound B2B collaboration and MFA trust for one home tenant: the partner's
/// configuration where it sets a field, the default's otherwise.
pub(super) fn effective(
    default: Option<&CrossTenantPolicy>,
    partner: Option<&CrossTenantPolicy>,
) -> (Inbound, bool) {
    let pick = |f: fn(&CrossTenantPolicy) -> Option<&TargetConfiguration>| {
        partner.and_then(f).or_else(|| default.and_then(f))
    };
    let users = pick(|p| {
        p.b2b_collaboration_inbound
            .as_ref()
            .and_then(|b| b.users_and_groups.as_ref())
    });
    let apps = pick(|p| {
        p.b2b_collaboration_inbound
            .as_ref()
            .and_then(|b| b.applications.as_ref())
    });
    let (u_state, u_detail) = classify(users, "AllUsers", "users and groups");
    let (a_state, a_detail) = classify(apps, "AllApplications", "applications");
    let state = if u_state == "blocked" || a_state == "blocked" {
        "blocked"
    } else if u_state == "restricted" || a_state == "restricted" {
        "restricted"
    } else {
        "allowed"
    };
    let detail: Vec<String> = [u_detail, a_detail].into_iter().flatten().collect();
    let mfa = partner
        .and_then(|p| p.inbound_trust.as_ref())
        .and_then(|t| t.is_mfa_accepted)
        .or_else(|| {
            default
                .and_then(|p| p.inbound_trust.as_ref())
                .and_then(|t| t.is_mfa_accepted)
        })
        .unwrap_or(false);
    (
        Inbound {
            state,
            detail: (!detail.is_empty()).then(|| detail.join("; ")),
        },
        mfa,
    )
}

/// One target configuration: allowed or blocked for all (`all` is the target meaning
/// everything), or restricted to or away from listed targets. Absent means allowed, as
/// Microsoft's service default is.
fn classify(
    c: Option<&TargetConfiguration>,
    all: &str,
    what: &str,
) -> (&'static str, Option<String>) {
    let Some(c) = c else {
        return ("allowed", None);
    };
    let targets: Vec<&str> = c
        .targets
        .iter()
        .flatten()
        .filter_map(|t| t.target.as_deref())
        .collect();
    let everything = targets.iter().any(|t| t.eq_ignore_ascii_case(all));
    let blocked = c
        .access_type
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("blocked"));
    match (blocked, everything) {
        (false, true) => ("allowed", None),
        (true, true) => ("blocked", Some(format!("{what}: blocked for all"))),
        (false, false) => (
            "restricted",
            Some(format!("{what}: allowed only for {}", targets.join(", "))),
        ),
        (true, false) => (
            "restricted",
            Some(format!("{what}: blocked for {}", targets.join(", "))),
        ),
    }
}

/// What is behind one mail domain, and the settings its tenant gets.
pub(super) struct DomainFact {
    pub(super) status: &'static str,
    pub(super) tenant: Option<String>,
    pub(super) policy: Option<&'static str>,
    pub(super) inbound: Option<Inbound>,
    /// `None` when the lookup failed: nothing is known.
    pub(super) mfa: Option<bool>,
}

pub(super) struct DomainFacts {
    by_domain: HashMap<String, DomainFact>,
}

impl DomainFacts {
    pub(super) fn new(tenant: &TenantData, verified: &HashSet<String>) -> Self {
        let default = tenant.cross_tenant_default.as_ref();
        let partners: HashMap<String, &CrossTenantPolicy> = tenant
            .cross_tenant_partners
            .iter()
            .filter_map(|p| Some((p.tenant_id.as_deref()?.trim().to_ascii_lowercase(), p)))
            .collect();
        let by_domain = tenant
            .domain_tenants
            .iter()
            .filter(|d| !verified.contains(&d.domain.trim().to_ascii_lowercase()))
            .map(|d| {
                let key = d.domain.trim().to_ascii_lowercase();
                let fact = match d.status.as_str() {
                    "entra" => {
                        let id = d
                            .tenant_id
                            .as_deref()
                            .unwrap_or("")
                            .trim()
                            .to_ascii_lowercase();
                        let partner = partners.get(&id).copied();
                        let (inbound, mfa) = effective(default, partner);
                        DomainFact {
                            status: "entra",
                            tenant: Some(id),
                            policy: Some(if partner.is_some() {
                                "partner"
                            } else {
                                "default"
                            }),
                            inbound: Some(inbound),
                            mfa: Some(mfa),
                        }
                    }
                    "none" => DomainFact {
                        status: "none",
                        tenant: None,
                        policy: None,
                        inbound: None,
                        mfa: Some(false),
                    },
                    _ => DomainFact {
                        status: "unknown",
                        tenant: None,
                        policy: None,
                        inbound: None,
                        mfa: None,
                    },
                };
                (key, fact)
            })
            .collect();
        DomainFacts { by_domain }
    }

    pub(super) fn get(&self, domain: &str) -> Option<&DomainFact> {
        self.by_domain.get(domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> CrossTenantPolicy {
        serde_json::from_str(json).expect("policy")
    }

    #[test]
    fn a_partner_overrides_the_default_field_by_field() {
        let default = policy(
            r#"{"b2bCollaborationInbound":{"usersAndGroups":{"accessType":"allowed","targets":[{"target":"AllUsers","targetType":"user"}]},
            "applications":{"accessType":"allowed","targets":[{"target":"AllApplications","targetType":"application"}]}},
            "inboundTrust":{"isMfaAccepted":false}}"#,
        );
        let partner = policy(
            r#"{"tenantId":"t1","b2bCollaborationInbound":{"usersAndGroups":{"accessType":"blocked","targets":[{"target":"AllUsers","targetType":"user"}]},"applications":null},
            "inboundTrust":{"isMfaAccepted":true}}"#,
        );
        let (inbound, mfa) = effective(Some(&default), Some(&partner));
        assert_eq!(inbound.state, "blocked");
        assert_eq!(
            inbound.detail.as_deref(),
            Some("users and groups: blocked for all")
        );
        assert!(mfa);
        let (inbound, mfa) = effective(Some(&default), None);
        assert_eq!(inbound.state, "allowed");
        assert!(!mfa);
        let inherits =
            policy(r#"{"tenantId":"t2","b2bCollaborationInbound":null,"inboundTrust":null}"#);
        assert_eq!(
            effective(Some(&default), Some(&inherits)).0.state,
            "allowed"
        );
    }
}

//! The small tenant-wide collections: organization, domains and the policies that decide
//! whether an invitation can be sent at all.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::SnapshotError;
use super::directory::{
    AdministrativeUnit, ConditionalAccessPolicy, Contact, ConvertedUser, DeletedUser, DomainTenant,
    RoleAssignment,
};
use super::lines::read_records;
use super::manifest::{Manifest, Status};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: Option<String>,
    pub display_name: Option<String>,
    #[serde(default)]
    pub verified_domains: Option<Vec<VerifiedDomain>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VerifiedDomain {
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    pub id: Option<String>,
    pub is_verified: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicy {
    pub allow_invites_from: Option<String>,
}

/// The default cross-tenant access settings, or a partner's (with its `tenantId`); a field a
/// partner leaves null inherits the default's.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossTenantPolicy {
    pub tenant_id: Option<String>,
    pub b2b_collaboration_inbound: Option<B2bSetting>,
    pub inbound_trust: Option<InboundTrust>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct B2bSetting {
    pub users_and_groups: Option<TargetConfiguration>,
    pub applications: Option<TargetConfiguration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundTrust {
    pub is_mfa_accepted: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetConfiguration {
    pub access_type: Option<String>,
    pub targets: Option<Vec<Target>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub target: Option<String>,
    pub target_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct B2bManagementPolicy {
    pub definition: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailMethodConfiguration {
    pub state: Option<String>,
    pub allow_external_id_to_use_email_otp: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GuestUsage {
    pub id: Option<String>,
    pub properties: Option<GuestUsageProperties>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestUsageProperties {
    pub tenant_id: Option<String>,
}

/// The allow or block list for invitation domains, lower-case.
#[derive(Debug, Clone, Default)]
pub struct DomainPolicy {
    pub allowed: Vec<String>,
    pub blocked: Vec<String>,
}

#[derive(Deserialize)]
struct DefinitionDoc {
    #[serde(rename = "B2BManagementPolicy")]
    b2_b_management_policy: Option<DefinitionBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DefinitionBody {
    invitations_allowed_and_blocked_domains_policy: Option<DomainLists>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DomainLists {
    #[serde(default)]
    allowed_domains: Option<Vec<String>>,
    #[serde(default)]
    blocked_domains: Option<Vec<String>>,
}

/// Everything tenant-wide a scan reads, each `None`/empty when its collection is not `ok`.
#[derive(Debug, Clone, Default)]
pub struct TenantData {
    pub statuses: BTreeMap<String, (Status, Option<String>)>,
    pub organization: Option<Organization>,
    pub domains: Vec<Domain>,
    pub authorization_policy: Option<AuthorizationPolicy>,
    pub cross_tenant_default: Option<CrossTenantPolicy>,
    pub cross_tenant_partners: Vec<CrossTenantPolicy>,
    pub domain_policy: Option<DomainPolicy>,
    pub email_otp: Option<EmailMethodConfiguration>,
    pub guest_usages: Vec<GuestUsage>,
    pub contacts: Vec<Contact>,
    pub deleted_users: Vec<DeletedUser>,
    pub role_assignments: Vec<RoleAssignment>,
    pub administrative_units: Vec<AdministrativeUnit>,
    pub conditional_access: Vec<ConditionalAccessPolicy>,
    pub domain_tenants: Vec<DomainTenant>,
    /// Accounts converted from external to internal: lower-case id → when.
    pub converted: std::collections::HashMap<String, String>,
}

impl TenantData {
    pub fn load(dir: &Path, manifest: &Manifest) -> Result<Self, SnapshotError> {
        let mut t = TenantData::default();
        for name in super::manifest::COLLECTIONS {
            let (status, reason) = manifest.status(name);
            t.statuses
                .insert((*name).to_owned(), (status, reason.map(str::to_owned)));
        }
        let read = |name: &str| manifest.file(dir, name);
        if let Some(f) = read("organization") {
            t.organization = first(read_records::<Organization>(&f)?);
        }
        if let Some(f) = read("domains") {
            t.domains = read_records(&f)?;
        }
        if let Some(f) = read("authorizationPolicy") {
            t.authorization_policy = first(read_records(&f)?);
        }
        if let Some(f) = read("crossTenantAccessPolicyDefault") {
            t.cross_tenant_default = first(read_records(&f)?);
        }
        if let Some(f) = read("b2bManagementPolicies") {
            let policies: Vec<B2bManagementPolicy> = read_records(&f)?;
            t.domain_policy = Some(domain_policy(&f.path, &policies)?);
        }
        if let Some(f) = read("emailAuthenticationMethodConfiguration") {
            t.email_otp = first(read_records(&f)?);
        }
        if let Some(f) = read("guestUsages") {
            t.guest_usages = read_records(&f)?;
        }
        if let Some(f) = read("crossTenantAccessPolicyPartners") {
            t.cross_tenant_partners = read_records(&f)?;
        }
        if let Some(f) = read("contacts") {
            t.contacts = read_records(&f)?;
        }
        if let Some(f) = read("deletedUsers") {
            t.deleted_users = read_records(&f)?;
        }
        if let Some(f) = read("directoryRoles") {
            t.role_assignments = read_records(&f)?;
        }
        if let Some(f) = read("administrativeUnits") {
            t.administrative_units = read_records(&f)?;
        }
        if let Some(f) = read("conditionalAccessPolicies") {
            t.conditional_access = read_records(&f)?;
        }
        if let Some(f) = read("domainTenants") {
            t.domain_tenants = read_records(&f)?;
        }
        if let Some(f) = read("convertedUsers") {
            let records: Vec<ConvertedUser> = read_records(&f)?;
            t.converted = records
                .into_iter()
                .filter_map(|c| {
                    let when = c
                        .external_user_converted_on
                        .filter(|w| !w.trim().is_empty())?;
                    Some((c.id?.trim().to_ascii_lowercase(), when))
                })
                .collect();
        }
        Ok(t)
    }

    pub fn is_ok(&self, collection: &str) -> bool {
        self.statuses
            .get(collection)
            .is_some_and(|(s, _)| *s == Status::Ok)
    }

    /// Verified domains from the organization object and from `domains`, lower-case.
    pub fn verified_domains(&self) -> Vec<String> {
        let from_org = self
            .organization
            .iter()
            .flat_map(|o| o.verified_domains.iter().flatten())
            .filter_map(|d| d.name.as_deref());
        let from_domains = self
            .domains
            .iter()
            .filter(|d| d.is_verified == Some(true))
            .filter_map(|d| d.id.as_deref());
        let mut all: Vec<String> = from_org
            .chain(from_domains)
            .map(|d| d.trim().to_ascii_lowercase())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

fn first<T: DeserializeOwned>(records: Vec<T>) -> Option<T> {
    records.into_iter().next()
}

/// Merges every policy's definition; the definition is a JSON document inside a string.
fn domain_policy(
    path: &Path,
    policies: &[B2bManagementPolicy],
) -> Result<DomainPolicy, SnapshotError> {
    let mut out = DomainPolicy::default();
    for (i, policy) in policies.iter().enumerate() {
        for text in policy.definition.iter().flatten() {
            let doc: DefinitionDoc =
                serde_json::from_str(text).map_err(|e| SnapshotError::BadLine {
                    path: path.to_owned(),
                    line: i as u64 + 1,
                    message: format!("definition is not a B2B management policy document: {e}"),
                })?;
            let lists = doc
                .b2_b_management_policy
                .and_then(|b| b.invitations_allowed_and_blocked_domains_policy);
            if let Some(lists) = lists {
                let lower = |v: Option<Vec<String>>| {
                    v.unwrap_or_default()
                        .into_iter()
                        .map(|d| d.trim().to_ascii_lowercase())
                        .filter(|d| !d.is_empty())
                };
                out.allowed.extend(lower(lists.allowed_domains));
                out.blocked.extend(lower(lists.blocked_domains));
            }
        }
    }
    Ok(out)
}

impl DomainPolicy {
    /// Why the policy refuses invitations to `domain`, if it does. A listed `*.example.com`
    /// also covers the subdomains of example.com.
    pub fn refusal(&self, domain: &str) -> Option<&'static str> {
        let matches = |list: &[String]| list.iter().any(|d| domain_matches(d, domain));
        if matches(&self.blocked) {
            Some("blocked by the B2B management policy's blocked domains")
        } else if !self.allowed.is_empty() && !matches(&self.allowed) {
            Some("not in the B2B management policy's allowed domains")
        } else {
            None
        }
    }
}

fn domain_matches(pattern: &str, domain: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(base) => {
            domain == base
                || domain
                    .strip_suffix(base)
                    .is_some_and(|head| head.ends_with('.'))
        }
        None => pattern == domain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_policy_block_list_and_allow_list() {
        let p = DomainPolicy {
            allowed: vec![],
            blocked: vec!["live.com".into(), "*.example.org".into()],
        };
        assert!(p.refusal("live.com").is_some());
        assert!(p.refusal("sub.example.org").is_some());
        assert!(p.refusal("example.org").is_some());
        assert!(p.refusal("notexample.org").is_none());
        assert!(p.refusal("adatum.com").is_none());
        let a = DomainPolicy {
            allowed: vec!["adatum.com".into()],
            blocked: vec![],
        };
        assert!(a.refusal("adatum.com").is_none());
        assert_eq!(
            a.refusal("fabrikam.com"),
            Some("not in the B2B management policy's allowed domains")
        );
    }
}

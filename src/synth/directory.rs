//! The directory around a generated tenant's people: contacts and soft-deleted users (a few
//! holding a local guest's address), role assignments, administrative units (one with
//! restricted management), conditional access, partner settings, the tenants behind the mail
//! domains, and accounts converted from external once. Accounts are sampled at fixed strides,
//! so the cost stays small and the output depends only on the seed and the size.

use serde_json::{Value, json};

use super::people::{PARTNERS, Rng, User, shaped_user};
use super::{DOMAIN, Shape};
use crate::snapshot::SnapshotError;
use crate::snapshot::writer::SnapshotWriter;

/// Partners whose settings differ from the default: one blocked, one whose MFA is trusted,
/// one admitted only for a group.
const BLOCKED_PARTNER: &str = "tailspintoys.com";
const TRUSTED_PARTNER: &str = "adatum.com";
const RESTRICTED_PARTNER: &str = "litwareinc.com";

/// Mail domains with no Entra tenant behind them.
const CONSUMER_DOMAINS: &[&str] = &["gmail.com", "vendor-shared.example"];

struct Sampler<'a> {
    seed: u64,
    total: usize,
    shape: &'a Shape,
}

impl Sampler<'_> {
    /// The accounts at `offset`, `offset + stride`, … (at most `max`).
    fn every(&self, stride: usize, offset: usize, max: usize) -> impl Iterator<Item = User> + '_ {
        (offset..self.total)
            .step_by(stride.max(1))
            .take(max)
            .map(|i| shaped_user(self.seed, i, self.total, self.shape))
    }
}

/// The tenant id behind a partner domain: fixed by the domain, so every seed agrees.
pub(super) fn partner_tenant(domain: &str) -> String {
    let stream = domain
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    Rng::new(0x007E_4A47, stream).guid()
}

pub(super) fn write(
    w: &mut SnapshotWriter,
    seed: u64,
    total: usize,
    shape: &Shape,
) -> Result<(), SnapshotError> {
    let s = Sampler { seed, total, shape };
    let mut rng = Rng::new(seed ^ 0xD1EC_7027, 0);
    w.write_all("contacts", contacts(&s, &mut rng).iter())?;
    w.write_all("deletedUsers", deleted_users(&s, &mut rng).iter())?;
    w.write_all("directoryRoles", roles(&s).iter())?;
    w.write_all("administrativeUnits", units(&s).iter())?;
    w.write_all("conditionalAccessPolicies", policies().iter())?;
    w.write_all("crossTenantAccessPolicyPartners", partners().iter())?;
    w.write_all("domainTenants", domain_tenants().iter())?;
    let converted: Vec<Value> = s
        .every(900, 450, usize::MAX)
        .filter(|u| u.local_guest_mail().is_some())
        .map(|u| json!({"id": u.id(), "externalUserConvertedOn": "2025-04-03T11:20:45Z"}))
        .collect();
    w.write_all("convertedUsers", converted.iter())?;
    Ok(())
}

/// One contact per 200 accounts; every tenth stands for a local guest and holds its address.
fn contacts(s: &Sampler, rng: &mut Rng) -> Vec<Value> {
    s.every(200, 17, usize::MAX)
        .enumerate()
        .map(|(k, u)| {
            let partner = rng.pick(PARTNERS);
            let own = format!("contact{k}@{partner}");
            let mail = match u.local_guest_mail() {
                Some(m) if k % 10 == 0 => m.to_owned(),
                _ => own.clone(),
            };
            json!({"id": rng.guid(), "displayName": format!("Contact {k} ({partner})"),
                "mail": own, "proxyAddresses": [format!("SMTP:{own}"), format!("smtp:{mail}")]})
        })
        .collect()
}

/// One soft-deleted user per 400 accounts; every fifth held a local guest's address.
fn deleted_users(s: &Sampler, rng: &mut Rng) -> Vec<Value> {
    s.every(400, 101, usize::MAX)
        .enumerate()
        .map(|(k, u)| {
            let id = rng.guid();
            let upn = format!("former{k}@{DOMAIN}");
            let mail = match u.local_guest_mail() {
                Some(m) if k % 5 == 0 => m.to_owned(),
                _ => upn.clone(),
            };
            json!({"id": id, "userPrincipalName": format!("{}{upn}", id.replace('-', "")),
                "mail": mail, "proxyAddresses": [format!("SMTP:{mail}")],
                "deletedDateTime": "2026-10-20T16:44:02Z"})
        })
        .collect()
}

fn assignment(principal: &str, role: (&str, &str, bool), scope: &str) -> Value {
    let (id, name, privileged) = role;
    json!({"id": format!("{id}-{principal}"), "principalId": principal, "roleDefinitionId": id,
        "directoryScopeId": scope,
        "roleDefinition": {"id": id, "displayName": name, "isPrivileged": privileged}})
}

const GLOBAL_ADMIN: (&str, &str, bool) = (
    "62e90394-69f5-4237-9190-012177145e10",
    "Global Administrator",
    true,
);
const HELPDESK_ADMIN: (&str, &str, bool) = (
    "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Helpdesk Administrator",
    true,
);
const DIRECTORY_READERS: (&str, &str, bool) = (
    "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
    "Directory Readers",
    false,
);

/// A few administrators among the employees, and roles on one local guest per 1,000.
fn roles(s: &Sampler) -> Vec<Value> {
    let admins = s
        .every(97, 3, 400)
        .filter(User::is_employee)
        .take(8)
        .map(|u| assignment(u.id(), GLOBAL_ADMIN, "/"));
    let guests = s
        .every(1000, 333, usize::MAX)
        .filter(|u| u.local_guest_mail().is_some())
        .enumerate()
        .map(|(k, u)| {
            let role = if k % 2 == 0 {
                HELPDESK_ADMIN
            } else {
                DIRECTORY_READERS
            };
            assignment(u.id(), role, "/")
        });
    admins.chain(guests).collect()
}

/// An ordinary unit and one with restricted management holding one local guest per 700.
fn units(s: &Sampler) -> Vec<Value> {
    let members: Vec<Value> = s
        .every(700, 211, usize::MAX)
        .filter(|u| u.local_guest_mail().is_some())
        .map(|u| json!({"id": u.id()}))
        .collect();
    vec![
        json!({"id": "2d6a0f41-8c3b-4e5d-9a7f-1b2c3d4e5f60", "displayName": "Finance", "isMemberManagementRestricted": false}),
        json!({"id": "5e8b1c72-9d4a-4f6e-8b0c-2d3e4f5a6b71", "displayName": "Board and executive assistants", "isMemberManagementRestricted": true, "members": members}),
    ]
}

fn policies() -> Vec<Value> {
    let guests = json!({"@odata.type": "#microsoft.graph.conditionalAccessGuestsOrExternalUsers",
        "guestOrExternalUserTypes": "internalGuest,b2bCollaborationGuest,b2bCollaborationMember,b2bDirectConnectUser,otherExternalUser,serviceProvider",
        "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants", "membershipKind": "all"}});
    let users = |include_roles: Value, include_guests: Value| {
        json!({"includeUsers": [], "excludeUsers": [], "includeGroups": [], "excludeGroups": [],
            "includeRoles": include_roles, "excludeRoles": [],
            "includeGuestsOrExternalUsers": include_guests, "excludeGuestsOrExternalUsers": null})
    };
    let mfa = json!({"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [], "termsOfUse": [], "authenticationStrength": null});
    vec![
        json!({"id": "0c3f8e21-4b6a-4d9e-8f1a-3b5c7d9e1f20", "displayName": "Require MFA for guests and external users",
            "state": "enabled", "conditions": {"users": users(json!([]), guests.clone())}, "grantControls": mfa}),
        json!({"id": "1d4a9f32-5c7b-4e0f-9a2b-4c6d8e0f2a31", "displayName": "Require MFA for administrators",
            "state": "enabled", "conditions": {"users": users(json!([GLOBAL_ADMIN.0]), Value::Null)}, "grantControls": mfa}),
        json!({"id": "2e5b0a43-6d8c-4f1a-8b3c-5d7e9f1a3b42", "displayName": "Block downloads for guests (report-only)",
            "state": "enabledForReportingButNotEnforced", "conditions": {"users": users(json!([]), guests)},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}}),
    ]
}

fn partners() -> Vec<Value> {
    let all_users = |access: &str| json!({"accessType": access, "targets": [{"target": "AllUsers", "targetType": "user"}]});
    vec![
        json!({"tenantId": partner_tenant(BLOCKED_PARTNER), "isServiceProvider": false, "inboundTrust": null,
            "b2bCollaborationInbound": {"usersAndGroups": all_users("blocked"), "applications": null}}),
        json!({"tenantId": partner_tenant(TRUSTED_PARTNER), "isServiceProvider": false,
            "inboundTrust": {"isMfaAccepted": true, "isCompliantDeviceAccepted": false, "isHybridAzureADJoinedDeviceAccepted": false},
            "b2bCollaborationInbound": null}),
        json!({"tenantId": partner_tenant(RESTRICTED_PARTNER), "isServiceProvider": false, "inboundTrust": null,
            "b2bCollaborationInbound": {"usersAndGroups": {"accessType": "allowed", "targets": [{"target": "8f2c4e6a-0b1d-4c3e-9f5a-7b9d1e3f5a70", "targetType": "group"}]}, "applications": null}}),
    ]
}

fn domain_tenants() -> Vec<Value> {
    let entra = PARTNERS.iter().map(|d| {
        let name = d.split('.').next().unwrap_or(d);
        json!({"domain": d, "status": "entra", "tenantId": partner_tenant(d),
            "displayName": name, "defaultDomainName": d})
    });
    let none = CONSUMER_DOMAINS
        .iter()
        .map(|d| json!({"domain": d, "status": "none"}));
    entra.chain(none).collect()
}

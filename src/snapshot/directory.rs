//! The directory collections beside the users: organizational contacts, soft-deleted users,
//! directory role assignments, administrative units, conditional access policies and the
//! tenants behind the accounts' mail domains. Each is small next to `users`, read whole.

use serde::Deserialize;

/// An organizational contact: it can hold an address an account wants.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub mail: Option<String>,
    #[serde(default)]
    pub proxy_addresses: Option<Vec<String>>,
}

/// A soft-deleted user, restorable for 30 days and still holding its addresses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedUser {
    pub id: Option<String>,
    pub user_principal_name: Option<String>,
    pub mail: Option<String>,
    #[serde(default)]
    pub proxy_addresses: Option<Vec<String>>,
    pub deleted_date_time: Option<String>,
}

impl DeletedUser {
    /// The UPN the account had: Graph prefixes a deleted user's UPN with its object id
    /// without dashes.
    pub fn original_upn(&self) -> Option<&str> {
        let upn = self.user_principal_name.as_deref()?;
        let id: String = self.id.as_deref()?.chars().filter(|c| *c != '-').collect();
        Some(match upn.get(..id.len()) {
            Some(head) if !id.is_empty() && head.eq_ignore_ascii_case(&id) => &upn[id.len()..],
            _ => upn,
        })
    }
}

/// An active directory role assignment, with its role definition expanded.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub principal_id: Option<String>,
    pub role_definition_id: Option<String>,
    pub directory_scope_id: Option<String>,
    pub role_definition: Option<RoleDefinition>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub is_privileged: Option<bool>,
}

/// An administrative unit; `members` is read only for units with restricted management.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdministrativeUnit {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub is_member_management_restricted: Option<bool>,
    #[serde(default)]
    pub members: Option<Vec<DirectoryObject>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DirectoryObject {
    pub id: Option<String>,
}

/// A conditional access policy: only what decides whether it asks a B2B collaboration user
/// for MFA.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionalAccessPolicy {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub state: Option<String>,
    pub conditions: Option<Conditions>,
    pub grant_controls: Option<GrantControls>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Conditions {
    pub users: Option<UserConditions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserConditions {
    #[serde(default)]
    pub include_users: Option<Vec<String>>,
    #[serde(default)]
    pub exclude_users: Option<Vec<String>>,
    #[serde(default)]
    pub include_roles: Option<Vec<String>>,
    #[serde(default)]
    pub exclude_roles: Option<Vec<String>>,
    pub include_guests_or_external_users: Option<GuestsOrExternalUsers>,
    pub exclude_guests_or_external_users: Option<GuestsOrExternalUsers>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestsOrExternalUsers {
    /// Comma-separated: internalGuest, b2bCollaborationGuest, b2bCollaborationMember, …
    pub guest_or_external_user_types: Option<String>,
    pub external_tenants: Option<ExternalTenants>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalTenants {
    /// all or enumerated.
    pub membership_kind: Option<String>,
    #[serde(default)]
    pub members: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantControls {
    pub operator: Option<String>,
    #[serde(default)]
    pub built_in_controls: Option<Vec<String>>,
    pub authentication_strength: Option<serde_json::Value>,
}

/// A user's `externalUserConvertedOn`, read from beta by the opt-in `convertedUsers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConvertedUser {
    pub id: Option<String>,
    pub external_user_converted_on: Option<String>,
}

/// The tenant behind one mail domain, as `findTenantInformationByDomainName` answered.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainTenant {
    pub domain: String,
    /// entra, none (Graph found no tenant: a consumer or non-Entra domain) or unknown (the
    /// lookup failed; `error` says how).
    pub status: String,
    pub tenant_id: Option<String>,
    pub display_name: Option<String>,
    pub default_domain_name: Option<String>,
    pub error: Option<String>,
}

impl GuestsOrExternalUsers {
    /// Whether the condition names B2B collaboration users (guest or member) of `home`.
    pub fn covers_b2b_collaboration(&self, home: Option<&str>) -> bool {
        let types = self.guest_or_external_user_types.as_deref().unwrap_or("");
        let b2b = types.split(',').map(str::trim).any(|t| {
            t.eq_ignore_ascii_case("b2bCollaborationGuest")
                || t.eq_ignore_ascii_case("b2bCollaborationMember")
        });
        let tenant = match &self.external_tenants {
            None => true,
            Some(t) => match t.membership_kind.as_deref() {
                Some(k) if k.eq_ignore_ascii_case("enumerated") => home.is_some_and(|h| {
                    t.members
                        .iter()
                        .flatten()
                        .any(|m| m.trim().eq_ignore_ascii_case(h))
                }),
                _ => true,
            },
        };
        b2b && tenant
    }
}

impl ConditionalAccessPolicy {
    /// Enforced: not disabled and not report-only.
    pub fn enabled(&self) -> bool {
        self.state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("enabled"))
    }

    /// Whether granting access always needs MFA: the `mfa` control (alone, or with AND) or an
    /// authentication strength.
    pub fn requires_mfa(&self) -> bool {
        let Some(g) = &self.grant_controls else {
            return false;
        };
        let controls = g.built_in_controls.as_deref().unwrap_or_default();
        let mfa = controls.iter().any(|c| c.eq_ignore_ascii_case("mfa"));
        let all_required = controls.len() <= 1
            || g.operator
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case("and"));
        let strength = g
            .authentication_strength
            .as_ref()
            .is_some_and(|s| !s.is_null());
        (mfa && all_required) || strength
    }

    /// Whether the policy would cover `user` once it is a B2B collaboration user of `home`:
    /// all users, guests and external users, or the B2B collaboration types are included
    /// (directly or by role), and the account is not excluded by id, role or type.
    pub fn covers_converted(&self, user: &str, home: Option<&str>, roles: &[&str]) -> bool {
        let none = UserConditions::default();
        let u = self
            .conditions
            .as_ref()
            .and_then(|c| c.users.as_ref())
            .unwrap_or(&none);
        let listed = |list: &Option<Vec<String>>, value: &str| {
            list.iter()
                .flatten()
                .any(|v| v.trim().eq_ignore_ascii_case(value))
        };
        let in_roles = |list: &Option<Vec<String>>| roles.iter().any(|r| listed(list, r));
        let included = listed(&u.include_users, "All")
            || listed(&u.include_users, "GuestsOrExternalUsers")
            || listed(&u.include_users, user)
            || in_roles(&u.include_roles)
            || u.include_guests_or_external_users
                .as_ref()
                .is_some_and(|g| g.covers_b2b_collaboration(home));
        let excluded = listed(&u.exclude_users, user)
            || listed(&u.exclude_users, "GuestsOrExternalUsers")
            || in_roles(&u.exclude_roles)
            || u.exclude_guests_or_external_users
                .as_ref()
                .is_some_and(|g| g.covers_b2b_collaboration(home));
        included && !excluded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_users_upn_loses_its_id_prefix() {
        let d = DeletedUser {
            id: Some("0b3f6a2e-55c7-4a86-9d0b-3c6a51e1e5f0".into()),
            user_principal_name: Some("0b3f6a2e55c74a869d0b3c6a51e1e5f0avery@contoso.com".into()),
            mail: None,
            proxy_addresses: None,
            deleted_date_time: None,
        };
        assert_eq!(d.original_upn(), Some("avery@contoso.com"));
        let plain = DeletedUser {
            user_principal_name: Some("avery@contoso.com".into()),
            ..d
        };
        assert_eq!(plain.original_upn(), Some("avery@contoso.com"));
    }

    #[test]
    fn mfa_policies_cover_converted_accounts_unless_excluded() {
        let policy: ConditionalAccessPolicy = serde_json::from_str(
            r##"{"id":"p","displayName":"MFA for guests","state":"enabled",
            "conditions":{"users":{"includeUsers":[],"excludeUsers":["u2"],
              "includeGuestsOrExternalUsers":{"guestOrExternalUserTypes":"internalGuest,b2bCollaborationGuest,b2bCollaborationMember",
                "externalTenants":{"@odata.type":"#microsoft.graph.conditionalAccessAllExternalTenants","membershipKind":"all"}}}},
            "grantControls":{"operator":"OR","builtInControls":["mfa"]}}"##,
        )
        .expect("policy");
        assert!(policy.enabled() && policy.requires_mfa());
        assert!(policy.covers_converted("u1", Some("t1"), &[]));
        assert!(!policy.covers_converted("u2", Some("t1"), &[]));
        let either: GrantControls = serde_json::from_str(
            r#"{"operator":"OR","builtInControls":["mfa","compliantDevice"]}"#,
        )
        .expect("controls");
        let loose = ConditionalAccessPolicy {
            grant_controls: Some(either),
            ..policy
        };
        assert!(!loose.requires_mfa());
    }
}

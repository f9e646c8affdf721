//! What an export reads: every collection, where it comes from and the least privileged
//! permission it needs, plus the `$select` of users and the ARM API versions.

/// The user properties the rules read, plus a few a reviewer wants to see.
pub const USER_SELECT: &str = "id,displayName,userPrincipalName,mail,otherMails,proxyAddresses,userType,accountEnabled,creationType,externalUserState,onPremisesUserPrincipalName,onPremisesSyncEnabled,assignedPlans,companyName,createdDateTime";
pub(super) const SUBSCRIPTIONS_API: &str = "2022-12-01";
pub(super) const GUEST_USAGES_API: &str = "2021-04-01";

#[derive(Debug, Clone, Copy)]
pub(super) enum Source {
    List(&'static str),
    Single(&'static str),
    GuestUsages,
    /// One request per user, sent 20 at a time through `$batch`: the URL (with `{id}`) and
    /// the key the user's list is written under.
    PerUser(&'static str, &'static str),
}

/// Every collection an export reads, where from, and the least privileged permission.
pub(super) const COLLECTIONS: &[(&str, Source, &str)] = &[
    (
        "organization",
        Source::List("/v1.0/organization"),
        "Organization.Read.All",
    ),
    ("domains", Source::List("/v1.0/domains"), "Domain.Read.All"),
    ("users", Source::List("/v1.0/users"), "User.Read.All"),
    (
        "authorizationPolicy",
        Source::Single("/v1.0/policies/authorizationPolicy"),
        "Policy.Read.All",
    ),
    (
        "crossTenantAccessPolicyDefault",
        Source::Single("/v1.0/policies/crossTenantAccessPolicy/default"),
        "Policy.Read.All",
    ),
    (
        "crossTenantAccessPolicyPartners",
        Source::List("/v1.0/policies/crossTenantAccessPolicy/partners"),
        "Policy.Read.All",
    ),
    (
        "b2bManagementPolicies",
        Source::List("/beta/policies/b2bManagementPolicies"),
        "Policy.Read.All",
    ),
    (
        "emailAuthenticationMethodConfiguration",
        Source::Single(
            "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email",
        ),
        "Policy.Read.All",
    ),
    (
        "guestUsages",
        Source::GuestUsages,
        "the Azure Reader role (Microsoft.AzureActiveDirectory/guestUsages/read) on each subscription",
    ),
    (
        "memberships",
        Source::PerUser("/users/{id}/memberOf?$select=id,displayName", "memberOf"),
        "GroupMember.Read.All",
    ),
    (
        "authenticationMethods",
        Source::PerUser("/users/{id}/authentication/methods", "methods"),
        "UserAuthenticationMethod.Read.All",
    ),
];

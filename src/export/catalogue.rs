//! What an export reads: every collection, where it comes from and the least privileged
//! permission it needs, plus the `$select` of users and the ARM API versions.

/// The user properties the rules read, plus a few a reviewer wants to see.
pub const USER_SELECT: &str = "id,displayName,userPrincipalName,mail,otherMails,proxyAddresses,userType,accountEnabled,creationType,externalUserState,externalUserStateChangeDateTime,onPremisesUserPrincipalName,onPremisesSyncEnabled,assignedPlans,companyName,employeeType,identities,createdDateTime";
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
    /// Administrative units, with the members of those with restricted management.
    RestrictedUnits,
    /// The tenant behind each distinct mail domain of the users read before.
    DomainTenants,
}

/// Collections read only when asked for: they cost a request per user or a second pass.
pub(super) const OPT_IN: &[&str] = &["memberships", "authenticationMethods", "convertedUsers"];

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
        "contacts",
        Source::List("/v1.0/contacts?$select=id,displayName,mail,proxyAddresses&$top=999"),
        "OrgContact.Read.All",
    ),
    (
        "deletedUsers",
        Source::List(
            "/v1.0/directory/deletedItems/microsoft.graph.user?$select=id,userPrincipalName,mail,proxyAddresses,deletedDateTime&$top=999",
        ),
        "User.Read.All",
    ),
    (
        "directoryRoles",
        // isPrivileged is on the role definition in beta only.
        Source::List("/beta/roleManagement/directory/roleAssignments?$expand=roleDefinition"),
        "RoleManagement.Read.Directory",
    ),
    (
        "administrativeUnits",
        Source::RestrictedUnits,
        "AdministrativeUnit.Read.All",
    ),
    (
        "conditionalAccessPolicies",
        Source::List("/v1.0/identity/conditionalAccess/policies"),
        "Policy.Read.All",
    ),
    (
        "domainTenants",
        Source::DomainTenants,
        "CrossTenantInformation.ReadBasic.All",
    ),
    (
        "convertedUsers",
        // Beta only, undocumented there: a second pass over every user, with two properties.
        Source::List("/beta/users?$select=id,externalUserConvertedOn&$top=999"),
        "User.Read.All",
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

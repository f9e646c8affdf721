//! The data every stage shares: the account and tenant tables with their documented columns,
//! severities and verdicts.

mod str_column;
pub mod table;

pub use table::{Cell, Column, ColumnDef, Kind, StrColumn, Table};

use serde::{Deserialize, Serialize};

macro_rules! schema {
    ($name:ident, $( $idx:ident = $col:literal : $kind:ident, $doc:literal; )*) => {
        pub const $name: &[ColumnDef] = &[
            $( ColumnDef { name: $col, kind: Kind::$kind, doc: $doc }, )*
        ];
        schema!(@idx 0usize; $( $idx )*);
    };
    (@idx $n:expr; $first:ident $( $rest:ident )*) => {
        pub const $first: usize = $n;
        schema!(@idx $n + 1usize; $( $rest )*);
    };
    (@idx $n:expr;) => {};
}

/// Columns of the account table. The reader fills those up to `IDENTITY_ISSUERS`; the facts
/// step derives the rest.
pub mod user {
    use super::*;
    schema! { COLUMNS,
        ID = "id": Text, "object id";
        UPN = "user_principal_name": Text, "userPrincipalName";
        DISPLAY_NAME = "display_name": Text, "displayName (cut to 256 characters)";
        MAIL = "mail": Text, "mail, as Graph holds it (may be null or blank)";
        USER_TYPE = "user_type": Text, "userType: Member, Guest or null";
        ACCOUNT_ENABLED = "account_enabled": Bool, "accountEnabled";
        CREATION_TYPE = "creation_type": Text, "creationType";
        EXTERNAL_USER_STATE = "external_user_state": Text, "externalUserState";
        ONPREM_UPN = "on_premises_user_principal_name": Text, "onPremisesUserPrincipalName";
        ONPREM_SYNC = "on_premises_sync_enabled": Bool, "onPremisesSyncEnabled";
        OTHER_MAILS = "other_mails": Text, "otherMails joined with \"; \"";
        HAS_EXCHANGE_PLAN = "has_exchange_plan": Bool, "assignedPlans holds an Exchange Online plan that gives a mailbox (capabilityStatus Enabled, Warning or Suspended; not Exchange Foundation and the other plans without a mailbox)";
        EXCHANGE_PLAN_ID = "exchange_plan_id": Text, "servicePlanId of that mailbox plan";
        COMPANY_NAME = "company_name": Text, "companyName";
        EMPLOYEE_TYPE = "employee_type": Text, "employeeType (Employee, Contractor, Vendor, …, as the tenant uses it)";
        EXTERNAL_USER_STATE_CHANGED = "external_user_state_change_date_time": Text, "externalUserStateChangeDateTime";
        EXTERNAL_USER_CONVERTED_ON = "external_user_converted_on": Text, "externalUserConvertedOn (beta): when the account was converted from external to internal; null if never";
        IDENTITY_ISSUERS = "identity_issuers": Text, "issuers of the account's identities, joined with \"; \"";
        MAIL_DOMAIN = "mail_domain": Text, "lower-case domain of mail; null unless mail has exactly one @";
        MAIL_DOMAIN_VERIFIED = "mail_domain_verified": Bool, "mail_domain is a verified domain of the tenant";
        MAIL_PROBLEM = "mail_problem": Text, "why the invitation API would refuse mail; null when mail is blank or valid";
        MAIL_COLLISION_WITH = "mail_collision_with": Text, "another object holding the account's mail as its mail, an smtp proxy address, otherMails or userPrincipalName: a user's or deleted user's userPrincipalName, a contact's mail; null if none";
        MAIL_COLLISION_COUNT = "mail_collision_count": Int, "how many other users, contacts and deleted users hold the address";
        MAIL_DOMAIN_POLICY = "mail_domain_policy": Text, "why the B2B management policy refuses mail_domain; null if it does not";
        EXTERNAL_EMAIL = "external_email": Text, "sign-in address from --external-identities";
        EXTERNAL_DOMAIN = "external_domain": Text, "lower-case domain of external_email";
        MAIL_COLLISION_KIND = "mail_collision_kind": Text, "what mail_collision_with is: user, contact or deleted-user";
        MAIL_COLLISION_ID = "mail_collision_id": Text, "object id of mail_collision_with";
        EXTERNAL_IDENTITY_ISSUER = "external_identity_issuer": Text, "issuer of an identity that is not this tenant's (ExternalAzureAD, MicrosoftAccount, mail, google.com, …); null if none";
        HOME_TENANT = "home_tenant": Text, "what is behind mail_domain: entra (an Entra tenant), none (consumer or non-Entra domain) or unknown (lookup failed); null if not looked up";
        HOME_TENANT_ID = "home_tenant_id": Text, "the Entra tenant behind mail_domain";
        CROSS_TENANT_POLICY = "cross_tenant_policy": Text, "which cross-tenant access setting applies to home_tenant_id: partner or default";
        CROSS_TENANT_INBOUND = "cross_tenant_inbound": Text, "effective inbound B2B collaboration for home_tenant_id: allowed, restricted or blocked";
        CROSS_TENANT_INBOUND_DETAIL = "cross_tenant_inbound_detail": Text, "what blocks or restricts inbound B2B collaboration, in words";
        INBOUND_MFA_TRUSTED = "inbound_mfa_trusted": Bool, "the effective inbound trust accepts MFA from home_tenant_id (false when there is no Entra tenant)";
        CA_MFA_POLICIES = "ca_mfa_policies": Text, "enabled conditional access policies requiring MFA of B2B collaboration users that would cover the account, joined with \"; \"";
        DIRECTORY_ROLES = "directory_roles": Text, "active directory role assignments of the account, joined with \"; \" (privileged ones marked)";
        DIRECTORY_ROLE_COUNT = "directory_role_count": Int, "how many active directory role assignments the account holds";
        PRIVILEGED_ROLE_COUNT = "privileged_role_count": Int, "how many of them are privileged roles";
        RESTRICTED_UNITS = "restricted_units": Text, "administrative units with restricted management the account is a member of, joined with \"; \"";
    }
    /// The first derived column.
    pub const FIRST_FACT: usize = MAIL_DOMAIN;
    /// The columns a `--scope-where` condition can read: what the reader fills, plus the mail
    /// domain and whether the tenant verified it (known before the scope is).
    pub const SCOPE_COLUMNS: &[ColumnDef] = COLUMNS.split_at(MAIL_DOMAIN_VERIFIED + 1).0;
}

/// Columns of the one-row tenant table.
pub mod tenant {
    use super::*;
    schema! { COLUMNS,
        TENANT_ID = "tenant_id": Text, "the tenant (organization) id";
        TENANT_NAME = "tenant_name": Text, "organization displayName";
        ALLOW_INVITES_FROM = "allow_invites_from": Text, "authorizationPolicy.allowInvitesFrom";
        CROSS_TENANT_INBOUND = "cross_tenant_inbound_users": Text, "default cross-tenant policy for inbound B2B collaboration users: allowed, blocked or restricted";
        LINKED_SUBSCRIPTIONS = "linked_subscriptions": Int, "guestUsages resources linking this tenant to a subscription";
        EMAIL_OTP_STATE = "email_otp_state": Text, "email authentication method state";
        EMAIL_OTP_FOR_EXTERNAL = "email_otp_for_external": Text, "allowExternalIdToUseEmailOtp";
        EMAIL_OTP_ENABLED = "email_otp_enabled": Bool, "email one-time passcode is on for external users: allowExternalIdToUseEmailOtp is enabled or default (which means enabled)";
        ACCOUNTS_IN_SCOPE = "accounts_in_scope": Int, "accounts in scope of this scan";
        TEAMS_URL = "teams_url": Text, "Teams address with the tenant context";
        MYAPPS_URL = "myapps_url": Text, "My Apps address with the tenant context";
    }
}

/// Sixteen bytes written as a GUID, `8-4-4-4-12` lower-case hex digits, as Graph writes ids.
pub fn guid(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The schema name of `findings.json`, which is also what a baseline must be.
pub const FINDINGS_SCHEMA: &str = "b2bready-findings/1";

/// Which internal accounts a scan judges, as a config file or a flag names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeChoice {
    /// Internal accounts that look like local guests: userType Guest, or a mail outside the
    /// tenant's verified domains.
    LikelyGuests,
    /// Every internal account.
    All,
}

/// The lowest severity that fails a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    /// Exit 1 when any blocker is found.
    Blocker,
    /// Exit 1 when any blocker or warning is found.
    Warning,
    /// Always exit 0 once the scan ran.
    Never,
}

impl FailOn {
    /// The lowest severity that fails the build, if any does.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Blocker => Some(Severity::Blocker),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Never => None,
        }
    }
}

/// How much a finding matters. Ordered: `Info < Warning < Blocker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Blocker,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Blocker => "blocker",
        }
    }
}

/// The decision for one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// In scope and no blocker applies: the invitation API can convert it.
    Ready,
    /// In scope and at least one blocker applies.
    Blocked,
    /// Invited already (externalUserState PendingAcceptance) and not yet redeemed: an
    /// invitation is out, the conversion is not done. A plan resends it only when asked.
    Pending,
    /// An external guest or an account already converted: never touched.
    Excluded,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::Blocked => "blocked",
            Verdict::Pending => "pending",
            Verdict::Excluded => "excluded",
        }
    }
}

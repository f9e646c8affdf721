//! The data every stage shares: the account and tenant tables with their documented columns,
//! severities and verdicts.

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

/// Columns of the account table. The reader fills those up to `EXCHANGE_PLAN_ID`; the facts
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
        HAS_EXCHANGE_PLAN = "has_exchange_plan": Bool, "assignedPlans holds an Enabled plan of service exchange";
        EXCHANGE_PLAN_ID = "exchange_plan_id": Text, "servicePlanId of that exchange plan";
        MAIL_DOMAIN = "mail_domain": Text, "lower-case domain of mail; null unless mail has exactly one @";
        MAIL_PROBLEM = "mail_problem": Text, "why the invitation API would refuse mail; null when mail is blank or valid";
        MAIL_DOMAIN_VERIFIED = "mail_domain_verified": Bool, "mail_domain is a verified domain of the tenant";
        MAIL_COLLISION_WITH = "mail_collision_with": Text, "userPrincipalName of another account holding the same address; null if none";
        MAIL_COLLISION_COUNT = "mail_collision_count": Int, "how many other accounts hold the address";
        MAIL_DOMAIN_POLICY = "mail_domain_policy": Text, "why the B2B management policy refuses mail_domain; null if it does not";
        EXTERNAL_EMAIL = "external_email": Text, "sign-in address from --external-identities";
        EXTERNAL_DOMAIN = "external_domain": Text, "lower-case domain of external_email";
    }
    /// The first derived column.
    pub const FIRST_FACT: usize = MAIL_DOMAIN;
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
        EMAIL_OTP_ENABLED = "email_otp_enabled": Bool, "email one-time passcode is on for external users";
        ACCOUNTS_IN_SCOPE = "accounts_in_scope": Int, "accounts in scope of this scan";
        TEAMS_URL = "teams_url": Text, "Teams address with the tenant context";
        MYAPPS_URL = "myapps_url": Text, "My Apps address with the tenant context";
    }
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
    /// An external guest or an account already invited: never touched.
    Excluded,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::Blocked => "blocked",
            Verdict::Excluded => "excluded",
        }
    }
}

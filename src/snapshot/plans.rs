//! `assignedPlans` of an account, read for the one thing the scan asks of them: the first
//! Exchange plan that gives the account a mailbox, and its `servicePlanId`.
//!
//! The plans are judged as they are read and none is kept, so an account with dozens of plans
//! costs no list and no copies of their strings.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};

use super::text::Text;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPlan<'a> {
    #[serde(borrow)]
    capability_status: Option<Text<'a>>,
    #[serde(borrow)]
    service: Option<Text<'a>>,
    #[serde(borrow)]
    service_plan_id: Option<Text<'a>>,
}

/// The first plan of the list that gives a mailbox: `None` when there is none, otherwise its
/// `servicePlanId` (itself absent on a plan that names none).
pub struct MailboxPlan<'a>(pub Option<Option<Text<'a>>>);

impl<'de: 'a, 'a> Deserialize<'de> for MailboxPlan<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FirstMailbox;

        impl<'de> Visitor<'de> for FirstMailbox {
            type Value = MailboxPlan<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sequence")
            }

            fn visit_seq<S: SeqAccess<'de>>(self, mut plans: S) -> Result<Self::Value, S::Error> {
                let mut first = None;
                // Every plan is still read, so a malformed one later in the list is an error
                // wherever the mailbox plan is.
                while let Some(plan) = plans.next_element::<RawPlan<'de>>()? {
                    if first.is_none() && is_mailbox_plan(&plan) {
                        first = Some(plan.service_plan_id);
                    }
                }
                Ok(MailboxPlan(first))
            }
        }

        d.deserialize_seq(FirstMailbox)
    }
}

/// Exchange Online service plans that come with many licenses but give no mailbox, by
/// servicePlanId (lower-case): an account holding only these has no mailbox pinning its mail.
const NON_MAILBOX_EXCHANGE_PLANS: &[(&str, &str)] = &[
    (
        "113feb6c-3fe4-4440-bddc-54d774bf0318",
        "EXCHANGE_S_FOUNDATION (Exchange Foundation)",
    ),
    (
        "f20fedf3-f3c3-43c3-8267-2bfdd51c0939",
        "ATP_ENTERPRISE (Defender for Office 365 Plan 1)",
    ),
    (
        "8e0c0a52-6a6c-4d40-8370-dd62790dcd70",
        "THREAT_INTELLIGENCE (Defender for Office 365 Plan 2)",
    ),
    (
        "c4801e8a-cb58-4c35-aca6-f2dcc106f287",
        "INFORMATION_BARRIERS",
    ),
    (
        "9f431833-0334-42de-a7dc-70aa40db46db",
        "LOCKBOX_ENTERPRISE (Customer Lockbox)",
    ),
    ("617b097b-4b93-4ede-83de-5f075bb5fb2f", "PREMIUM_ENCRYPTION"),
    ("34c0d7a0-a70f-4668-9238-47f9fc208882", "EXCHANGE_ANALYTICS"),
    ("6db1f1db-2b46-403f-be40-e39395f08dbb", "CUSTOMER_KEY"),
    (
        "4de31727-a228-4ec3-a5bf-8e45b5ca48cc",
        "EQUIVIO_ANALYTICS (eDiscovery Premium)",
    ),
    (
        "b1188c4c-1b36-4018-b48b-ee07604f6feb",
        "PAM_ENTERPRISE (Privileged Access Management)",
    ),
    (
        "5136a095-5cf0-4aff-bec3-e84448b38ea5",
        "MIP_S_CLP1 (Information Protection)",
    ),
    (
        "efb0351d-3b08-4503-993d-383af8de41e3",
        "MIP_S_CLP2 (Information Protection)",
    ),
];

/// An Exchange plan that gives (or keeps) a mailbox: service exchange, a capability status of
/// Enabled, Warning or Suspended (a suspended mailbox still holds mail), and not one of the
/// plans without a mailbox.
fn is_mailbox_plan(p: &RawPlan) -> bool {
    let exchange = p
        .service
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("exchange"));
    let active = p.capability_status.as_deref().is_some_and(|s| {
        ["enabled", "warning", "suspended"]
            .iter()
            .any(|a| s.eq_ignore_ascii_case(a))
    });
    let mailbox = p.service_plan_id.as_deref().is_none_or(|id| {
        !NON_MAILBOX_EXCHANGE_PLANS
            .iter()
            .any(|(plan, _)| id.trim().eq_ignore_ascii_case(plan))
    });
    exchange && active && mailbox
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(plans: &str) -> Option<Option<String>> {
        let p: MailboxPlan = serde_json::from_str(plans).expect("plans");
        p.0.map(|id| id.map(|t| t.to_string()))
    }

    #[test]
    fn the_first_active_exchange_plan_with_a_mailbox_is_kept() {
        let plans = r#"[
            {"service":"SharePoint","capabilityStatus":"Enabled","servicePlanId":"a"},
            {"service":"exchange","capabilityStatus":"Deleted","servicePlanId":"b"},
            {"service":"exchange","capabilityStatus":"Enabled","servicePlanId":"113FEB6C-3FE4-4440-BDDC-54D774BF0318"},
            {"service":"Exchange","capabilityStatus":"suspended","servicePlanId":"c"},
            {"service":"exchange","capabilityStatus":"Enabled","servicePlanId":"d"}
        ]"#;
        assert_eq!(first(plans), Some(Some("c".into())));
        assert_eq!(
            first(r#"[{"service":"exchange","capabilityStatus":"Warning"}]"#),
            Some(None)
        );
        assert_eq!(first("[]"), None);
    }

    #[test]
    fn a_malformed_plan_after_the_mailbox_one_is_still_an_error() {
        let plans = r#"[{"service":"exchange","capabilityStatus":"Enabled"},{"service":5}]"#;
        assert!(serde_json::from_str::<MailboxPlan>(plans).is_err());
        assert!(serde_json::from_str::<MailboxPlan>(r#"{"service":"exchange"}"#).is_err());
    }
}

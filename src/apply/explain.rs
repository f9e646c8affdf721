//! What Graph's refusals of a conversion mean. Microsoft publishes no table of the errors an
//! internal account's invitation can get; these are the ones its documentation and reported
//! cases show, matched on what is stable (status, code, a distinctive phrase) while Graph's
//! own message is always kept next to the explanation.

/// A refusal recognised: what it means, what to do, and where it is documented or reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    pub kind: &'static str,
    pub meaning: &'static str,
    pub source: &'static str,
}

impl Explanation {
    pub fn text(&self) -> String {
        format!("{} ({})", self.meaning, self.source)
    }
}

const KNOWN: &[(Match, Explanation)] = &[
    (
        // https://learn.microsoft.com/entra/external-id/invite-internal-users (the mail must be
        // the external address, outside the tenant's verified domains); the message is the one
        // reported in MicrosoftDocs/azure-docs#76227.
        Match::Phrase("verified domain"),
        Explanation {
            kind: "mail-in-verified-domain",
            meaning: "the account's mail is in one of the tenant's verified domains: set mail to the person's external address",
            source: "learn.microsoft.com/entra/external-id/invite-internal-users; MicrosoftDocs/azure-docs#76227",
        },
    ),
    (
        // Reported in MicrosoftDocs/entra-docs#802; the B2B troubleshooting page names contacts
        // holding the address through proxyAddresses as a cause.
        Match::Phrase("non-external user already exists"),
        Explanation {
            kind: "address-held-by-another-object",
            meaning: "another user, contact or deleted user holds this address (mail or proxyAddresses): remove it there, or purge the deleted user",
            source: "learn.microsoft.com/entra/external-id/troubleshoot; MicrosoftDocs/entra-docs#802",
        },
    ),
    (
        // https://learn.microsoft.com/entra/identity/users/convert-external-users-internal
        // (errors table: 412 for an account converted from external to internal earlier).
        Match::Status(412),
        Explanation {
            kind: "converted-from-external",
            meaning: "the account was converted from external to internal earlier and cannot be made external again",
            source: "learn.microsoft.com/entra/identity/users/convert-external-users-internal",
        },
    ),
    (
        // https://learn.microsoft.com/entra/external-id/invite-internal-users (conversions of
        // objects with onPremisesUserPrincipalName are blocked); the message is the one
        // reported in MicrosoftDocs/azure-docs#107086.
        Match::Phrase("invalid request input"),
        Explanation {
            kind: "synced-account",
            meaning: "Graph refuses the conversion of accounts that hold onPremisesUserPrincipalName (written by Entra Connect): change the sync rule so it is not written",
            source: "learn.microsoft.com/entra/external-id/invite-internal-users; MicrosoftDocs/azure-docs#107086",
        },
    ),
    (
        // https://learn.microsoft.com/entra/external-id/troubleshoot ("This invitation is
        // blocked by cross-tenant access settings").
        Match::Phrase("cross-tenant access"),
        Explanation {
            kind: "cross-tenant-access-blocked",
            meaning: "cross-tenant access settings block B2B collaboration with the person's home tenant: both organizations must allow it",
            source: "learn.microsoft.com/entra/external-id/troubleshoot",
        },
    ),
    (
        // https://learn.microsoft.com/entra/external-id/allow-deny-list (both the allow/block
        // list and cross-tenant access settings are checked at the time of invitation).
        Match::Phrase("collaboration restrictions"),
        Explanation {
            kind: "collaboration-restrictions",
            meaning: "the tenant's collaboration restrictions (allow or block list of domains) exclude the person's domain",
            source: "learn.microsoft.com/entra/external-id/allow-deny-list",
        },
    ),
    (
        // https://learn.microsoft.com/graph/api/invitation-post (app-only calls do not work
        // when B2B invitations are disabled; guest invite settings on the same page).
        Match::Phrase("guest invitations not allowed"),
        Explanation {
            kind: "invitations-disabled",
            meaning: "the tenant's external collaboration settings do not allow this identity to invite guests",
            source: "learn.microsoft.com/graph/api/invitation-post; learn.microsoft.com/entra/external-id/external-collaboration-settings-configure",
        },
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Status(u16),
    /// Found in the message, without regard to case.
    Phrase(&'static str),
}

/// The explanation of a refusal, if it is one of the known ones.
pub fn explain(status: u16, message: &str) -> Option<Explanation> {
    let lower = message.to_lowercase();
    KNOWN
        .iter()
        .find(|(m, _)| match m {
            Match::Status(s) => *s == status,
            Match::Phrase(p) => lower.contains(p),
        })
        .map(|(_, e)| *e)
}

/// A 403 that means the identity lacks a permission, rather than a policy refusing this one
/// account: the run cannot go on.
pub fn lacks_permission(status: u16, code: &str, message: &str) -> bool {
    status == 403
        && code == "Authorization_RequestDenied"
        && message.to_lowercase().contains("insufficient privileges")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reported_refusals_are_recognised() {
        let cases = [
            (
                400,
                "User's email address cannot be in a verified domain. Please change the user's email to enable conversion to a B2B user.",
                "mail-in-verified-domain",
            ),
            (
                400,
                "Non-external user already exists with the given mail address and can't be invited.",
                "address-held-by-another-object",
            ),
            (
                412,
                "UserState is neither accepted nor pending",
                "converted-from-external",
            ),
            (
                400,
                "User invitation failed. Invalid request input.",
                "synced-account",
            ),
            (
                403,
                "This invitation is blocked by cross-tenant access settings. Admins in both your organization and the invited user's organization must configure...",
                "cross-tenant-access-blocked",
            ),
        ];
        for (status, message, kind) in cases {
            assert_eq!(explain(status, message).map(|e| e.kind), Some(kind));
        }
        assert_eq!(explain(400, "Something else entirely."), None);
    }

    #[test]
    fn only_insufficient_privileges_stop_the_run() {
        assert!(lacks_permission(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation."
        ));
        assert!(!lacks_permission(
            403,
            "Authorization_RequestDenied",
            "Guest invitations not allowed for your company."
        ));
    }
}

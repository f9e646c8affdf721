//! The checks Graph makes before it converts an internal account to a B2B user, in the order
//! it makes them, each refusal with the status, code and message Graph answers.

use serde_json::Value;

use super::accept::{is_accepted, is_pending};
use super::policy::InvitePolicy;
use super::respond::{Refusal, not_found_message};
use super::users::Store;

/// Graph's 400 BadRequest with `message`.
pub(super) fn bad(message: &str) -> Refusal {
    Refusal::new(400, "BadRequest", message)
}

/// The checks for converting the account `id` to a B2B user invited at `address`, in
/// Graph's order: the account's line, and whether this is a resend of a pending invitation.
pub(super) fn check(
    store: &Store,
    policy: &InvitePolicy,
    id: &str,
    address: &str,
    domain: &str,
) -> Result<(u32, bool), Refusal> {
    let line = store
        .live(id)
        .ok_or_else(|| Refusal::new(404, "Request_ResourceNotFound", &not_found_message(id)))?;
    policy.invites_allowed()?;
    let user = store.object(line);
    if store.was_converted(line, &user) {
        return Err(Refusal::new(
            412,
            "PreconditionFailed",
            "UserState is neither accepted nor pending",
        ));
    }
    let state = user.get("externalUserState").and_then(Value::as_str);
    if is_pending(state) {
        return Ok((line, true));
    }
    if is_accepted(state) {
        return Err(bad(
            "The user has already redeemed the invitation. Reset the redemption status to invite the user again.",
        ));
    }
    let text = |name: &str| user.get(name).and_then(Value::as_str).map(str::trim);
    if text("onPremisesUserPrincipalName").is_some_and(|u| !u.is_empty()) {
        return Err(bad("User invitation failed. Invalid request input."));
    }
    if !text("mail").is_some_and(|m| m.eq_ignore_ascii_case(address.trim())) {
        return Err(bad(
            "The user's mail property must be set to the external email address being invited before the user can be converted to a B2B user.",
        ));
    }
    if policy.verified.contains(domain) {
        return Err(bad(
            "User's email address cannot be in a verified domain. Please change the user's email to enable conversion to a B2B user.",
        ));
    }
    if !store
        .other_holders(&address.trim().to_ascii_lowercase(), line)
        .is_empty()
    {
        return Err(bad(
            "Non-external user already exists with the given mail address and can't be invited.",
        ));
    }
    policy.collaboration(domain)?;
    policy.cross_tenant(domain)?;
    Ok((line, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::users::Users;
    use serde_json::json;
    use std::collections::HashSet;
    use std::time::Instant;

    fn set(users: &Users, id: &str, changes: Value) {
        let mut store = users.write();
        let line = store.find(id).expect("user");
        let changes = changes.as_object().cloned().unwrap_or_default();
        store.edit(line, &changes, Instant::now());
    }

    /// A convertible-looking account that fails several checks, an account holding an
    /// address, and a tenant with a verified domain, a deny list and a blocked partner.
    fn tenant() -> (Users, InvitePolicy) {
        let lines = [
            json!({"id": "u1", "mail": "u1@contoso.com", "userPrincipalName": "u1@contoso.com",
                "onPremisesUserPrincipalName": "u1@corp.contoso.com"}),
            json!({"id": "o1", "mail": "taken@fabrikam.com"}),
        ];
        let lines = lines.iter().map(|l| l.to_string().into()).collect();
        let users = Users::load(lines, vec![], HashSet::from(["u1".to_owned()]));
        let mut policy = InvitePolicy {
            verified: HashSet::from(["contoso.com".to_owned()]),
            tenants: [("partner.example".to_owned(), "t2".to_owned())].into(),
            partners: [("t2".to_owned(), Some(true))].into(),
            ..Default::default()
        };
        policy.domains.blocked.push("blocked.example".into());
        (users, policy)
    }

    /// The status of a check (201 for a resend, 200 for a conversion) and its message.
    fn outcome(users: &Users, policy: &InvitePolicy, id: &str, address: &str) -> (u16, String) {
        let domain = address
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase());
        match check(
            &users.read(),
            policy,
            id,
            address,
            &domain.unwrap_or_default(),
        ) {
            Ok((_, resend)) => (if resend { 201 } else { 200 }, String::new()),
            Err(r) => (r.status, r.message),
        }
    }

    /// The changes to the account, the address invited, and what the check answers. Each
    /// step mends what the step before was refused for, and meets the next check.
    const STEPS: [(&str, &str, u16, &str); 10] = [
        (
            "{}",
            "taken@fabrikam.com",
            412,
            "neither accepted nor pending",
        ),
        (
            r#"{"externalUserConvertedOn": null, "externalUserState": "Accepted"}"#,
            "taken@fabrikam.com",
            400,
            "already redeemed",
        ),
        (
            r#"{"externalUserState": "PendingAcceptance"}"#,
            "taken@fabrikam.com",
            201,
            "",
        ),
        (
            r#"{"externalUserState": null}"#,
            "taken@fabrikam.com",
            400,
            "Invalid request input",
        ),
        (
            r#"{"onPremisesUserPrincipalName": null}"#,
            "taken@fabrikam.com",
            400,
            "mail property",
        ),
        ("{}", "U1@Contoso.com", 400, "verified domain"),
        (
            r#"{"mail": "taken@fabrikam.com"}"#,
            "taken@fabrikam.com",
            400,
            "Non-external user",
        ),
        (
            r#"{"mail": "u1@blocked.example"}"#,
            "u1@blocked.example",
            400,
            "collaboration restrictions",
        ),
        (
            r#"{"mail": "u1@partner.example"}"#,
            "u1@partner.example",
            403,
            "cross-tenant access",
        ),
        (
            r#"{"mail": "u1@elsewhere.example"}"#,
            "U1@elsewhere.example",
            200,
            "",
        ),
    ];

    #[test]
    fn conversions_are_refused_in_graphs_order() {
        let (users, mut policy) = tenant();
        assert_eq!(outcome(&users, &policy, "nobody", "x@fabrikam.com").0, 404);
        policy.invites_off = true;
        let (status, message) = outcome(&users, &policy, "U1", "taken@fabrikam.com");
        assert_eq!(status, 403, "{message}");
        policy.invites_off = false;
        for (changes, address, status, says) in STEPS {
            let changes: Value = serde_json::from_str(changes).unwrap_or_default();
            set(&users, "u1", changes);
            let (got, message) = outcome(&users, &policy, "U1", address);
            assert_eq!(
                (got, message.contains(says)),
                (status, true),
                "{address}: {message}"
            );
        }
    }
}

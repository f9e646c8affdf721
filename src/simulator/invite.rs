//! `POST /v1.0/invitations`: a new guest, or the conversion of an existing internal account
//! to B2B when the body names only its `invitedUser.id`, refused for the reasons Graph
//! gives (checked in a fixed order), and counted per account for tests to read back.

use std::collections::BTreeMap;
use std::sync::{MutexGuard, PoisonError};
use std::time::Instant;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::accept::rfc3339;
use super::conversion::{bad, check};
use super::faults::Fault;
use super::http::Request;
use super::keys::Keys;
use super::policy::InvitePolicy;
use super::respond::{Refusal, denied, respond};
use super::routes::{inject, pass};
use super::users::Store;
use super::{Simulator, ids};

/// The invitation POSTs seen: per account (ids lower-cased), and in all.
#[derive(Default)]
pub(super) struct Ledger {
    /// POSTs naming an `invitedUser.id`, whatever the answer.
    posted: BTreeMap<String, u64>,
    /// Invitations that took effect, per account converted or guest created.
    recorded: BTreeMap<String, u64>,
    new_guests: Vec<String>,
    /// Every invitation POST whose token was accepted.
    total: u64,
    /// Invitations checked (for --new-guest-every).
    checked: u64,
    /// Invitations that took effect (for the faults after one).
    effective: u64,
}

impl Ledger {
    fn count_post(&mut self, named: Option<String>) {
        self.total += 1;
        if let Some(id) = named {
            *self.posted.entry(id).or_default() += 1;
        }
    }

    fn record(&mut self, user: &str, new_guest: bool) {
        *self.recorded.entry(user.to_ascii_lowercase()).or_default() += 1;
        self.effective += 1;
        if new_guest {
            self.new_guests.push(user.to_owned());
        }
    }

    pub(super) fn to_json(&self) -> Value {
        json!({"posted": self.posted, "recorded": self.recorded,
            "newGuests": self.new_guests, "total": self.total})
    }
}

pub(super) fn ledger(sim: &Simulator) -> MutexGuard<'_, Ledger> {
    sim.invitations
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

struct Invitation {
    address: String,
    /// The address's domain, lower-case.
    domain: String,
    /// The account to convert; `None` creates a new guest.
    account: Option<String>,
    body: Map<String, Value>,
}

/// An invitation POST whose token was accepted as the `n`th request.
pub(super) fn serve(sim: &Simulator, request: Request, n: u64) {
    let body: Option<Map<String, Value>> = serde_json::from_slice(request.body()).ok();
    let named = body
        .as_ref()
        .and_then(|b| b.get("invitedUser")?.get("id")?.as_str())
        .map(str::to_ascii_lowercase);
    ledger(sim).count_post(named);
    // Latency and the run's faults come before anything is recorded.
    let Some(request) = pass(sim, request, n) else {
        return;
    };
    if sim.faults.deny.iter().any(|d| d == "invitations") {
        return respond(request, 403, &denied(), &[]);
    }
    let done = parse(body).and_then(|i| invite(sim, &i).map(|done| (i, done)));
    match done {
        Err(refusal) => refusal.send(request),
        Ok((_, (_, Some(fault)))) => inject(sim, request, fault),
        Ok((invitation, (user, None))) => {
            let body = answer(&sim.tenant.id, &invitation, &user);
            respond(request, 201, &body, &[])
        }
    }
}

fn parse(body: Option<Map<String, Value>>) -> Result<Invitation, Refusal> {
    let body = body.ok_or_else(|| bad("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."))?;
    let text = |name: &str| {
        let found = body.get(name).and_then(Value::as_str).map(str::trim);
        found
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                bad(&format!(
                    "Required property '{name}' is missing from the request body."
                ))
            })
    };
    let address = text("invitedUserEmailAddress")?;
    text("inviteRedirectUrl")?;
    let domain = match address.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
            domain.to_ascii_lowercase()
        }
        _ => return Err(bad(&format!("The email address '{address}' is not valid."))),
    };
    let account = match body.get("invitedUser") {
        None | Some(Value::Null) => None,
        // Only an object with nothing but its id names an account; Graph creates a new guest
        // for a whole user object. Annotations such as @odata.type are not properties.
        Some(Value::Object(user)) if user.keys().all(|k| k == "id" || k.starts_with('@')) => {
            user.get("id").and_then(Value::as_str).map(str::to_owned)
        }
        Some(Value::Object(_)) => None,
        Some(_) => return Err(bad("The property 'invitedUser' must be a user object.")),
    };
    Ok(Invitation {
        address,
        domain,
        account,
        body,
    })
}

/// Checks and carries out an invitation: the account converted or the guest created, and
/// the fault the run draws for it once recorded.
fn invite(sim: &Simulator, invitation: &Invitation) -> Result<(String, Option<Fault>), Refusal> {
    let now = Instant::now();
    // Store first, then ledger: every path that takes both takes them in this order.
    let mut store = sim.tenant.users.write();
    let mut ledger = ledger(sim);
    ledger.checked += 1;
    let forced = sim.faults.new_guest_now(ledger.checked);
    let policy = &sim.tenant.policy;
    let (user, new_guest) = match &invitation.account {
        Some(id) if !forced => {
            let (line, resend) =
                check(&store, policy, id, &invitation.address, &invitation.domain)?;
            if !resend {
                let changes = json!({"externalUserState": "PendingAcceptance",
                    "externalUserStateChangeDateTime": rfc3339(Timestamp::now())});
                if let Value::Object(changes) = changes {
                    store.edit(line, &changes, now);
                }
            }
            (
                Keys::of(store.line(line)).id.unwrap_or_else(|| id.clone()),
                false,
            )
        }
        _ => (new_guest(&mut store, policy, invitation, now)?, true),
    };
    ledger.record(&user, new_guest);
    Ok((user, sim.faults.after_invite(ledger.effective)))
}

/// A new guest object for the invited address, as Graph creates one; its id.
fn new_guest(
    store: &mut Store,
    policy: &InvitePolicy,
    invitation: &Invitation,
    now: Instant,
) -> Result<String, Refusal> {
    policy.invites_allowed()?;
    policy.collaboration(&invitation.domain)?;
    policy.cross_tenant(&invitation.domain)?;
    let address = &invitation.address;
    let name = invitation
        .body
        .get("invitedUserDisplayName")
        .and_then(Value::as_str);
    let local = address
        .rsplit_once('@')
        .map_or(address.as_str(), |(l, _)| l);
    let user_type = invitation
        .body
        .get("invitedUserType")
        .and_then(Value::as_str);
    let guest = json!({"id": ids::guid(), "displayName": name.unwrap_or(local), "mail": address,
        "otherMails": [], "proxyAddresses": [format!("SMTP:{address}")],
        "userPrincipalName": format!("{}#EXT#@{}", address.replace('@', "_"), policy.initial_domain),
        "userType": user_type.unwrap_or("Guest"), "accountEnabled": true, "creationType": "Invitation",
        "externalUserState": "PendingAcceptance",
        "externalUserStateChangeDateTime": rfc3339(Timestamp::now())});
    let Value::Object(guest) = guest else {
        return Err(Refusal::new(500, "generalException", "No guest object."));
    };
    store
        .insert(guest, now)
        .map_err(|m| Refusal::new(500, "generalException", &m))
}

/// The invitation Graph returns: a new id and redeem URL each time, the request echoed.
fn answer(tenant: &str, invitation: &Invitation, user: &str) -> Value {
    let id = ids::guid();
    let redeem = format!(
        "https://invitations.microsoft.com/redeem/?tenant={tenant}&user={id}&ticket={}&ver=2.0",
        ids::ticket()
    );
    let sent = |name: &str, default: Value| invitation.body.get(name).cloned().unwrap_or(default);
    let mut info = json!({"messageLanguage": null, "customizedMessageBody": null,
        "ccRecipients": [{"emailAddress": {"name": null, "address": null}}]});
    if let (Some(given), Some(info)) = (
        invitation
            .body
            .get("invitedUserMessageInfo")
            .and_then(Value::as_object),
        info.as_object_mut(),
    ) {
        info.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#invitations/$entity",
        "id": id,
        "inviteRedeemUrl": format!("https://login.microsoftonline.com/redeem?rd={}", ids::escape(&redeem)),
        "invitedUserDisplayName": sent("invitedUserDisplayName", Value::Null),
        "invitedUserType": sent("invitedUserType", json!("Guest")),
        "invitedUserEmailAddress": invitation.address,
        "sendInvitationMessage": sent("sendInvitationMessage", json!(false)),
        "resetRedemption": sent("resetRedemption", json!(false)),
        "inviteRedirectUrl": sent("inviteRedirectUrl", Value::Null),
        "status": "PendingAcceptance",
        "invitedUserMessageInfo": info,
        "invitedUser": {"id": user},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_id_names_an_account_to_convert() {
        let body = |user: Value| {
            let b = json!({"invitedUserEmailAddress": "a@b.example", "inviteRedirectUrl": "https://x",
                "invitedUser": user});
            parse(b.as_object().cloned()).map(|i| i.account)
        };
        assert_eq!(
            body(json!({"id": "u1", "@odata.type": "#microsoft.graph.user"})),
            Ok(Some("u1".into()))
        );
        assert_eq!(body(json!({"id": "u1", "displayName": "U"})), Ok(None));
        assert_eq!(body(Value::Null), Ok(None));
        let missing = parse(
            json!({"invitedUserEmailAddress": "a@b.example"})
                .as_object()
                .cloned(),
        );
        assert!(missing.is_err_and(|r| r.message.contains("'inviteRedirectUrl'")));
    }
}

//! One planned account, start to end: read it live, resolve an earlier run's unknown outcome,
//! judge it again, journal the intent, send the invitation once, read back when the answer is
//! lost; then the post-steps (post.rs).

use serde_json::Value;

use super::journal::{Event, Record, Standing};
use super::{AccountResult, ApplyError, Context, Outcome, explain, live};
use crate::graph::{Answer, GraphError};
use crate::model::Verdict;
use crate::plan::PlannedAccount;

pub(super) fn process(
    ctx: &Context,
    index: usize,
    account: &PlannedAccount,
    standing: &Standing,
) -> Result<AccountResult, ApplyError> {
    let (outcome, attempt) = if standing.sent() {
        (Outcome::AlreadySent, standing.attempts)
    } else {
        act(ctx, account, standing)?
    };
    let step_failures = match outcome {
        Outcome::Sent { .. } | Outcome::AlreadySent => {
            super::post::post_steps(ctx, index, account, standing, attempt.max(1))?
        }
        _ => Vec::new(),
    };
    Ok(AccountResult {
        index,
        outcome,
        step_failures,
    })
}

/// Everything up to the invitation's outcome, and the attempt it came with.
fn act(
    ctx: &Context,
    account: &PlannedAccount,
    standing: &Standing,
) -> Result<(Outcome, u32), ApplyError> {
    let at = standing.attempts;
    if let Some(guest) = &standing.new_guest {
        let reason = format!(
            "an earlier invitation created the new guest object {guest} instead of converting this account; it is not sent again: look at both objects first"
        );
        return Ok((not_journaled(reason), at));
    }
    let live = match read(ctx, account)? {
        Ok(Some(live)) => live,
        Ok(None) => {
            let reason = "the account no longer exists (deleted since the snapshot)".to_owned();
            return Ok((skip(ctx, account, standing, reason, vec![])?, at));
        }
        Err(reason) => return Ok((failed(ctx, account, standing, reason)?, at)),
    };
    if standing.unresolved() {
        // An earlier attempt of ours may have reached Graph: an invitation in place is ours.
        if account.resend {
            let reason = "a resent invitation's outcome is unknown and cannot be read back (the account was pending before); it is not sent again: check whether the person received it".to_owned();
            return Ok((failed(ctx, account, standing, reason)?, at));
        }
        if live::invited(&live) {
            record_sent(ctx, account, at, None, true)?;
            return Ok((Outcome::Sent { read_back: true }, at));
        }
    }
    if let Some((reason, blockers)) = recheck(ctx, account, &live)? {
        return Ok((skip(ctx, account, standing, reason, blockers)?, at));
    }
    if ctx.options.dry_run {
        return Ok((Outcome::WouldSend, at));
    }
    invite(ctx, account, at)
}

/// Why a live account is no longer the one to invite: changed, or judged otherwise by the
/// plan's rules (with the blockers).
fn recheck(
    ctx: &Context,
    account: &PlannedAccount,
    live: &Value,
) -> Result<Option<(String, Vec<String>)>, ApplyError> {
    if let Some(change) = live::changed(account, live) {
        return Ok(Some((change, Vec::new())));
    }
    let checked = ctx.checker.check(std::slice::from_ref(live))?;
    let expected = if account.resend {
        Verdict::Pending
    } else {
        Verdict::Ready
    };
    Ok(checked
        .into_iter()
        .next()
        .filter(|c| c.verdict != expected || !c.blockers.is_empty())
        .map(|c| {
            let reason = match (&c.excluded, c.blockers.is_empty()) {
                (Some(why), _) => format!("excluded now: {why}"),
                (None, false) => format!("blocked now: {}", c.blockers.join(", ")),
                (None, true) => format!("{} now", c.verdict.as_str()),
            };
            (reason, c.blockers)
        }))
}

fn not_journaled(reason: String) -> Outcome {
    Outcome::Failed {
        reason,
        status: None,
        code: None,
    }
}

/// The live account, `Ok(None)` when it is gone; an inner `Err` is a reason to fail this
/// account only, an outer one stops the run (a missing permission).
fn read(
    ctx: &Context,
    account: &PlannedAccount,
) -> Result<Result<Option<Value>, String>, ApplyError> {
    match live::read_user(ctx.client, &account.id) {
        Ok(v) => Ok(Ok(v)),
        Err(GraphError::Status {
            status: 403,
            message,
            ..
        }) => Err(ApplyError::Permission {
            what: "reading an account",
            permission: "User.Read.All",
            message,
        }),
        Err(e) => Ok(Err(format!("could not read the account: {e}"))),
    }
}

pub(super) fn append(ctx: &Context, record: Record) -> Result<(), ApplyError> {
    if let Some(journal) = &ctx.journal {
        let mut j = journal
            .lock()
            .map_err(|_| ApplyError::Refused("the journal's lock was poisoned".into()))?;
        j.append(&record)?;
    }
    Ok(())
}

pub(super) fn record(
    ctx: &Context,
    event: Event,
    account: &PlannedAccount,
    attempt: u32,
) -> Record {
    Record::new(event, &account.id, &ctx.digest, attempt)
}

fn skip(
    ctx: &Context,
    account: &PlannedAccount,
    standing: &Standing,
    reason: String,
    blockers: Vec<String>,
) -> Result<Outcome, ApplyError> {
    if !ctx.options.dry_run {
        let mut r = record(ctx, Event::Skipped, account, standing.attempts);
        r.reason = Some(reason.clone());
        r.blockers = blockers.clone();
        append(ctx, r)?;
    }
    Ok(Outcome::Skipped { reason, blockers })
}

/// Journals a failure of attempt `attempt` and returns it.
fn fail_at(
    ctx: &Context,
    account: &PlannedAccount,
    attempt: u32,
    reason: String,
) -> Result<Outcome, ApplyError> {
    let mut r = record(ctx, Event::Failed, account, attempt);
    r.reason = Some(reason.clone());
    append(ctx, r)?;
    Ok(Outcome::Failed {
        reason,
        status: None,
        code: None,
    })
}

fn failed(
    ctx: &Context,
    account: &PlannedAccount,
    standing: &Standing,
    reason: String,
) -> Result<Outcome, ApplyError> {
    // An unresolved intent stays unresolved: the next run reads the account back.
    if !ctx.options.dry_run && !standing.unresolved() {
        return fail_at(ctx, account, standing.attempts, reason);
    }
    Ok(not_journaled(reason))
}

fn record_sent(
    ctx: &Context,
    account: &PlannedAccount,
    attempt: u32,
    answer: Option<(u16, bool)>,
    read_back: bool,
) -> Result<(), ApplyError> {
    let mut r = record(ctx, Event::Sent, account, attempt);
    r.status = answer.map(|a| a.0);
    r.invite_redeem_url_present = answer.map(|a| a.1);
    r.read_back = read_back;
    append(ctx, r)
}

/// Sends the invitation, reading the account back whenever the answer is lost; the outcome
/// and the attempt it came with.
fn invite(
    ctx: &Context,
    account: &PlannedAccount,
    before: u32,
) -> Result<(Outcome, u32), ApplyError> {
    let url = format!("{}/v1.0/invitations", ctx.client.endpoints.graph);
    let body = serde_json::to_value(&account.request).unwrap_or_default();
    let mut attempt = before;
    let mut tried = 0;
    loop {
        tried += 1;
        attempt += 1;
        append(ctx, record(ctx, Event::Intent, account, attempt))?;
        let lost = match ctx.client.post_once(&url, &body) {
            // The connection was never made: nothing reached Graph.
            Err(e @ GraphError::GaveUp { .. }) => {
                let reason = format!("could not reach Graph: {e}");
                return Ok((fail_at(ctx, account, attempt, reason)?, attempt));
            }
            Err(e) => return Err(e.into()),
            Ok(Answer::Status { status, body })
                if (200..300).contains(&status) && invited_id(&body).is_none() =>
            {
                format!("HTTP {status} without the invited user's id")
            }
            Ok(Answer::Status { status, body }) if status < 500 => {
                return Ok((answered(ctx, account, attempt, status, &body)?, attempt));
            }
            Ok(Answer::Status { status, .. }) => format!("HTTP {status}"),
            Ok(Answer::Unknown(why)) => why,
        };
        let last = tried >= ctx.options.max_unknown;
        if let Some(outcome) = read_back(ctx, account, attempt, &lost, last)? {
            return Ok((outcome, attempt));
        }
    }
}

/// After an answer was lost: the account read back decides. `None` when it is still internal
/// and the invitation may be sent again.
fn read_back(
    ctx: &Context,
    account: &PlannedAccount,
    attempt: u32,
    lost: &str,
    last: bool,
) -> Result<Option<Outcome>, ApplyError> {
    if account.resend {
        let reason = format!(
            "no answer to the resent invitation ({lost}); it is not sent again, since a pending account cannot show whether it arrived"
        );
        return fail_at(ctx, account, attempt, reason).map(Some);
    }
    std::thread::sleep(ctx.options.read_back_delay);
    match read(ctx, account)? {
        Ok(Some(v)) if live::invited(&v) => {
            record_sent(ctx, account, attempt, None, true)?;
            Ok(Some(Outcome::Sent { read_back: true }))
        }
        Ok(Some(_)) if !last => Ok(None),
        Ok(Some(_)) => {
            let reason = format!(
                "no answer from Graph after {attempt} attempts ({lost}); the account is still internal"
            );
            fail_at(ctx, account, attempt, reason).map(Some)
        }
        Ok(None) => {
            let reason = "the account was deleted while it was being invited".to_owned();
            skip(ctx, account, &Standing::default(), reason, vec![]).map(Some)
        }
        // Left unresolved in the journal: `--resume` reads it back.
        Err(reason) => {
            let standing = Standing {
                last: Some(Event::Intent),
                attempts: attempt,
                ..Standing::default()
            };
            let reason = format!(
                "the invitation's outcome is unknown ({lost}) and {reason}; apply --resume reads it back"
            );
            failed(ctx, account, &standing, reason).map(Some)
        }
    }
}

/// The `invitedUser.id` of an invitation's answer.
fn invited_id(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v["invitedUser"]["id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

/// Graph's answer to the invitation.
fn answered(
    ctx: &Context,
    account: &PlannedAccount,
    attempt: u32,
    status: u16,
    body: &str,
) -> Result<Outcome, ApplyError> {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        let invited = invited_id(body).unwrap_or_default();
        if !invited.eq_ignore_ascii_case(&account.id) {
            let mut r = record(ctx, Event::Failed, account, attempt);
            r.status = Some(status);
            r.invited_user_id = Some(invited.clone());
            r.reason = Some(format!(
                "Graph created a new guest object {invited} instead of converting the account"
            ));
            append(ctx, r)?;
            return Ok(Outcome::NewGuest { guest_id: invited });
        }
        let redeem = v["inviteRedeemUrl"].as_str().is_some_and(|u| !u.is_empty());
        record_sent(ctx, account, attempt, Some((status, redeem)), false)?;
        return Ok(Outcome::Sent { read_back: false });
    }
    let (code, message) = crate::graph::client::error_body(body);
    let mut r = record(ctx, Event::Failed, account, attempt);
    r.status = Some(status);
    r.code = Some(code.clone());
    r.message = Some(message.clone());
    let explanation = explain::explain(status, &message);
    r.reason = Some(match explanation {
        Some(e) => e.text(),
        None => format!("Graph refused the invitation: {message}"),
    });
    append(ctx, r.clone())?;
    if explain::lacks_permission(status, &code, &message) {
        return Err(ApplyError::Permission {
            what: "the invitation",
            permission: "User.Invite.All",
            message,
        });
    }
    Ok(Outcome::Failed {
        reason: r.reason.unwrap_or_default(),
        status: Some(status),
        code: Some(code),
    })
}

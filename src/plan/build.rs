//! Building a plan from a finished scan: one invitation request per ready account, in waves,
//! with the post-conversion steps the account needs.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use super::*;
use crate::model::{Cell, Verdict, tenant as tcol, user as col};
use crate::scan::{ScanResult, VerdictRow};
use crate::snapshot::lines::hex;

const DEFAULT_MESSAGE: &str = include_str!("../../reports/invitation-message.txt.j2");

/// The largest message template, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// The longest invitation message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;
/// Template instructions one message may take (the built-in message takes a few dozen).
pub const FUEL_PER_MESSAGE: u64 = 20_000;
/// Template instructions all messages of a plan may take together.
pub const FUEL_PER_PLAN: u64 = 50_000_000;

fn tenant_text(result: &ScanResult, column: usize) -> Option<String> {
    match result.tenant.cell(column, 0) {
        Cell::Text(t) => Some(t.to_owned()),
        _ => None,
    }
}

/// Builds the plan. Refuses `--set-guest-usertype` when the snapshot shows no linked
/// subscription, unless forced.
pub fn build(
    result: &ScanResult,
    manifest_sha256: &str,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    refuse_unbilled_guest_usertype(result, options)?;
    let redirect_url = options
        .redirect_url
        .clone()
        .or_else(|| tenant_text(result, tcol::MYAPPS_URL))
        .unwrap_or_default();
    let tenant_name = tenant_text(result, tcol::TENANT_NAME).unwrap_or_default();
    let teams_url = tenant_text(result, tcol::TEAMS_URL).unwrap_or_default();
    let (template_name, template_text) = options
        .message
        .clone()
        .unwrap_or_else(|| ("built-in message".into(), DEFAULT_MESSAGE.into()));
    let template_error = |message: String| PlanError::Template {
        path: template_name.clone(),
        message,
    };
    if template_text.len() > MAX_TEMPLATE_BYTES {
        return Err(template_error(format!(
            "larger than {} KiB; a message template may have at most that",
            MAX_TEMPLATE_BYTES / 1024
        )));
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL_PER_MESSAGE));
    env.add_template("message", &template_text)
        .map_err(|e| template_error(e.to_string()))?;
    let template = env
        .get_template("message")
        .map_err(|e| template_error(e.to_string()))?;
    let mut fuel_used = 0;

    let text = |c: usize, r: u32| result.user_text(c, r).map(str::to_owned);
    let mut accounts = Vec::new();
    let mut left_out = Vec::new();
    for v in &result.verdicts {
        let id = text(col::ID, v.row).unwrap_or_default();
        let resend =
            options.resend_pending && v.verdict == Verdict::Pending && v.blockers.is_empty();
        if v.verdict != Verdict::Ready && !resend {
            left_out.push(LeftOut {
                user_principal_name: text(col::UPN, v.row),
                verdict: v.verdict.as_str().into(),
                blockers: owned(result.rule_ids(&v.blockers)),
                reason: result.exclusion_reason(v).map(Cow::into_owned),
                id,
            });
            continue;
        }
        let mail = text(col::MAIL, v.row).unwrap_or_default();
        let display_name = text(col::DISPLAY_NAME, v.row);
        let upn = text(col::UPN, v.row);
        let context = minijinja::context! {
            id => &id,
            display_name => display_name.as_deref().unwrap_or(""),
            mail => &mail,
            user_principal_name => upn.as_deref().unwrap_or(""),
            tenant_name => &tenant_name,
            teams_url => &teams_url,
            redirect_url => &redirect_url,
        };
        let message = render_bounded(&template, context, &mut fuel_used)
            .map_err(|m| template_error(format!("the message for {id}: {m}")))?;
        let info = message_info(options, &message);
        let post_steps = post_steps(result, options, v, &id);
        accounts.push(PlannedAccount {
            wave: (accounts.len() / options.wave_size.max(1) as usize) as u32 + 1,
            resend,
            request: InvitationRequest {
                invited_user_email_address: mail.clone(),
                invite_redirect_url: redirect_url.clone(),
                send_invitation_message: options.send_invitation_message,
                invited_user_message_info: info,
                invited_user: InvitedUser { id: id.clone() },
            },
            id,
            user_principal_name: upn,
            display_name,
            mail,
            post_steps,
            warnings: owned(result.rule_ids(&v.warnings)),
            message,
        });
    }
    let mut plan = Plan {
        schema: SCHEMA.into(),
        tool: ToolInfo {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        tenant_id: result.tenant_id().into(),
        snapshot: SnapshotRef {
            manifest_sha256: manifest_sha256.into(),
            exported_at: result.manifest.exported_at.clone(),
            cloud: result.manifest.cloud.clone(),
        },
        options: options_record(result, options, redirect_url),
        accounts,
        left_out,
        plan_digest: None,
    };
    plan.plan_digest = Some(plan.digest());
    Ok(plan)
}

/// Renders one message within [`FUEL_PER_MESSAGE`] and [`MAX_MESSAGE_BYTES`], adding the fuel
/// it took to `fuel_used` and stopping once the plan's messages took [`FUEL_PER_PLAN`]: a
/// template is code, and a loop or a repeated string must not hang the plan or fill memory.
fn render_bounded(
    template: &minijinja::Template<'_, '_>,
    context: minijinja::Value,
    fuel_used: &mut u64,
) -> Result<String, String> {
    let mut out = CappedWriter::default();
    let rendered = template.render_captured_to(context, &mut out);
    if out.overflowed {
        return Err(format!(
            "longer than {} KiB; a message may have at most that",
            MAX_MESSAGE_BYTES / 1024
        ));
    }
    let captured = rendered.map_err(|e| match e.kind() {
        minijinja::ErrorKind::OutOfFuel => format!(
            "takes more than {FUEL_PER_MESSAGE} template steps to render (a loop too long?)"
        ),
        _ => e.to_string(),
    })?;
    let (consumed, _) = captured.state().fuel_levels().unwrap_or_default();
    *fuel_used += consumed;
    if *fuel_used > FUEL_PER_PLAN {
        return Err(format!(
            "the messages take more than {FUEL_PER_PLAN} template steps in all; simplify the template"
        ));
    }
    String::from_utf8(out.bytes).map_err(|_| "the message is not UTF-8 text".into())
}

/// Collects output up to [`MAX_MESSAGE_BYTES`] and fails the write beyond.
#[derive(Default)]
struct CappedWriter {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for CappedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_MESSAGE_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("message too long"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the plan was made with, recorded in it.
fn options_record(
    result: &ScanResult,
    options: &PlanOptions,
    redirect_url: String,
) -> OptionsRecord {
    OptionsRecord {
        scope: result.options.scope.label().into(),
        mau_billing: result.options.mau_billing,
        redirect_url,
        send_invitation_message: options.send_invitation_message,
        message_language: options.message_language.clone(),
        cc: options.cc.clone(),
        message_template_sha256: options
            .message
            .as_ref()
            .map(|(_, t)| hex(&Sha256::digest(t.as_bytes()))),
        wave_size: options.wave_size,
        set_guest_usertype: options.set_guest_usertype,
        rule_set_sha256: Some(result.registry.digest(result.options.mau_billing)),
    }
}

fn owned(ids: Vec<&str>) -> Vec<String> {
    ids.into_iter().map(str::to_owned).collect()
}

/// `--set-guest-usertype` switches accounts to MAU billing: refused when no subscription is
/// linked for it, unless forced.
fn refuse_unbilled_guest_usertype(
    result: &ScanResult,
    options: &PlanOptions,
) -> Result<(), PlanError> {
    let linked = match result.tenant.cell(tcol::LINKED_SUBSCRIPTIONS, 0) {
        Cell::Int(n) => Some(n),
        _ => None,
    };
    if options.set_guest_usertype && !options.force && linked.unwrap_or(0) == 0 {
        let why = match linked {
            Some(_) => "no Azure subscription is linked to the tenant for External ID billing",
            None => {
                "the snapshot cannot show whether a subscription is linked (guestUsages was not collected)"
            }
        };
        return Err(PlanError::Refused(format!(
            "--set-guest-usertype would switch accounts to MAU billing, but {why}; link a subscription (Entra admin center > External Identities > Linked subscriptions), or pass --force"
        )));
    }
    Ok(())
}

/// Language, cc and custom message of the invitation email, when any is set.
fn message_info(options: &PlanOptions, message: &str) -> Option<MessageInfo> {
    let info = MessageInfo {
        message_language: options.message_language.clone(),
        cc_recipients: options
            .cc
            .iter()
            .map(|a| Recipient {
                email_address: EmailAddress { address: a.clone() },
            })
            .collect(),
        customized_message_body: options.message.as_ref().map(|_| message.to_owned()),
    };
    let has_info = info.message_language.is_some()
        || !info.cc_recipients.is_empty()
        || info.customized_message_body.is_some();
    has_info.then_some(info)
}

/// What follows a successful invitation for this account.
fn post_steps(
    result: &ScanResult,
    options: &PlanOptions,
    v: &VerdictRow,
    id: &str,
) -> Vec<PostStep> {
    let mut post_steps = Vec::new();
    if options.set_guest_usertype {
        post_steps.push(PostStep {
            step: "set-user-type-guest".into(),
            description: "switch userType to Guest so External ID MAU billing applies".into(),
            request: Some(GraphRequest {
                method: "PATCH".into(),
                url: format!("/v1.0/users/{id}"),
                body: serde_json::json!({"userType": "Guest"}),
            }),
        });
    }
    if result.users.cell(col::ONPREM_SYNC, v.row as usize) == Cell::Bool(true) {
        post_steps.push(PostStep {
            step: "randomize-on-premises-password".into(),
            description: "in on-premises Active Directory, set this account's password to a random unknown value: the internal credentials keep working on-premises otherwise".into(),
            request: None,
        });
    }
    post_steps
}

//! Building a plan from a finished scan: one invitation request per ready account, in waves,
//! with the post-conversion steps the account needs.

use sha2::{Digest, Sha256};

use super::*;
use crate::model::{Cell, Verdict, tenant as tcol, user as col};
use crate::scan::{ScanResult, VerdictRow};
use crate::snapshot::lines::hex;

const DEFAULT_MESSAGE: &str = include_str!("../../reports/invitation-message.txt.j2");

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
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let template_error = |e: minijinja::Error| PlanError::Template {
        path: template_name.clone(),
        message: e.to_string(),
    };
    env.add_template("message", &template_text)
        .map_err(template_error)?;
    let template = env.get_template("message").map_err(template_error)?;

    let text = |c: usize, r: u32| result.user_text(c, r).map(str::to_owned);
    let mut accounts = Vec::new();
    let mut left_out = Vec::new();
    for v in &result.verdicts {
        let id = text(col::ID, v.row).unwrap_or_default();
        if v.verdict != Verdict::Ready {
            left_out.push(LeftOut {
                user_principal_name: text(col::UPN, v.row),
                verdict: v.verdict.as_str().into(),
                blockers: owned(result.rule_ids(&v.blockers)),
                reason: result.exclusion_reason(v),
                id,
            });
            continue;
        }
        let mail = text(col::MAIL, v.row).unwrap_or_default();
        let display_name = text(col::DISPLAY_NAME, v.row);
        let upn = text(col::UPN, v.row);
        let message = template
            .render(minijinja::context! {
                id => &id,
                display_name => display_name.as_deref().unwrap_or(""),
                mail => &mail,
                user_principal_name => upn.as_deref().unwrap_or(""),
                tenant_name => &tenant_name,
                teams_url => &teams_url,
                redirect_url => &redirect_url,
            })
            .map_err(template_error)?;
        let info = message_info(options, &message);
        let post_steps = post_steps(result, options, v, &id);
        accounts.push(PlannedAccount {
            wave: (accounts.len() / options.wave_size.max(1) as usize) as u32 + 1,
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
        },
        options: options_record(result, options, redirect_url),
        accounts,
        left_out,
        plan_digest: None,
    };
    plan.plan_digest = Some(plan.digest());
    Ok(plan)
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

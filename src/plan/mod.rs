//! The invitation plan: the `ready` accounts of a scan turned into invitation requests, waves
//! and post-conversion steps, with a digest that proves the plan was not edited. Built from a
//! `ScanResult`, so a plan and its report can never disagree.

pub mod files;
pub mod powershell;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Cell, Verdict, tenant as tcol, user as col};
use crate::scan::ScanResult;
use crate::snapshot::lines::hex;

pub const SCHEMA: &str = "b2bready-plan/1";
/// Graph's `$batch` takes at most 20 requests.
pub const BATCH_SIZE: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Refused(String),
    #[error("message template {path}: {message}")]
    Template { path: String, message: String },
}

/// What the administrator chose.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub redirect_url: Option<String>,
    pub send_invitation_message: bool,
    pub message_language: Option<String>,
    pub cc: Option<String>,
    /// The message template's name and text.
    pub message: Option<(String, String)>,
    pub wave_size: u32,
    pub set_guest_usertype: bool,
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub schema: String,
    pub tool: ToolInfo,
    pub tenant_id: String,
    pub snapshot: SnapshotRef,
    pub options: OptionsRecord,
    pub accounts: Vec<PlannedAccount>,
    pub left_out: Vec<LeftOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRef {
    /// sha256 of the snapshot's manifest.json, which itself holds every collection's digest.
    pub manifest_sha256: String,
    pub exported_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionsRecord {
    pub scope: String,
    pub mau_billing: bool,
    pub redirect_url: String,
    pub send_invitation_message: bool,
    pub message_language: Option<String>,
    pub cc: Option<String>,
    pub message_template_sha256: Option<String>,
    pub wave_size: u32,
    pub set_guest_usertype: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedAccount {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub mail: String,
    pub wave: u32,
    /// The body of `POST /v1.0/invitations`, exactly as sent.
    pub request: InvitationRequest,
    pub post_steps: Vec<PostStep>,
    /// Warnings that still apply to the account.
    pub warnings: Vec<String>,
    /// The message for teams that send their own (communication.csv).
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationRequest {
    pub invited_user_email_address: String,
    pub invite_redirect_url: String,
    pub send_invitation_message: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_user_message_info: Option<MessageInfo>,
    /// Only the id: a fuller user object makes Graph create a new guest instead.
    pub invited_user: InvitedUser,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_language: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc_recipients: Vec<Recipient>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_message_body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub email_address: EmailAddress,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailAddress {
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitedUser {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostStep {
    pub step: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<GraphRequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphRequest {
    pub method: String,
    pub url: String,
    pub body: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftOut {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub verdict: String,
    pub blockers: Vec<String>,
    pub reason: Option<String>,
}

const DEFAULT_MESSAGE: &str = include_str!("../../reports/invitation-message.txt.j2");

fn tenant_text(result: &ScanResult, column: usize) -> Option<String> {
    match result.tenant.cell(column, 0) {
        Cell::Text(t) => Some(t.to_owned()),
        _ => None,
    }
}

impl Plan {
    /// The sha256 of the plan without its digest, over a canonical form (keys sorted,
    /// compact), so any edit to plan.json changes it.
    pub fn digest(&self) -> String {
        let mut bare = self.clone();
        bare.plan_digest = None;
        canonical_digest(&serde_json::to_value(&bare).unwrap_or_default())
    }
}

pub fn canonical_digest(value: &serde_json::Value) -> String {
    // serde_json's map is ordered by key, so re-serialising a parsed plan gives the same bytes.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    hex(&Sha256::digest(&bytes))
}

/// Builds the plan. Refuses `--set-guest-usertype` when the snapshot shows no linked
/// subscription, unless forced.
pub fn build(
    result: &ScanResult,
    manifest_sha256: &str,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
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
                id,
                user_principal_name: text(col::UPN, v.row),
                verdict: v.verdict.as_str().into(),
                blockers: crate::report::rule_ids(result, &v.blockers)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                reason: result.exclusion_reason(v),
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
        let info = MessageInfo {
            message_language: options.message_language.clone(),
            cc_recipients: options
                .cc
                .iter()
                .map(|a| Recipient {
                    email_address: EmailAddress { address: a.clone() },
                })
                .collect(),
            customized_message_body: options.message.as_ref().map(|_| message.clone()),
        };
        let has_info = info.message_language.is_some()
            || !info.cc_recipients.is_empty()
            || info.customized_message_body.is_some();
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
        accounts.push(PlannedAccount {
            wave: (accounts.len() / options.wave_size.max(1) as usize) as u32 + 1,
            request: InvitationRequest {
                invited_user_email_address: mail.clone(),
                invite_redirect_url: redirect_url.clone(),
                send_invitation_message: options.send_invitation_message,
                invited_user_message_info: has_info.then_some(info),
                invited_user: InvitedUser { id: id.clone() },
            },
            id,
            user_principal_name: upn,
            display_name,
            mail,
            post_steps,
            warnings: crate::report::rule_ids(result, &v.warnings)
                .into_iter()
                .map(str::to_owned)
                .collect(),
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
        options: OptionsRecord {
            scope: crate::report::scope_label(&result.options.scope).into(),
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
        },
        accounts,
        left_out,
        plan_digest: None,
    };
    plan.plan_digest = Some(plan.digest());
    Ok(plan)
}

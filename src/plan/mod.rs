//! The invitation plan: the `ready` accounts of a scan turned into invitation requests, waves
//! and post-conversion steps. Built from a `ScanResult`, so a plan and its report can never
//! disagree. Its digest detects accidental edits of `plan.json`; it is no signature, since
//! anyone who edits the plan can recompute it.

mod build;
pub mod check;
pub mod files;
pub mod folder;
pub mod powershell;

pub use build::build;
pub use check::{Problem, check, load, manifest_sha256};
pub use folder::{Seal, SigningKey};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::snapshot::lines::hex;

pub const SCHEMA: &str = "b2bready-plan/1";

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Refused(String),
    #[error("message template {path}: {message}")]
    Template { path: String, message: String },
    #[error("cannot read {}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid {
        path: std::path::PathBuf,
        message: String,
    },
    /// An option the invitation API would refuse.
    #[error("{0}")]
    Option(String),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    #[error("the plan is for tenant {plan} but the snapshot is of tenant {snapshot}")]
    OtherTenant { plan: String, snapshot: String },
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
    /// Also plan accounts whose invitation is pending (and that no blocker stops): the
    /// invitation is sent again, with a new redemption link.
    pub resend_pending: bool,
}

impl PlanOptions {
    /// Refuses what the invitation API would refuse, before anything is scanned.
    pub fn check(&self) -> Result<(), PlanError> {
        if let Some(cc) = &self.cc
            && let Some(problem) = crate::scan::email::mail_problem(cc)
                .or_else(|| cc.trim().is_empty().then(|| "is empty".into()))
        {
            return Err(PlanError::Option(format!(
                "--cc {cc:?} is not an address the invitation API takes: {problem}"
            )));
        }
        if let Some(url) = &self.redirect_url {
            let parsed = url::Url::parse(url).ok();
            let web = parsed.as_ref().is_some_and(|u| {
                matches!(u.scheme(), "https" | "http")
                    && u.host_str().is_some_and(|h| !h.is_empty())
            });
            // The URL parser drops line breaks and tabs; the invitation must carry the URL as
            // it was reviewed.
            if !web || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(PlanError::Option(format!(
                    "--redirect-url {url:?} must be an http or https address with a host, without spaces or line breaks"
                )));
            }
        }
        Ok(())
    }
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
    /// The cloud the snapshot was exported from (`global`, `usgov`, `usgovdod`, `china`), so
    /// `invite.ps1` signs in to the same one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<String>,
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
    /// The rule set's digest (`Registry::digest`): `apply` re-checks with the same rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_set_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedAccount {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub mail: String,
    pub wave: u32,
    /// The invitation is out already and not redeemed (`--resend-pending`): this one
    /// replaces it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resend: bool,
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

impl Plan {
    /// The sha256 of the plan without its digest, over a canonical form (keys sorted,
    /// compact), so an accidental edit of plan.json changes it. It proves nothing against
    /// someone who edits the plan on purpose and recomputes it.
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

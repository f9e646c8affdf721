//! A plan folder read back: `plan.json` loaded with its digest checked, and every planned
//! account re-checked against a newer scan (still ready, same mail).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{Plan, PlanError, SCHEMA, Seal, SigningKey, canonical_digest};
use crate::model::{Verdict, user as col};
use crate::scan::ScanResult;
use crate::snapshot::lines::hex;

/// A plan of a million accounts stays well below this.
const PLAN_LIMIT: u64 = 4096 * crate::files::MIB;

/// The sha256 of a snapshot's `manifest.json`, which itself holds every collection's digest.
pub fn manifest_sha256(snapshot: &Path) -> Result<String, PlanError> {
    let path = snapshot.join(crate::snapshot::manifest::MANIFEST);
    let bytes = crate::files::read_bounded(&path, crate::files::MIB)
        .map_err(|source| PlanError::Read { path, source })?;
    Ok(hex(&Sha256::digest(&bytes)))
}

/// Loads a plan folder: every file checked against `plan-files.json` (and its signature with
/// `key`), then `plan.json` against its own digest. The digests catch accidental edits; only a
/// signature stands against a deliberate one.
pub fn load(dir: &Path, key: Option<&SigningKey>) -> Result<(Plan, Seal), PlanError> {
    let seal = super::folder::verify(dir, key)?;
    let path = dir.join("plan.json");
    let text = crate::files::read_text(&path, PLAN_LIMIT).map_err(|source| PlanError::Read {
        path: path.clone(),
        source,
    })?;
    let bad = |message: String| PlanError::Invalid {
        path: path.clone(),
        message,
    };
    let mut value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    if value["schema"] != SCHEMA {
        return Err(bad(format!("not a {SCHEMA} plan")));
    }
    let recorded = value
        .as_object_mut()
        .and_then(|o| o.remove("planDigest"))
        .and_then(|d| d.as_str().map(str::to_owned))
        .ok_or_else(|| bad("has no planDigest".into()))?;
    if canonical_digest(&value) != recorded {
        return Err(bad(
            "was edited after it was made (its planDigest no longer matches); make the plan again"
                .into(),
        ));
    }
    let mut plan: Plan = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    plan.plan_digest = Some(recorded);
    Ok((plan, seal))
}

/// A planned account that is no longer ready, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The account's UPN, else its id.
    pub account: String,
    pub problem: String,
}

/// Re-checks every planned account against a fresh scan of the same tenant: still in the
/// snapshot, in scope, ready, and with the planned mail.
pub fn check(plan: &Plan, result: &ScanResult) -> Result<Vec<Problem>, PlanError> {
    if plan.tenant_id != result.tenant_id() {
        return Err(PlanError::OtherTenant {
            plan: plan.tenant_id.clone(),
            snapshot: result.tenant_id().into(),
        });
    }
    let verdicts: HashMap<&str, _> = result
        .verdicts
        .iter()
        .map(|v| (result.user_text(col::ID, v.row).unwrap_or(""), v))
        .collect();
    let known: HashSet<&str> = result.users.columns[col::ID]
        .text()
        .map(|c| c.iter().flatten().collect())
        .unwrap_or_default();
    let mut problems = Vec::new();
    for a in &plan.accounts {
        let problem = match verdicts.get(a.id.as_str()) {
            None if known.contains(a.id.as_str()) => Some("no longer in scope".to_owned()),
            None => Some("no longer in the snapshot".to_owned()),
            Some(v) if v.verdict == Verdict::Blocked || !v.blockers.is_empty() => Some(format!(
                "blocked: {}",
                result.rule_ids(&v.blockers).join(", ")
            )),
            Some(v) if v.verdict == Verdict::Pending && !a.resend => Some(
                "invited since the plan was made: externalUserState is PendingAcceptance".into(),
            ),
            Some(v) if v.verdict == Verdict::Ready && a.resend => {
                Some("no longer pending: the invitation was withdrawn or reset".into())
            }
            Some(v) if v.verdict == Verdict::Excluded => Some(format!(
                "excluded: {}",
                result.exclusion_reason(v).unwrap_or_default()
            )),
            Some(v) => {
                let mail = result.user_text(col::MAIL, v.row).unwrap_or("");
                (mail != a.mail).then(|| format!("mail changed from {} to {mail}", a.mail))
            }
        };
        if let Some(problem) = problem {
            problems.push(Problem {
                account: a
                    .user_principal_name
                    .clone()
                    .unwrap_or_else(|| a.id.clone()),
                problem,
            });
        }
    }
    Ok(problems)
}

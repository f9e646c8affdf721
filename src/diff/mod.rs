//! `b2bready diff OLD NEW`: what changed, account by account, between two scans of the same
//! tenant. Each side is a snapshot folder (scanned here with the same settings) or a
//! `findings.json` an earlier scan wrote. Accounts whose verdict did not change are left out.

pub mod render;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::report::json::verdicts;
use crate::scan::ScanResult;

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a findings.json b2bready wrote: {message}")]
    NotFindings { path: PathBuf, message: String },
    #[error(
        "the two sides are different tenants ({old} and {new}): diff compares scans of one tenant"
    )]
    OtherTenant { old: String, new: String },
}

/// One account as one side lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub mail: Option<String>,
    pub verdict: String,
    pub reason: Option<String>,
    #[serde(default)]
    pub blockers: Vec<String>,
}

/// A tenant-level finding as one side lists it.
#[derive(Debug, Clone, Serialize)]
pub struct TenantFinding {
    pub severity: String,
    pub message: String,
}

/// One side of the comparison.
#[derive(Debug)]
pub struct Side {
    pub source: PathBuf,
    pub kind: &'static str,
    pub tenant_id: String,
    pub exported_at: Option<String>,
    pub accounts: Vec<Account>,
    pub tenant: BTreeMap<String, TenantFinding>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FindingsFile {
    schema: String,
    tenant: TenantIn,
    snapshot: SnapshotIn,
    findings: Vec<FindingIn>,
    verdicts: Vec<Account>,
}

#[derive(Deserialize)]
struct TenantIn {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotIn {
    exported_at: Option<String>,
}

#[derive(Deserialize)]
struct FindingIn {
    rule: String,
    severity: String,
    subject: SubjectIn,
    message: String,
}

#[derive(Deserialize)]
struct SubjectIn {
    #[serde(rename = "type")]
    kind: String,
}

impl Side {
    /// Reads a `findings.json` (schema `b2bready-findings/1`).
    pub fn from_findings(path: &Path) -> Result<Side, DiffError> {
        let bytes = std::fs::read(path).map_err(|source| DiffError::Read {
            path: path.to_owned(),
            source,
        })?;
        let not_findings = |message: String| DiffError::NotFindings {
            path: path.to_owned(),
            message,
        };
        let file: FindingsFile =
            serde_json::from_slice(&bytes).map_err(|e| not_findings(e.to_string()))?;
        if file.schema != crate::model::FINDINGS_SCHEMA {
            return Err(not_findings(format!("its schema is {}", file.schema)));
        }
        let tenant = file
            .findings
            .into_iter()
            .filter(|f| f.subject.kind == "tenant")
            .map(|f| {
                let finding = TenantFinding {
                    severity: f.severity,
                    message: f.message,
                };
                (f.rule, finding)
            })
            .collect();
        Ok(Side {
            source: path.to_owned(),
            kind: "findings",
            tenant_id: file.tenant.id,
            exported_at: file.snapshot.exported_at,
            accounts: file.verdicts,
            tenant,
        })
    }

    /// Replaces the identifiers of every account (and in tenant-level messages) by their
    /// pseudonyms, the same ones `scan --redact` writes with the same key.
    pub fn redact(&mut self, r: &crate::redact::Redactor) {
        for a in &mut self.accounts {
            a.display_name = a.display_name.as_ref().map(|_| r.name(&a.id));
            a.id = r.id(&a.id);
            a.user_principal_name = a.user_principal_name.as_deref().map(|u| r.address(u));
            a.mail = a.mail.as_deref().map(|m| r.address(m));
            a.reason = a.reason.as_deref().map(|x| r.text(x));
        }
        for f in self.tenant.values_mut() {
            f.message = r.text(&f.message);
        }
    }

    /// Takes the verdicts of a scan that just ran.
    pub fn from_scan(result: &ScanResult) -> Side {
        let accounts = verdicts(result)
            .map(|v| Account {
                id: v.id.to_owned(),
                user_principal_name: v.user_principal_name.map(str::to_owned),
                display_name: v.display_name.map(str::to_owned),
                mail: v.mail.map(str::to_owned),
                verdict: v.verdict.to_owned(),
                reason: v.reason.map(Cow::into_owned),
                blockers: v.blockers.iter().map(str::to_owned).collect(),
            })
            .collect();
        // Only the tenant's findings: worked out for them alone, not for every account's.
        let tenant = result
            .findings
            .iter()
            .filter(|f| f.row.is_none())
            .map(|f| crate::report::json::finding(result, f))
            .map(|f| {
                let finding = TenantFinding {
                    severity: f.severity.to_owned(),
                    message: f.message.into_owned(),
                };
                (f.rule.to_owned(), finding)
            })
            .collect();
        Side {
            source: result.snapshot.clone(),
            kind: "snapshot",
            tenant_id: result.tenant_id().to_owned(),
            exported_at: result.manifest.exported_at.clone(),
            accounts,
            tenant,
        }
    }
}

/// What happened to an account, most pressing first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    BecameBlocked,
    BecamePending,
    BecameReady,
    Converted,
    BecameExcluded,
    Appeared,
    Disappeared,
}

impl Change {
    pub const ALL: [Change; 7] = [
        Change::BecameBlocked,
        Change::BecamePending,
        Change::BecameReady,
        Change::Converted,
        Change::BecameExcluded,
        Change::Appeared,
        Change::Disappeared,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Change::BecameBlocked => "became-blocked",
            Change::BecamePending => "became-pending",
            Change::BecameReady => "became-ready",
            Change::Converted => "converted",
            Change::BecameExcluded => "became-excluded",
            Change::Appeared => "appeared",
            Change::Disappeared => "disappeared",
        }
    }
}

/// One account that changed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountChange {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub mail: Option<String>,
    pub change: Change,
    pub old_verdict: Option<String>,
    pub new_verdict: Option<String>,
    /// Blockers the new side has that the old one did not.
    pub new_blockers: Vec<String>,
    /// Every blocker of the new side.
    pub blockers: Vec<String>,
    /// Why the new side excludes it, when it does.
    pub reason: Option<String>,
}

/// A tenant-level rule that fires on one side only.
#[derive(Debug, Serialize)]
pub struct TenantChange {
    pub rule: String,
    /// `appeared` or `resolved`.
    pub change: &'static str,
    pub severity: String,
    pub message: String,
}

#[derive(Debug)]
pub struct Diff {
    pub old: Side,
    pub new: Side,
    pub accounts: Vec<AccountChange>,
    pub tenant: Vec<TenantChange>,
}

impl Diff {
    pub fn count(&self, change: Change) -> usize {
        self.accounts.iter().filter(|a| a.change == change).count()
    }

    /// Accounts that were ready and are now blocked.
    pub fn ready_now_blocked(&self) -> usize {
        self.accounts
            .iter()
            .filter(|a| {
                a.change == Change::BecameBlocked && a.old_verdict.as_deref() == Some("ready")
            })
            .count()
    }
}

/// An excluded account is converted when it is now a B2B guest or has an invitation out.
fn is_converted(reason: Option<&str>) -> bool {
    reason.is_some_and(|r| r.starts_with("already invited") || r.starts_with("external guest"))
}

fn classify(old: Option<&Account>, new: &Account) -> Option<Change> {
    let Some(old) = old else {
        return Some(Change::Appeared);
    };
    if old.verdict == new.verdict {
        return None;
    }
    Some(match new.verdict.as_str() {
        "blocked" => Change::BecameBlocked,
        "pending" => Change::BecamePending,
        "ready" => Change::BecameReady,
        _ if is_converted(new.reason.as_deref()) => Change::Converted,
        _ => Change::BecameExcluded,
    })
}

fn changed(old: Option<&Account>, new: &Account, change: Change) -> AccountChange {
    let before: &[String] = old.map_or(&[], |o| &o.blockers);
    AccountChange {
        id: new.id.clone(),
        user_principal_name: new.user_principal_name.clone(),
        display_name: new.display_name.clone(),
        mail: new.mail.clone(),
        change,
        old_verdict: old.map(|o| o.verdict.clone()),
        new_verdict: Some(new.verdict.clone()),
        new_blockers: new
            .blockers
            .iter()
            .filter(|b| !before.contains(b))
            .cloned()
            .collect(),
        blockers: new.blockers.clone(),
        reason: new.reason.clone(),
    }
}

/// Compares two sides of one tenant.
pub fn compare(old: Side, new: Side) -> Result<Diff, DiffError> {
    if !old.tenant_id.eq_ignore_ascii_case(&new.tenant_id) {
        return Err(DiffError::OtherTenant {
            old: old.tenant_id,
            new: new.tenant_id,
        });
    }
    let before: HashMap<&str, &Account> = old.accounts.iter().map(|a| (a.id.as_str(), a)).collect();
    let after: HashMap<&str, &Account> = new.accounts.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut accounts: Vec<AccountChange> = new
        .accounts
        .iter()
        .filter_map(|n| {
            let o = before.get(n.id.as_str()).copied();
            classify(o, n).map(|c| changed(o, n, c))
        })
        .collect();
    accounts.extend(
        old.accounts
            .iter()
            .filter(|o| !after.contains_key(o.id.as_str()))
            .map(|o| AccountChange {
                id: o.id.clone(),
                user_principal_name: o.user_principal_name.clone(),
                display_name: o.display_name.clone(),
                mail: o.mail.clone(),
                change: Change::Disappeared,
                old_verdict: Some(o.verdict.clone()),
                new_verdict: None,
                new_blockers: Vec::new(),
                blockers: Vec::new(),
                reason: None,
            }),
    );
    accounts.sort_by(|a, b| {
        fn upn(c: &AccountChange) -> &str {
            c.user_principal_name.as_deref().unwrap_or_default()
        }
        (a.change, upn(a), &a.id).cmp(&(b.change, upn(b), &b.id))
    });
    let mut tenant: Vec<TenantChange> = new
        .tenant
        .iter()
        .filter(|(rule, _)| !old.tenant.contains_key(*rule))
        .map(|(rule, f)| tenant_change(rule, "appeared", f))
        .collect();
    tenant.extend(
        old.tenant
            .iter()
            .filter(|(rule, _)| !new.tenant.contains_key(*rule))
            .map(|(rule, f)| tenant_change(rule, "resolved", f)),
    );
    Ok(Diff {
        old,
        new,
        accounts,
        tenant,
    })
}

fn tenant_change(rule: &str, change: &'static str, f: &TenantFinding) -> TenantChange {
    TenantChange {
        rule: rule.to_owned(),
        change,
        severity: f.severity.clone(),
        message: f.message.clone(),
    }
}

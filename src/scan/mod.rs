//! The offline scan: snapshot → facts → rules → findings and verdicts. It never touches the
//! network, so CI can scan a cached snapshot without credentials.

mod arrange;
pub mod baseline;
pub mod email;
pub mod engine;
pub mod exceptions;
pub mod facts;
mod hits;
pub mod inputs;
mod phases;
pub mod recheck;
pub mod review;
mod unique_ids;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

pub use engine::{Finding, RuleOutcome, VerdictRow};
pub use facts::{Class, Exclusion, Scope};
pub use phases::Phases;

use crate::model::{Severity, Table, Verdict, user as col};
use crate::rules::{EXTERNAL_IDENTITIES, Registry, Rule};
use crate::snapshot::tenant::TenantData;
use crate::snapshot::users::{self, Users};
use crate::snapshot::{Manifest, SnapshotError, Status};

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub scope: Scope,
    pub external_identities: Option<PathBuf>,
    pub mau_billing: bool,
    pub allow_incomplete: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Input(#[from] inputs::InputError),
    #[error("rule evaluation failed")]
    Engine(#[from] polars::prelude::PolarsError),
}

/// Counts for the summary of every output.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub users_total: usize,
    pub in_scope: usize,
    pub ready: usize,
    pub blocked: usize,
    pub pending: usize,
    pub excluded: usize,
    pub out_of_scope: usize,
    pub findings_blocker: usize,
    pub findings_warning: usize,
    pub findings_info: usize,
    pub rules_not_evaluated: usize,
}

/// A snapshot evaluated: every rule's outcome, the findings and the verdicts. Its review (what
/// fails the build) is added by `review::review`, which makes the finished `ScanResult`.
pub struct Scan {
    pub snapshot: PathBuf,
    pub manifest: Manifest,
    pub registry: Registry,
    pub options: ScanOptions,
    pub users: Table,
    pub tenant: Table,
    pub outcomes: Vec<RuleOutcome>,
    pub findings: Vec<Finding>,
    pub verdicts: Vec<VerdictRow>,
    pub summary: Summary,
    /// Things the user should know that did not stop the scan.
    pub warnings: Vec<String>,
    /// Per account, its line in the users file (for locations in SARIF).
    pub lines: Vec<u64>,
}

/// A finished scan: the evaluation and its review (exceptions, baseline, the gate). Built once
/// by `review::review`; renderers, plans and checks read it. The one change after that is
/// `--redact` replacing identifiers (`parts_mut`), which decides nothing.
pub struct ScanResult {
    scan: Scan,
    pub review: review::Review,
}

impl ScanResult {
    /// The evaluation and the review, to replace identifiers in (`redact`).
    pub fn parts_mut(&mut self) -> (&mut Scan, &mut review::Review) {
        (&mut self.scan, &mut self.review)
    }
}

impl std::ops::Deref for ScanResult {
    type Target = Scan;

    fn deref(&self) -> &Scan {
        &self.scan
    }
}

impl Scan {
    pub fn rule(&self, f: &Finding) -> &Rule {
        &self.registry.rules[f.rule as usize]
    }

    pub fn severity(&self, f: &Finding) -> Severity {
        self.outcomes[f.rule as usize].severity
    }

    /// The id of the rule at `index`.
    pub fn rule_id(&self, index: u16) -> &str {
        &self.registry.rules[index as usize].id
    }

    /// The ids of rules given by index.
    pub fn rule_ids(&self, rules: &[u16]) -> Vec<&str> {
        rules.iter().map(|&r| self.rule_id(r)).collect()
    }

    pub fn tenant_id(&self) -> &str {
        match self.tenant.cell(crate::model::tenant::TENANT_ID, 0) {
            crate::model::Cell::Text(t) => t,
            _ => "",
        }
    }

    pub fn tenant_name(&self) -> &str {
        match self.tenant.cell(crate::model::tenant::TENANT_NAME, 0) {
            crate::model::Cell::Text(t) => t,
            _ => "",
        }
    }

    pub fn user_text(&self, column: usize, row: u32) -> Option<&str> {
        self.users.columns[column]
            .text()
            .and_then(|c| c.get(row as usize))
    }

    pub fn message(&self, f: &Finding) -> std::borrow::Cow<'_, str> {
        let rule = self.rule(f);
        match f.row {
            Some(r) => rule.message.render(&self.users, r as usize),
            None => rule.message.render(&self.tenant, 0),
        }
    }

    /// Why an excluded account is left alone.
    pub fn exclusion_reason(&self, v: &VerdictRow) -> Option<Cow<'static, str>> {
        exclusion_text(v.class, self.user_text(col::EXTERNAL_USER_STATE, v.row))
    }

    /// Who a finding is about, for people: the account's UPN (else its id), or "tenant".
    pub fn subject_label(&self, f: &Finding) -> &str {
        match f.row {
            Some(r) => self
                .user_text(col::UPN, r)
                .or(self.user_text(col::ID, r))
                .unwrap_or(""),
            None => "tenant",
        }
    }
}

/// Why an excluded account is left alone, given its externalUserState.
fn exclusion_text(class: Class, external_user_state: Option<&str>) -> Option<Cow<'static, str>> {
    match class {
        Class::Excluded(Exclusion::ExternalUpn) => {
            Some("external guest: #EXT# in userPrincipalName".into())
        }
        Class::Excluded(Exclusion::Invitation) => {
            Some("external guest: creationType is Invitation".into())
        }
        Class::Excluded(Exclusion::AlreadyInvited) => Some(
            format!(
                "already invited: externalUserState is {}",
                external_user_state.unwrap_or_default()
            )
            .into(),
        ),
        _ => None,
    }
}

/// The users collection of a snapshot, or why it cannot be read.
fn users_file(
    dir: &Path,
    manifest: &Manifest,
) -> Result<crate::snapshot::manifest::CollectionFile, SnapshotError> {
    manifest.file(dir, "users").ok_or_else(|| {
        let (status, reason) = manifest.status("users");
        SnapshotError::NoUsers {
            reason: format!(
                "users is {}{}",
                status.as_str(),
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            ),
        }
    })
}

/// Why each rule cannot run, or `None` when all its inputs are present.
fn availability(
    registry: &Registry,
    tenant: &TenantData,
    external_given: bool,
) -> Vec<Option<String>> {
    registry
        .rules
        .iter()
        .map(|rule| {
            rule.needs.iter().find_map(|need| {
                if need == EXTERNAL_IDENTITIES {
                    return (!external_given).then(|| "no --external-identities file given".into());
                }
                let (status, reason) = tenant
                    .statuses
                    .get(need)
                    .cloned()
                    .unwrap_or((Status::Skipped, None));
                (status != Status::Ok).then(|| match reason {
                    Some(r) => format!("{need} is {}: {r}", status.as_str()),
                    None => format!("{need} is {}", status.as_str()),
                })
            })
        })
        .collect()
}

/// Reads a snapshot and evaluates every rule on it.
pub fn run(dir: &Path, registry: Registry, options: ScanOptions) -> Result<Scan, ScanError> {
    let manifest = Manifest::load(dir)?;
    if !manifest.complete && !options.allow_incomplete {
        return Err(SnapshotError::Incomplete {
            path: dir.join(crate::snapshot::manifest::MANIFEST),
        }
        .into());
    }
    let users_file = users_file(dir, &manifest)?;
    let external = match &options.external_identities {
        Some(p) => Some(inputs::read_external_identities(p)?),
        None => None,
    };
    let clock = Phases::start();
    let tenant = TenantData::load(dir, &manifest)?;
    let mut users: Users = users::load(&users_file)?;
    clock.mark("read users");
    unique_ids::check(&users, &users_file.path)?;
    clock.mark("unique ids");

    let mut warnings = users.warnings.clone();
    if users.warnings_total > users.warnings.len() {
        warnings.push(format!(
            "{} more warnings about {} not shown",
            users.warnings_total - users.warnings.len(),
            users_file.path.display()
        ));
    }
    let lookups = facts::Lookups::new(&tenant);
    clock.mark("  lookups");
    let facts = facts::derive(
        &mut users,
        &tenant,
        &lookups,
        manifest.cloud.as_deref(),
        manifest.tenant_id.as_deref(),
        &options.scope,
        external.as_deref(),
    )?;
    drop(lookups);
    clock.mark("facts");
    warnings.extend(facts.warnings.iter().cloned());
    let not_evaluated = availability(&registry, &tenant, external.is_some());
    let eval = engine::evaluate(
        &registry,
        not_evaluated,
        options.mau_billing,
        &users.table,
        &facts,
    )?;

    clock.mark("rules");
    let mut summary = Summary {
        users_total: users.len(),
        in_scope: facts.in_scope.len(),
        ..Summary::default()
    };
    for v in &eval.verdicts {
        match v.verdict {
            Verdict::Ready => summary.ready += 1,
            Verdict::Blocked => summary.blocked += 1,
            Verdict::Pending => summary.pending += 1,
            Verdict::Excluded => summary.excluded += 1,
        }
    }
    summary.out_of_scope = summary.users_total - summary.in_scope - summary.excluded;
    for f in &eval.findings {
        match eval.outcomes[f.rule as usize].severity {
            Severity::Blocker => summary.findings_blocker += 1,
            Severity::Warning => summary.findings_warning += 1,
            Severity::Info => summary.findings_info += 1,
        }
    }
    summary.rules_not_evaluated = eval
        .outcomes
        .iter()
        .filter(|o| o.not_evaluated.is_some())
        .count();
    Ok(Scan {
        snapshot: dir.to_owned(),
        manifest,
        registry,
        options,
        users: users.table,
        tenant: facts.tenant,
        outcomes: eval.outcomes,
        findings: eval.findings,
        verdicts: eval.verdicts,
        summary,
        warnings,
        lines: users.lines,
    })
}

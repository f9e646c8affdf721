//! Judging a few accounts again, on values read live, with everything else as the snapshot
//! had it: the same rule set, the same tenant facts, and the other accounts' addresses for the
//! collision rule. This is how a plan is re-checked account by account right before acting.

use std::path::{Path, PathBuf};

use super::facts::{self, Class, Scope};
use super::inputs::{self, Entry};
use super::{ScanError, ScanOptions, availability, check_unique_ids};
use crate::model::{Column, StrColumn, Verdict, user as col};
use crate::rules::Registry;
use crate::snapshot::tenant::TenantData;
use crate::snapshot::users::{self, Users};
use crate::snapshot::{Manifest, SnapshotError};

/// One account judged again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub mail: Option<String>,
    pub verdict: Verdict,
    /// Why an excluded account is left alone.
    pub excluded: Option<String>,
    /// Rule ids, in rule order.
    pub blockers: Vec<String>,
    pub warnings: Vec<String>,
}

/// The snapshot's rule set and tenant, ready to judge accounts given as Graph user objects.
pub struct Checker {
    registry: Registry,
    not_evaluated: Vec<Option<String>>,
    tenant: TenantData,
    manifest: Manifest,
    mau_billing: bool,
    external: Option<Vec<Entry>>,
    /// The snapshot's accounts, for their addresses.
    others: Users,
    /// Every (address hash, row) of `others`, sorted.
    index: Vec<(u64, u32)>,
}

impl Checker {
    /// Reads the snapshot's tenant and accounts once. Accounts are judged whatever the scope
    /// (a planned account stays judged if its mail no longer looks external); exclusions
    /// (external guests, accounts already invited) still apply.
    pub fn load(dir: &Path, registry: Registry, options: &ScanOptions) -> Result<Self, ScanError> {
        let manifest = Manifest::load(dir)?;
        if !manifest.complete && !options.allow_incomplete {
            return Err(SnapshotError::Incomplete {
                path: dir.join(crate::snapshot::manifest::MANIFEST),
            }
            .into());
        }
        let file = super::users_file(dir, &manifest)?;
        let external = match &options.external_identities {
            Some(p) => Some(inputs::read_external_identities(p)?),
            None => None,
        };
        let tenant = TenantData::load(dir, &manifest)?;
        let others = users::load(&file)?;
        check_unique_ids(&others, &file.path)?;
        let not_evaluated = availability(&registry, &tenant, external.is_some());
        let index = facts::address_index(&others.addresses);
        Ok(Checker {
            registry,
            not_evaluated,
            tenant,
            manifest,
            mau_billing: options.mau_billing,
            external,
            others,
            index,
        })
    }

    /// Judges the given user objects (as `GET /users/{id}` returns them) with the rules.
    pub fn check(&self, records: &[serde_json::Value]) -> Result<Vec<Checked>, ScanError> {
        let mut live = users::from_values(&PathBuf::from("live user objects"), records)?;
        let facts = facts::derive(
            &mut live,
            &self.tenant,
            self.manifest.cloud.as_deref(),
            self.manifest.tenant_id.as_deref(),
            &Scope::All,
            self.external.as_deref(),
        );
        self.set_collisions(&mut live, &facts.class);
        let eval = super::engine::evaluate(
            &self.registry,
            self.not_evaluated.clone(),
            self.mau_billing,
            &live.table,
            &facts,
        )?;
        let text = |c: usize, r: u32| {
            live.table.columns[c]
                .text()
                .and_then(|t| t.get(r as usize))
                .map(str::to_owned)
        };
        let ids = |rules: &[u16]| -> Vec<String> {
            rules
                .iter()
                .map(|&i| self.registry.rules[i as usize].id.clone())
                .collect()
        };
        let mut checked: Vec<Checked> = eval
            .verdicts
            .iter()
            .map(|v| Checked {
                id: text(col::ID, v.row).unwrap_or_default(),
                user_principal_name: text(col::UPN, v.row),
                mail: text(col::MAIL, v.row),
                verdict: v.verdict,
                excluded: super::exclusion_text(v.class, text(col::EXTERNAL_USER_STATE, v.row)),
                blockers: ids(&v.blockers),
                warnings: ids(&v.warnings),
            })
            .collect();
        // In the order given.
        let order: Vec<Option<&str>> = records.iter().map(|r| r["id"].as_str()).collect();
        checked.sort_by_key(|c| order.iter().position(|id| *id == Some(c.id.as_str())));
        Ok(checked)
    }

    /// Counts, for each live account in scope, the other accounts holding its mail: the other
    /// live accounts, and the snapshot's accounts that are not being judged live (for those,
    /// the live values win). The holder named is the one with the smallest id.
    fn set_collisions(&self, live: &mut Users, class: &[Class]) {
        let live_index = facts::address_index(&live.addresses);
        let live_ids = text_values(&live.table.columns[col::ID]);
        let live_upns = text_values(&live.table.columns[col::UPN]);
        let mail = text_values(&live.table.columns[col::MAIL]);
        let other_ids = self.others.table.columns[col::ID].text();
        let other_upns = self.others.table.columns[col::UPN].text();
        let n = live.len();
        let mut count: Vec<Option<i64>> = vec![None; n];
        let mut with = StrColumn::default();
        for r in 0..n {
            let m = mail[r].trim().to_lowercase();
            if class[r] != Class::InScope || m.is_empty() {
                count[r] = (class[r] == Class::InScope).then_some(0);
                with.push(None);
                continue;
            }
            let judged_live = |id: &str| live_ids.iter().any(|l| l.eq_ignore_ascii_case(id));
            let from_live = facts::holders(&live_index, &live.addresses, &m)
                .filter(|&o| o as usize != r)
                .map(|o| (live_ids[o as usize].clone(), live_upns[o as usize].clone()));
            let from_snapshot = facts::holders(&self.index, &self.others.addresses, &m)
                .map(|o| {
                    let id = other_ids.and_then(|c| c.get(o as usize)).unwrap_or("");
                    let upn = other_upns.and_then(|c| c.get(o as usize)).unwrap_or("");
                    (id.to_owned(), upn.to_owned())
                })
                .filter(|(id, _)| !judged_live(id));
            let holders: Vec<(String, String)> = from_live.chain(from_snapshot).collect();
            count[r] = Some(holders.len() as i64);
            let first = holders.into_iter().min();
            with.push(
                first
                    .map(|(id, upn)| if upn.is_empty() { id } else { upn })
                    .as_deref(),
            );
        }
        live.table.columns[col::MAIL_COLLISION_COUNT] = Column::Int(count);
        live.table.columns[col::MAIL_COLLISION_WITH] = Column::Text(with);
    }
}

fn text_values(column: &Column) -> Vec<String> {
    match column.text() {
        Some(c) => (0..c.len())
            .map(|r| c.get(r).unwrap_or("").to_owned())
            .collect(),
        None => Vec::new(),
    }
}

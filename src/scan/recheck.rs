//! Judging a few accounts again, on values read live, with everything else as the snapshot
//! had it: the same rule set, the same tenant facts, and the other accounts' addresses for the
//! collision rule. This is how a plan is re-checked account by account right before acting.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::facts::{self, Book, Class, Groups, Holder, OtherHolders, Scope};
use super::inputs::{self, Entry};
use super::unique_ids::{self, folded_id_index, hash_folded};
use super::{ScanError, ScanOptions, availability};
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
    /// The snapshot's contacts and deleted users.
    holders: OtherHolders,
    /// Every address of the snapshot, grouped.
    groups: Groups,
    /// (folded id hash, row) of `others`, sorted.
    ids: Vec<(u64, u32)>,
    /// The facts step's lookups, made once.
    lookups: facts::Lookups,
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
        unique_ids::check(&others, &file.path)?;
        let not_evaluated = availability(&registry, &tenant, external.is_some());
        let holders = OtherHolders::from_tenant(&tenant);
        let groups = Groups::build(
            Book {
                users: &others,
                others: &holders,
            },
            &|_| true,
        );
        let ids = folded_id_index(&others);
        let lookups = facts::Lookups::without_holders(&tenant);
        Ok(Checker {
            registry,
            not_evaluated,
            tenant,
            manifest,
            mau_billing: options.mau_billing,
            external,
            others,
            holders,
            groups,
            ids,
            lookups,
        })
    }

    /// The digest of the rule set this checker judges with (see `Registry::digest`).
    pub fn rule_set_sha256(&self) -> String {
        self.registry.digest(self.mau_billing)
    }

    /// The tenant of the snapshot.
    pub fn tenant_id(&self) -> Option<&str> {
        self.manifest.tenant_id.as_deref()
    }

    /// Judges the given user objects (as `GET /users/{id}` returns them) with the rules.
    pub fn check(&self, records: &[serde_json::Value]) -> Result<Vec<Checked>, ScanError> {
        let mut live = users::from_values(&PathBuf::from("live user objects"), records)?;
        // The live accounts among themselves only: `set_collisions` then counts the snapshot's
        // accounts, contacts and deleted users from the groups made once at load.
        let facts = facts::derive(
            &mut live,
            &self.tenant,
            &self.lookups,
            self.manifest.cloud.as_deref(),
            self.manifest.tenant_id.as_deref(),
            &Scope::All,
            self.external.as_deref(),
        )?;
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
                excluded: super::exclusion_text(
                    v.class,
                    text(col::EXTERNAL_USER_STATE, v.row).as_deref(),
                )
                .map(Cow::into_owned),
                blockers: ids(&v.blockers),
                warnings: ids(&v.warnings),
            })
            .collect();
        // In the order given.
        let order: Vec<Option<&str>> = records.iter().map(|r| r["id"].as_str()).collect();
        checked.sort_by_key(|c| order.iter().position(|id| *id == Some(c.id.as_str())));
        Ok(checked)
    }

    /// Counts, for each live account judged, the other objects holding its mail: the other
    /// live accounts, the snapshot's contacts and deleted users, and the snapshot's accounts
    /// that are not being judged live (for those, the live values win). The holder named is the
    /// one with the smallest id. The snapshot's addresses are grouped once at load, so a check
    /// costs the size of the live batch, not the size of a shared address's group.
    fn set_collisions(&self, live: &mut Users, class: &[Class]) {
        let none = OtherHolders::default();
        let book = self.book();
        let live_book = Book {
            users: live,
            others: &none,
        };
        let mail = live.table.columns[col::MAIL].text().expect("text column");
        // The snapshot rows of the accounts judged live: their snapshot values no longer count.
        let replaced: Vec<u32> = (0..live.len() as u32)
            .filter_map(|r| self.row_of(live_book.id(r)))
            .collect();
        let n = live.len();
        let mut count: Vec<Option<i64>> = vec![None; n];
        let mut holder: Vec<Option<Holder>> = vec![None; n];
        for r in 0..n {
            if !class[r].judged() {
                continue;
            }
            let Some(m) = facts::mail_key(mail, r) else {
                count[r] = Some(0);
                continue;
            };
            let live_holders = (0..n as u32)
                .filter(|&o| o as usize != r && live_book.holds(o, &m))
                .map(|o| live_book.holder(o));
            let (snapshot_count, first) = self.snapshot_holders(book, &m, &replaced);
            let mut all: Vec<Holder> = live_holders.chain(first).collect();
            count[r] = Some((snapshot_count + all.len() - usize::from(first.is_some())) as i64);
            all.sort_by(|a, b| a.id.cmp(b.id));
            holder[r] = all.first().copied();
        }
        let column = |f: for<'h> fn(&Holder<'h>) -> &'h str| {
            let mut c = StrColumn::default();
            for h in &holder {
                c.push(h.as_ref().map(f));
            }
            Column::Text(c)
        };
        let columns = [
            (col::MAIL_COLLISION_WITH, column(|h| h.label)),
            (col::MAIL_COLLISION_KIND, column(|h| h.kind.as_str())),
            (col::MAIL_COLLISION_ID, column(|h| h.id)),
            (col::MAIL_COLLISION_COUNT, Column::Int(count)),
        ];
        drop(holder);
        for (index, c) in columns {
            live.table.columns[index] = c;
        }
    }

    fn book(&self) -> Book<'_> {
        Book {
            users: &self.others,
            others: &self.holders,
        }
    }

    /// How many snapshot objects hold `address`, leaving out the `replaced` rows, and the one
    /// with the smallest id. The group's two smallest ids answer unless both are replaced;
    /// only then are the holders looked for one by one.
    fn snapshot_holders<'a>(
        &self,
        book: Book<'a>,
        address: &str,
        replaced: &[u32],
    ) -> (usize, Option<Holder<'a>>) {
        let Some(g) = self.groups.find(book, address) else {
            return (0, None);
        };
        let gone = replaced.iter().filter(|&&s| book.holds(s, address)).count();
        let count = g.count as usize - gone;
        if count == 0 {
            return (0, None);
        }
        let kept = |h: &u32| !replaced.contains(h);
        let first = [Some(g.first), g.second]
            .into_iter()
            .flatten()
            .find(kept)
            .or_else(|| {
                book.scan_holders(address)
                    .into_iter()
                    .filter(kept)
                    .min_by(|a, b| book.id(*a).cmp(book.id(*b)))
            });
        (count, first.map(|h| book.holder(h)))
    }

    /// The snapshot row of an account id, compared without regard to ASCII case.
    fn row_of(&self, id: &str) -> Option<u32> {
        let h = hash_folded(id);
        let start = self.ids.partition_point(|p| p.0 < h);
        let ids = self.others.table.columns[col::ID]
            .text()
            .expect("text column");
        self.ids[start..]
            .iter()
            .take_while(|p| p.0 == h)
            .map(|p| p.1)
            .find(|&r| {
                ids.get(r as usize)
                    .is_some_and(|i| i.eq_ignore_ascii_case(id))
            })
    }
}

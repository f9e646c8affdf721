//! The facts step: decides who is excluded and who is in scope, and derives the columns rules
//! read (mail domain and validity, verified domains, collisions, policy, external addresses)
//! plus the one-row tenant table.

mod collisions;
mod cross_tenant;
mod directory;
mod scope;
mod tenant;

use std::borrow::Cow;
use std::collections::HashSet;

pub(crate) use collisions::{Book, Groups, Holder, OtherHolders, mail_key};

use rayon::prelude::*;

use super::email::{domain_of, mail_problem};
use super::inputs::Entry;
use crate::model::{Column, StrColumn, Table, user as col};
use crate::snapshot::tenant::TenantData;
use crate::snapshot::users::Users;

/// Which accounts the scan judges.
#[derive(Debug, Clone, Default)]
pub enum Scope {
    /// Internal accounts that look like local guests: userType Guest, or a mail outside the
    /// tenant's verified domains.
    #[default]
    LikelyGuests,
    /// Every internal account.
    All,
    /// Exactly the listed accounts.
    Listed(Vec<Entry>),
    /// The internal accounts a condition selects (`--scope-where`), compiled.
    Where {
        condition: String,
        expr: polars::prelude::Expr,
    },
}

impl Scope {
    /// The scope as reports describe it.
    pub fn label(&self) -> &'static str {
        match self {
            Scope::LikelyGuests => "likely local guests",
            Scope::All => "all internal accounts",
            Scope::Listed(_) => "accounts listed in the scope file",
            Scope::Where { .. } => "accounts the scope condition selects",
        }
    }
}

/// Why an account is never touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    ExternalUpn,
    Invitation,
    AlreadyInvited,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    OutOfScope,
    InScope,
    /// In scope, invited (externalUserState PendingAcceptance) and not redeemed yet: judged
    /// by the rules, but neither ready (an invitation is out) nor excluded.
    Pending,
    Excluded(Exclusion),
}

impl Class {
    /// Whether the rules judge the account.
    pub fn judged(self) -> bool {
        matches!(self, Class::InScope | Class::Pending)
    }
}

pub struct Facts {
    pub class: Vec<Class>,
    /// Rows the rules judge (in scope or pending), in table order.
    pub in_scope: Vec<u32>,
    pub tenant: Table,
    pub warnings: Vec<String>,
}

struct RowFacts<'a> {
    domain: Option<Cow<'a, str>>,
    verified: Option<bool>,
    class: Class,
}

/// What the facts step looks accounts up in, built once per snapshot: the tenant's verified
/// domains, the directory around the accounts, and the contacts and deleted users their mail
/// is compared with.
pub struct Lookups {
    verified: HashSet<String>,
    directory: directory::Directory,
    others: OtherHolders,
}

impl Lookups {
    pub fn new(tenant: &TenantData) -> Self {
        Lookups {
            others: OtherHolders::from_tenant(tenant),
            ..Lookups::without_holders(tenant)
        }
    }

    /// Without the contacts and deleted users: for judging live accounts, whose collisions
    /// with the snapshot are counted apart.
    pub fn without_holders(tenant: &TenantData) -> Self {
        let verified: HashSet<String> = tenant.verified_domains().into_iter().collect();
        Lookups {
            directory: directory::Directory::new(tenant, &verified),
            verified,
            others: OtherHolders::default(),
        }
    }
}

pub fn derive(
    users: &mut Users,
    tenant: &TenantData,
    lookups: &Lookups,
    cloud: Option<&str>,
    manifest_tenant: Option<&str>,
    scope: &Scope,
    external: Option<&[Entry]>,
) -> polars::prelude::PolarsResult<Facts> {
    let verified = &lookups.verified;
    let policy = tenant.domain_policy.as_ref();
    let table = &users.table;
    let n = table.len();
    let text = |c: usize| table.columns[c].text().expect("text column");
    let (mail, upn, ids) = (text(col::MAIL), text(col::UPN), text(col::ID));

    let clock = crate::scan::Phases::start();
    let rows = row_facts(table, verified, scope);
    clock.mark("  row facts");
    let mut class: Vec<Class> = rows.iter().map(|f| f.class).collect();
    let mut warnings = Vec::new();
    if let Scope::Where { expr, .. } = scope {
        scope::select_where(table, &rows, expr, &mut class)?;
    }
    let external_email = scope::apply_lists(ids, upn, scope, external, &mut class, &mut warnings);
    mark_pending(text(col::EXTERNAL_USER_STATE), &mut class);
    let in_scope: Vec<u32> = (0..n as u32)
        .filter(|&r| class[r as usize].judged())
        .collect();
    let book = Book {
        users,
        others: &lookups.others,
    };
    clock.mark("  scope");
    let collisions = collisions::collisions(book, &in_scope);
    clock.mark("  collisions");
    let (problem, refusal) = validity(mail, &rows, &class, policy);
    let mut holder: Vec<Option<collisions::Holder>> = vec![None; n];
    let mut count = vec![None; n];
    for (&r, (c, h)) in in_scope.iter().zip(&collisions) {
        count[r as usize] = Some(*c as i64);
        holder[r as usize] = h.map(|h| book.holder(h));
    }
    clock.mark("  validity");
    let directory = directory::derive(
        table,
        tenant,
        (verified, &lookups.directory),
        &in_scope,
        &rows,
    );
    clock.mark("  directory");
    let external_domain: Vec<Option<String>> = external_email
        .iter()
        .map(|e| e.as_deref().and_then(domain_of))
        .collect();
    let built = {
        let (rows, problem, refusal, holder) = (&rows, &problem, &refusal, &holder);
        let (external_email, external_domain) = (&external_email, &external_domain);
        build_columns(vec![
            (
                col::MAIL_DOMAIN,
                Box::new(move || text_column(rows.iter().map(|f| f.domain.as_deref()))),
            ),
            (
                col::MAIL_PROBLEM,
                Box::new(move || text_column(problem.iter().map(Option::as_deref))),
            ),
            (
                col::MAIL_DOMAIN_VERIFIED,
                Box::new(move || Column::Bool(rows.iter().map(|f| f.verified).collect())),
            ),
            (
                col::MAIL_DOMAIN_POLICY,
                Box::new(move || text_column(refusal.iter().copied())),
            ),
            (
                col::MAIL_COLLISION_WITH,
                Box::new(move || text_column(holder.iter().map(|h| h.map(|h| h.label)))),
            ),
            (
                col::MAIL_COLLISION_KIND,
                Box::new(move || text_column(holder.iter().map(|h| h.map(|h| h.kind.as_str())))),
            ),
            (
                col::MAIL_COLLISION_ID,
                Box::new(move || text_column(holder.iter().map(|h| h.map(|h| h.id)))),
            ),
            (
                col::EXTERNAL_EMAIL,
                Box::new(move || text_column(external_email.iter().map(Option::as_deref))),
            ),
            (
                col::EXTERNAL_DOMAIN,
                Box::new(move || text_column(external_domain.iter().map(Option::as_deref))),
            ),
        ])
    };
    drop(rows);
    drop(holder);
    let derived = built
        .into_iter()
        .chain([(col::MAIL_COLLISION_COUNT, Column::Int(count))]);
    for (index, column) in derived.chain(directory) {
        users.table.columns[index] = column;
    }

    clock.mark("  columns");
    let tenant_table = tenant::table(tenant, cloud, manifest_tenant, in_scope.len());
    Ok(Facts {
        class,
        in_scope,
        tenant: tenant_table,
        warnings,
    })
}

/// Per account judged: why the invitation API would refuse its mail, and why the B2B
/// management policy would refuse its domain. Only where rules run.
fn validity(
    mail: &StrColumn,
    rows: &[RowFacts],
    class: &[Class],
    policy: Option<&crate::snapshot::tenant::DomainPolicy>,
) -> (Vec<Option<String>>, Vec<Option<&'static str>>) {
    (0..class.len())
        .into_par_iter()
        .map(|r| {
            if !class[r].judged() {
                return (None, None);
            }
            let domain = rows[r].domain.as_deref();
            (
                mail_problem(mail.get(r).unwrap_or("")),
                domain.and_then(|d| policy.and_then(|p| p.refusal(d))),
            )
        })
        .unzip()
}

/// Per account: its mail domain, whether the tenant verified it, and its class.
fn row_facts<'a>(table: &'a Table, verified: &HashSet<String>, scope: &Scope) -> Vec<RowFacts<'a>> {
    let mail = table.columns[col::MAIL].text().expect("text column");
    (0..table.len())
        .into_par_iter()
        .map(|r| {
            let m = mail.get(r).unwrap_or("");
            let domain = domain_slice(m).map(|d| {
                if d.bytes().any(|b| b.is_ascii_uppercase()) {
                    Cow::Owned(d.to_ascii_lowercase())
                } else {
                    Cow::Borrowed(d)
                }
            });
            let verified_domain = domain.as_ref().map(|d| verified.contains(d.as_ref()));
            let class = classify(table, r, scope, domain.is_some(), verified_domain);
            RowFacts {
                verified: verified_domain,
                domain,
                class,
            }
        })
        .collect()
}

fn classify(
    table: &Table,
    r: usize,
    scope: &Scope,
    has_domain: bool,
    verified: Option<bool>,
) -> Class {
    let text = |c: usize| table.columns[c].text().expect("text column").get(r);
    if text(col::UPN).is_some_and(|u| u.to_ascii_uppercase().contains("#EXT#")) {
        return Class::Excluded(Exclusion::ExternalUpn);
    }
    if text(col::CREATION_TYPE).is_some_and(|c| c.eq_ignore_ascii_case("invitation")) {
        return Class::Excluded(Exclusion::Invitation);
    }
    // A pending invitation leaves the account internal: it is scoped like the others, and
    // marked pending once the scope is known.
    match text(col::EXTERNAL_USER_STATE).map(str::trim) {
        Some(s) if !s.is_empty() && !is_pending(s) => {
            return Class::Excluded(Exclusion::AlreadyInvited);
        }
        _ => {}
    }
    let likely = text(col::USER_TYPE).is_some_and(|t| t.eq_ignore_ascii_case("guest"))
        || (has_domain && verified == Some(false));
    match scope {
        Scope::All => Class::InScope,
        Scope::LikelyGuests if likely => Class::InScope,
        _ => Class::OutOfScope,
    }
}

/// Accounts in scope with an invitation out are pending: judged, neither ready nor excluded.
fn mark_pending(state: &StrColumn, class: &mut [Class]) {
    for (r, c) in class.iter_mut().enumerate() {
        if *c == Class::InScope && state.get(r).is_some_and(|s| is_pending(s.trim())) {
            *c = Class::Pending;
        }
    }
}

/// `PendingAcceptance`, also as some Microsoft pages spell it ("Pending Acceptance").
pub fn is_pending(state: &str) -> bool {
    let squeezed: String = state.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed.eq_ignore_ascii_case("PendingAcceptance")
}

/// The domain of an address with exactly one `@`, as written.
fn domain_slice(mail: &str) -> Option<&str> {
    let (local, domain) = mail.trim().split_once('@')?;
    (!domain.contains('@') && !local.is_empty() && !domain.is_empty()).then_some(domain)
}

/// A derived column (its index) and how to build it: a pass over every row.
pub(super) type Builder<'a> = (usize, Box<dyn Fn() -> Column + Send + Sync + 'a>);

/// Builds the columns side by side: each is a serial pass over a million rows.
fn build_columns(builders: Vec<Builder<'_>>) -> Vec<(usize, Column)> {
    builders
        .into_par_iter()
        .with_max_len(1)
        .map(|(index, build)| (index, build()))
        .collect()
}

fn text_column<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Column {
    let mut c = StrColumn::default();
    for v in values {
        c.push(v);
    }
    Column::Text(c)
}

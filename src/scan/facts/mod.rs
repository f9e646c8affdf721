//! The facts step: decides who is excluded and who is in scope, and derives the columns rules
//! read (mail domain and validity, verified domains, collisions, policy, external addresses)
//! plus the one-row tenant table.

mod collisions;
mod tenant;

use std::borrow::Cow;
use std::collections::HashSet;

pub(crate) use collisions::{address_index, holders};

use rayon::prelude::*;

use super::email::{domain_of, mail_problem};
use super::inputs::{AccountIndex, Entry};
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
}

impl Scope {
    /// The scope as reports describe it.
    pub fn label(&self) -> &'static str {
        match self {
            Scope::LikelyGuests => "likely local guests",
            Scope::All => "all internal accounts",
            Scope::Listed(_) => "accounts listed in the scope file",
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
    Excluded(Exclusion),
}

pub struct Facts {
    pub class: Vec<Class>,
    /// Rows in scope, in table order.
    pub in_scope: Vec<u32>,
    pub tenant: Table,
    pub warnings: Vec<String>,
}

struct RowFacts<'a> {
    domain: Option<Cow<'a, str>>,
    verified: Option<bool>,
    class: Class,
}

pub fn derive(
    users: &mut Users,
    tenant: &TenantData,
    cloud: Option<&str>,
    manifest_tenant: Option<&str>,
    scope: &Scope,
    external: Option<&[Entry]>,
) -> Facts {
    let verified: HashSet<String> = tenant.verified_domains().into_iter().collect();
    let policy = tenant.domain_policy.as_ref();
    let table = &users.table;
    let n = table.len();
    let text = |c: usize| table.columns[c].text().expect("text column");
    let (mail, upn, ids) = (text(col::MAIL), text(col::UPN), text(col::ID));

    let rows = row_facts(table, &verified, scope);
    let mut class: Vec<Class> = rows.iter().map(|f| f.class).collect();
    let mut warnings = Vec::new();

    let external_email = apply_lists(ids, upn, scope, external, &mut class, &mut warnings);
    let in_scope: Vec<u32> = (0..n as u32)
        .filter(|&r| class[r as usize] == Class::InScope)
        .collect();
    let collisions = collisions::collisions(users, &in_scope);
    // Validity and policy only matter where rules run.
    let (problem, refusal): (Vec<Option<String>>, Vec<Option<&'static str>>) = (0..n)
        .into_par_iter()
        .map(|r| {
            if class[r] != Class::InScope {
                return (None, None);
            }
            let domain = rows[r].domain.as_deref();
            (
                mail_problem(mail.get(r).unwrap_or("")),
                domain.and_then(|d| policy.and_then(|p| p.refusal(d))),
            )
        })
        .unzip();
    let mut with: Vec<Option<&str>> = vec![None; n];
    let mut count = vec![None; n];
    for (&r, (c, holder)) in in_scope.iter().zip(&collisions) {
        count[r as usize] = Some(*c as i64);
        with[r as usize] =
            holder.map(|h| upn.get(h as usize).or(ids.get(h as usize)).unwrap_or(""));
    }
    let external_domain: Vec<Option<String>> = external_email
        .iter()
        .map(|e| e.as_deref().and_then(domain_of))
        .collect();
    let derived = [
        (
            col::MAIL_DOMAIN,
            text_column(rows.iter().map(|f| f.domain.as_deref())),
        ),
        (
            col::MAIL_PROBLEM,
            text_column(problem.iter().map(Option::as_deref)),
        ),
        (
            col::MAIL_DOMAIN_VERIFIED,
            Column::Bool(rows.iter().map(|f| f.verified).collect()),
        ),
        (
            col::MAIL_DOMAIN_POLICY,
            text_column(refusal.iter().copied()),
        ),
        (col::MAIL_COLLISION_WITH, text_column(with.iter().copied())),
        (col::MAIL_COLLISION_COUNT, Column::Int(count)),
        (
            col::EXTERNAL_EMAIL,
            text_column(external_email.iter().map(Option::as_deref)),
        ),
        (
            col::EXTERNAL_DOMAIN,
            text_column(external_domain.iter().map(Option::as_deref)),
        ),
    ];
    drop(rows);
    drop(with);
    for (index, column) in derived {
        users.table.columns[index] = column;
    }

    let tenant_table = tenant::table(tenant, cloud, manifest_tenant, in_scope.len());
    Facts {
        class,
        in_scope,
        tenant: tenant_table,
        warnings,
    }
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
    if text(col::EXTERNAL_USER_STATE).is_some_and(|s| !s.trim().is_empty()) {
        return Class::Excluded(Exclusion::AlreadyInvited);
    }
    let likely = text(col::USER_TYPE).is_some_and(|t| t.eq_ignore_ascii_case("guest"))
        || (has_domain && verified == Some(false));
    match scope {
        Scope::All => Class::InScope,
        Scope::LikelyGuests if likely => Class::InScope,
        _ => Class::OutOfScope,
    }
}

/// Applies `--scope-file` and `--external-identities`: their accounts come into scope, and
/// each account's external address is returned.
fn apply_lists(
    ids: &StrColumn,
    upn: &StrColumn,
    scope: &Scope,
    external: Option<&[Entry]>,
    class: &mut [Class],
    warnings: &mut Vec<String>,
) -> Vec<Option<String>> {
    let n = class.len();
    let mut external_email: Vec<Option<String>> = vec![None; n];
    let listed = matches!(scope, Scope::Listed(_));
    if listed || external.is_some() {
        let index = AccountIndex::new(ids, upn);
        if let Scope::Listed(entries) = scope {
            apply_list(&index, entries, class, "--scope-file", warnings);
        }
        if let Some(entries) = external {
            apply_list(&index, entries, class, "--external-identities", warnings);
            for e in entries {
                if let Some(r) = index.find(&e.user) {
                    external_email[r as usize] = e.external_email.clone();
                }
            }
        }
    }
    external_email
}

/// Puts the listed accounts in scope (excluded ones stay excluded) and warns about entries
/// that name no account.
fn apply_list(
    index: &AccountIndex,
    entries: &[Entry],
    class: &mut [Class],
    flag: &str,
    warnings: &mut Vec<String>,
) {
    let mut unknown = Vec::new();
    for e in entries {
        match index.find(&e.user) {
            Some(r) => {
                if class[r as usize] == Class::OutOfScope {
                    class[r as usize] = Class::InScope;
                }
            }
            None => unknown.push(format!("{} (line {})", e.user, e.line)),
        }
    }
    if !unknown.is_empty() {
        let shown: Vec<_> = unknown.iter().take(5).cloned().collect();
        let more = unknown.len().saturating_sub(shown.len());
        warnings.push(format!(
            "{flag}: {} entries match no account: {}{}",
            unknown.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
}

/// The domain of an address with exactly one `@`, as written.
fn domain_slice(mail: &str) -> Option<&str> {
    let (local, domain) = mail.trim().split_once('@')?;
    (!domain.contains('@') && !local.is_empty() && !domain.is_empty()).then_some(domain)
}

fn text_column<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Column {
    let mut c = StrColumn::default();
    for v in values {
        c.push(v);
    }
    Column::Text(c)
}

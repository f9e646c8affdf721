//! The facts step: decides who is excluded and who is in scope, and derives the columns rules
//! read (mail domain and validity, verified domains, collisions, policy, external addresses)
//! plus the one-row tenant table.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use rayon::prelude::*;

use super::email::{domain_of, mail_problem};
use super::inputs::{AccountIndex, Entry};
use crate::model::{Column, StrColumn, Table, tenant as tcol, user as col};
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

    let rows: Vec<RowFacts> = (0..n)
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
        .collect();
    let mut class: Vec<Class> = rows.iter().map(|f| f.class).collect();
    let mut warnings = Vec::new();

    let mut external_email: Vec<Option<String>> = vec![None; n];
    let listed = matches!(scope, Scope::Listed(_));
    if listed || external.is_some() {
        let index = AccountIndex::new(ids, upn);
        if let Scope::Listed(entries) = scope {
            apply_list(&index, entries, &mut class, "--scope-file", &mut warnings);
        }
        if let Some(entries) = external {
            apply_list(
                &index,
                entries,
                &mut class,
                "--external-identities",
                &mut warnings,
            );
            for e in entries {
                if let Some(r) = index.find(&e.user) {
                    external_email[r as usize] = e.external_email.clone();
                }
            }
        }
    }
    let in_scope: Vec<u32> = (0..n as u32)
        .filter(|&r| class[r as usize] == Class::InScope)
        .collect();
    let collisions = collisions(users, &in_scope);
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

    let tenant_table = tenant_table(tenant, cloud, manifest_tenant, in_scope.len());
    Facts {
        class,
        in_scope,
        tenant: tenant_table,
        warnings,
    }
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

pub(crate) fn hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// For each row in scope: how many other accounts hold its mail, and the one with the
/// smallest id. Addresses are hashed and sorted once, then every candidate is compared
/// exactly, so a hash collision can never invent a finding.
fn collisions(users: &Users, in_scope: &[u32]) -> Vec<(usize, Option<u32>)> {
    let addresses = &users.addresses;
    let mut pairs: Vec<(u64, u32)> = (0..addresses.len())
        .into_par_iter()
        .flat_map_iter(|r| {
            addresses
                .get(r)
                .unwrap_or("")
                .split('\n')
                .filter(|a| !a.is_empty())
                .map(move |a| (hash(a), r as u32))
        })
        .collect();
    pairs.par_sort_unstable();
    let mail = users.table.columns[col::MAIL].text().expect("text column");
    let ids = users.table.columns[col::ID].text().expect("text column");
    in_scope
        .par_iter()
        .map(|&r| {
            let Some(m) = mail.get(r as usize).map(|m| m.trim().to_lowercase()) else {
                return (0, None);
            };
            if m.is_empty() {
                return (0, None);
            }
            let h = hash(&m);
            let start = pairs.partition_point(|p| p.0 < h);
            let holders = pairs[start..]
                .iter()
                .take_while(|p| p.0 == h)
                .map(|p| p.1)
                .filter(|&o| o != r)
                .filter(|&o| {
                    addresses
                        .get(o as usize)
                        .unwrap_or("")
                        .split('\n')
                        .any(|a| a == m)
                });
            let mut count = 0;
            let mut first: Option<u32> = None;
            for o in holders {
                count += 1;
                if first.is_none_or(|f| ids.get(o as usize) < ids.get(f as usize)) {
                    first = Some(o);
                }
            }
            (count, first)
        })
        .collect()
}

fn tenant_table(
    tenant: &TenantData,
    cloud: Option<&str>,
    manifest_tenant: Option<&str>,
    accounts_in_scope: usize,
) -> Table {
    let id = tenant
        .organization
        .as_ref()
        .and_then(|o| o.id.clone())
        .or(manifest_tenant.map(str::to_owned))
        .unwrap_or_default();
    let cross = tenant.cross_tenant_default.as_ref().map(|p| {
        let Some(ug) = p
            .b2b_collaboration_inbound
            .as_ref()
            .and_then(|b| b.users_and_groups.as_ref())
        else {
            return "allowed";
        };
        let all_users = ug
            .targets
            .iter()
            .flatten()
            .any(|t| t.target.as_deref() == Some("AllUsers"));
        match (ug.access_type.as_deref(), all_users) {
            (Some("allowed"), true) => "allowed",
            (Some("blocked"), true) => "blocked",
            _ => "restricted",
        }
    });
    let linked = tenant.is_ok("guestUsages").then(|| {
        tenant
            .guest_usages
            .iter()
            .filter(|g| {
                let t = g.properties.as_ref().and_then(|p| p.tenant_id.as_deref());
                id.is_empty() || t.is_some_and(|t| t.eq_ignore_ascii_case(&id))
            })
            .count() as i64
    });
    let otp = tenant.email_otp.as_ref();
    let state = otp.and_then(|o| o.state.clone());
    let external = otp.and_then(|o| o.allow_external_id_to_use_email_otp.clone());
    let otp_enabled = otp.map(|_| {
        state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("enabled"))
            && !external
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case("disabled"))
    });
    let (teams, myapps) = match cloud.unwrap_or("global") {
        "usgov" => (
            "https://gov.teams.microsoft.us",
            "https://myapps.microsoft.us",
        ),
        "usgovdod" => (
            "https://dod.teams.microsoft.us",
            "https://myapps.microsoft.us",
        ),
        "china" => (
            "https://teams.microsoftonline.cn",
            "https://myapps.microsoft.com",
        ),
        _ => (
            "https://teams.microsoft.com",
            "https://myapps.microsoft.com",
        ),
    };
    let mut t = Table::new(tcol::COLUMNS, 1);
    let mut set_text = |c: usize, v: Option<&str>| {
        if let Column::Text(s) = &mut t.columns[c] {
            s.push(v);
        }
    };
    set_text(tcol::TENANT_ID, Some(&id));
    set_text(
        tcol::TENANT_NAME,
        tenant
            .organization
            .as_ref()
            .and_then(|o| o.display_name.as_deref()),
    );
    set_text(
        tcol::ALLOW_INVITES_FROM,
        tenant
            .authorization_policy
            .as_ref()
            .and_then(|p| p.allow_invites_from.as_deref()),
    );
    set_text(tcol::CROSS_TENANT_INBOUND, cross);
    set_text(tcol::EMAIL_OTP_STATE, state.as_deref());
    set_text(tcol::EMAIL_OTP_FOR_EXTERNAL, external.as_deref());
    set_text(tcol::TEAMS_URL, Some(&format!("{teams}/?tenantId={id}")));
    set_text(tcol::MYAPPS_URL, Some(&format!("{myapps}/?tenantId={id}")));
    t.columns[tcol::LINKED_SUBSCRIPTIONS] = Column::Int(vec![linked]);
    t.columns[tcol::EMAIL_OTP_ENABLED] = Column::Bool(vec![otp_enabled]);
    t.columns[tcol::ACCOUNTS_IN_SCOPE] = Column::Int(vec![Some(accounts_in_scope as i64)]);
    t
}

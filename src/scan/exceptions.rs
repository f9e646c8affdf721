//! Accepted exceptions: a finding a team has looked at and decided to live with, for a reason,
//! for a while. An accepted finding stays in every output, marked; an expired exception stops
//! accepting; an exception that matched nothing is reported, so stale entries get cleaned up.

use std::collections::HashMap;

use super::{Finding, Scan};
use crate::model::user as col;

/// Whom an exception is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A tenant-level finding (written `tenant`, or the tenant id).
    Tenant,
    /// An account, by object id or userPrincipalName (compared without regard to case).
    User(String),
}

impl Subject {
    pub fn parse(text: &str) -> Subject {
        let t = text.trim();
        if t.eq_ignore_ascii_case("tenant") {
            Subject::Tenant
        } else {
            Subject::User(t.to_lowercase())
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Subject::Tenant => "tenant",
            Subject::User(u) => u,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Exception {
    pub rule: String,
    pub subject: Subject,
    pub reason: String,
    pub owner: Option<String>,
    /// The last day the exception holds.
    pub expires: Option<jiff::civil::Date>,
    /// Where it is written in the config file.
    pub line: usize,
}

/// An exception after the scan: how many findings it matched and whether it still holds.
#[derive(Debug, Clone)]
pub struct ExceptionUse {
    pub exception: Exception,
    pub expired: bool,
    pub matched: usize,
    /// Findings it was chosen for that now fail the build (expired, at or above the
    /// threshold); counted by `review::finish`.
    pub failing: usize,
}

/// Today's date in UTC: an exception that expires today still holds today.
pub fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

/// Marks each finding an exception matches and returns how each exception was used. When
/// several match, a valid one wins over an expired one, so an old entry next to its renewal
/// does not fail the build.
pub fn mark(
    result: &Scan,
    findings: &mut [Finding],
    exceptions: Vec<Exception>,
    today: jiff::civil::Date,
) -> Vec<ExceptionUse> {
    let mut uses: Vec<ExceptionUse> = exceptions
        .into_iter()
        .map(|exception| ExceptionUse {
            expired: exception.expires.is_some_and(|d| d < today),
            exception,
            matched: 0,
            failing: 0,
        })
        .collect();
    let rule_index: HashMap<&str, u16> = result
        .registry
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i as u16))
        .collect();
    let tenant_id = result.tenant_id().to_lowercase();
    let mut by_key: HashMap<(u16, String), Vec<u16>> = HashMap::new();
    for (i, u) in uses.iter().enumerate() {
        if let Some(&rule) = rule_index.get(u.exception.rule.as_str()) {
            let subject = match &u.exception.subject {
                Subject::User(s) if *s == tenant_id => String::from("\0tenant"),
                Subject::User(s) => s.clone(),
                Subject::Tenant => String::from("\0tenant"),
            };
            by_key.entry((rule, subject)).or_default().push(i as u16);
        }
    }
    if by_key.is_empty() {
        return uses;
    }
    let ids = result.users.columns[col::ID].text();
    let upns = result.users.columns[col::UPN].text();
    let mut has_rule = vec![false; result.registry.rules.len()];
    for (rule, _) in by_key.keys() {
        has_rule[*rule as usize] = true;
    }
    let lookup = |rule: u16, key: String, found: &mut Vec<u16>| {
        if let Some(list) = by_key.get(&(rule, key)) {
            found.extend(list);
        }
    };
    let mut found = Vec::new();
    for f in findings.iter_mut() {
        if !has_rule[f.rule as usize] {
            continue;
        }
        found.clear();
        match f.row {
            None => lookup(f.rule, String::from("\0tenant"), &mut found),
            Some(r) => {
                for column in [ids, upns].into_iter().flatten() {
                    if let Some(v) = column.get(r as usize) {
                        lookup(f.rule, v.to_lowercase(), &mut found);
                    }
                }
            }
        }
        if found.is_empty() {
            continue;
        }
        found.sort_unstable();
        found.dedup();
        for &i in &found {
            uses[i as usize].matched += 1;
        }
        f.exception = found
            .iter()
            .copied()
            .find(|&i| !uses[i as usize].expired)
            .or(found.first().copied());
    }
    uses
}

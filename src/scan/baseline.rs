//! A baseline is an earlier `findings.json` of the same tenant. Each finding of this scan is
//! `new` or `unchanged` against it, and what it had that this scan does not is `resolved`, so
//! a nightly build goes red only for what is new.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Finding, Scan};
use crate::model::FINDINGS_SCHEMA as SCHEMA;
use crate::model::user as col;
use crate::snapshot::Text;

/// A findings.json of millions of findings stays well below this.
const BASELINE_LIMIT: u64 = 16384 * crate::files::MIB;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read the baseline {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the baseline {path} is not a b2bready findings.json: {message}")]
    Format { path: PathBuf, message: String },
    #[error("the baseline {path} is from tenant {baseline}, but this snapshot is tenant {current}")]
    OtherTenant {
        path: PathBuf,
        baseline: String,
        current: String,
    },
}

/// Where a finding stands against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Change {
    /// No baseline was given.
    #[default]
    Untracked,
    New,
    Unchanged,
    /// In the baseline too, but accepted there by an exception: the baseline does not excuse
    /// it, so it fails again once no exception accepts it.
    UnchangedAccepted,
}

impl Change {
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Change::Untracked => None,
            Change::New => Some("new"),
            Change::Unchanged | Change::UnchangedAccepted => Some("unchanged"),
        }
    }
}

/// A finding of the baseline that this scan no longer has.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub rule: String,
    pub kind: String,
    pub id: String,
    pub user_principal_name: Option<String>,
    pub fingerprint: String,
}

#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub path: PathBuf,
    pub generated_at: Option<String>,
    pub resolved: Vec<Resolved>,
    /// Baseline findings of rules that could not run this time: neither resolved nor not.
    pub unverified: usize,
}

/// The identity of a finding across runs: rule and subject, nothing that a later export could
/// change (line numbers, messages, severities).
pub fn fingerprint(rule: &str, kind: &str, id: &str) -> String {
    crate::snapshot::lines::hex(&digest(rule, kind, id))
}

/// The fingerprint's 16 bytes, the form compared in memory.
fn digest(rule: &str, kind: &str, id: &str) -> [u8; 16] {
    // Object ids are ASCII GUIDs: lower-cased byte by byte as they are copied, unless there
    // is more to them.
    let lowered;
    let id = if id.is_ascii() {
        id
    } else {
        lowered = id.to_lowercase();
        &lowered
    };
    // The parts, each followed by a zero byte, hashed in one call: two million findings make
    // two million fingerprints.
    let mut buf = [0u8; 256];
    let mut n = 0;
    for part in ["b2bready/1", rule, kind, id] {
        match buf.get_mut(n..n + part.len() + 1) {
            Some(to) => to[..part.len()].copy_from_slice(part.as_bytes()),
            None => return digest_long(rule, kind, id),
        }
        n += part.len() + 1;
    }
    buf[n - id.len() - 1..n].make_ascii_lowercase();
    first_16(Sha256::digest(&buf[..n]).as_slice())
}

/// [`digest`] of parts too long to copy.
fn digest_long(rule: &str, kind: &str, id: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    for part in ["b2bready/1", rule, kind, &id.to_ascii_lowercase()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    first_16(h.finalize().as_slice())
}

fn first_16(hash: &[u8]) -> [u8; 16] {
    let mut out = [0; 16];
    out.copy_from_slice(&hash[..16]);
    out
}

fn digest_of(result: &Scan, f: &Finding) -> [u8; 16] {
    let rule = &result.rule(f).id;
    match f.row {
        Some(r) => digest(rule, "user", result.user_text(col::ID, r).unwrap_or("")),
        None => digest(rule, "tenant", result.tenant_id()),
    }
}

/// The fingerprint of one finding of this scan.
pub fn of(result: &Scan, f: &Finding) -> Fingerprint {
    let mut hex = [0; 32];
    crate::snapshot::lines::hex_into(&digest_of(result, f), &mut hex);
    Fingerprint(hex)
}

/// A fingerprint as it is written: 32 lower-case hex digits, held in place (a scan writes
/// millions of them).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Deserialize)]
struct File<'a> {
    schema: Cow<'a, str>,
    #[serde(rename = "generatedAt")]
    generated_at: Option<String>,
    #[serde(borrow)]
    tenant: Tenant<'a>,
    #[serde(borrow, default)]
    findings: Vec<OldFinding<'a>>,
}

#[derive(Deserialize)]
struct Tenant<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct OldFinding<'a> {
    #[serde(borrow)]
    rule: Cow<'a, str>,
    #[serde(borrow)]
    subject: OldSubject<'a>,
    /// Whether an exception accepted it then.
    #[serde(default)]
    accepted: bool,
}

#[derive(Deserialize)]
struct OldSubject<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "userPrincipalName", borrow)]
    user_principal_name: Option<Text<'a>>,
}

/// Compares this scan with the baseline at `path`: sets each finding's change and lists what
/// was resolved.
pub fn compare(
    result: &Scan,
    findings: &mut [Finding],
    path: &Path,
) -> Result<Baseline, BaselineError> {
    let bytes =
        crate::files::read_bounded(path, BASELINE_LIMIT).map_err(|source| BaselineError::Read {
            path: path.to_owned(),
            source,
        })?;
    let file: File = serde_json::from_slice(&bytes).map_err(|e| BaselineError::Format {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if file.schema != SCHEMA {
        return Err(BaselineError::Format {
            path: path.to_owned(),
            message: format!("its schema is {:?}, expected {SCHEMA:?}", file.schema),
        });
    }
    let current = result.tenant_id().to_owned();
    if !file.tenant.id.eq_ignore_ascii_case(&current) {
        return Err(BaselineError::OtherTenant {
            path: path.to_owned(),
            baseline: file.tenant.id.into_owned(),
            current,
        });
    }
    let old: Vec<([u8; 16], &OldFinding)> = file
        .findings
        .par_iter()
        .map(|f| (digest(&f.rule, &f.subject.kind, &f.subject.id), f))
        .collect();
    // Fingerprint → whether the baseline had it only because an exception accepted it.
    let known: std::collections::HashMap<[u8; 16], bool> =
        old.iter().map(|(fp, f)| (*fp, f.accepted)).collect();
    let mut seen = HashSet::with_capacity(findings.len());
    let marks: Vec<([u8; 16], Change)> = findings
        .par_iter()
        .map(|f| {
            let fp = digest_of(result, f);
            let change = match known.get(&fp) {
                None => Change::New,
                Some(false) => Change::Unchanged,
                Some(true) => Change::UnchangedAccepted,
            };
            (fp, change)
        })
        .collect();
    for (f, (fp, change)) in findings.iter_mut().zip(marks) {
        f.change = change;
        seen.insert(fp);
    }
    // A rule that could not run this time (or is switched off) says nothing about whether
    // its old findings are gone.
    let ran: HashSet<&str> = result
        .registry
        .rules
        .iter()
        .zip(&result.outcomes)
        .filter(|(_, o)| o.not_evaluated.is_none())
        .map(|(r, _)| r.id.as_str())
        .collect();
    let mut baseline = Baseline {
        path: path.to_owned(),
        generated_at: file.generated_at.clone(),
        ..Baseline::default()
    };
    let mut listed = HashSet::new();
    for (fp, f) in &old {
        if seen.contains(fp) || !listed.insert(*fp) {
            continue;
        }
        if !ran.contains(f.rule.as_ref()) {
            baseline.unverified += 1;
            continue;
        }
        baseline.resolved.push(Resolved {
            rule: f.rule.clone().into_owned(),
            kind: f.subject.kind.clone().into_owned(),
            id: f.subject.id.clone().into_owned(),
            user_principal_name: f.subject.user_principal_name.as_deref().map(str::to_owned),
            fingerprint: crate::snapshot::lines::hex(fp),
        });
    }
    baseline
        .resolved
        .sort_by(|a, b| (&a.rule, &a.kind, &a.id).cmp(&(&b.rule, &b.kind, &b.id)));
    Ok(baseline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_the_case_of_the_subject() {
        let a = fingerprint("mail-missing", "user", "AB12-cd");
        assert_eq!(a, fingerprint("mail-missing", "user", "ab12-CD"));
        assert_ne!(a, fingerprint("mail-invalid", "user", "ab12-cd"));
        assert_ne!(a, fingerprint("mail-missing", "tenant", "ab12-cd"));
        assert_eq!(a.len(), 32);
        // Pinned: a baseline written by an earlier version still matches.
        assert_eq!(a, "afbf1ffa2791956065edb2096950f09f");
        assert_eq!(
            fingerprint("mail-missing", "user", "ÄB12"),
            fingerprint("mail-missing", "user", "äb12")
        );
        // Only the subject is lower-cased, never the rule; a subject too long to copy whole
        // hashes as a short one would.
        let custom = fingerprint("Custom-Rule", "user", "AB12-cd");
        assert_eq!(custom, "c8f4b1db6d7f8adae15c1d40cc8e6398");
        assert_eq!(
            fingerprint("mail-missing", "user", &"X".repeat(300)),
            "6bc3662aa3c9e346ef371fd25020034e"
        );
    }
}

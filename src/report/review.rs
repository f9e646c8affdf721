//! The review block of `findings.json` (and of `report.html`): the gate, its counts, the
//! exceptions with how they fared, the baseline, and the findings the baseline had that are
//! gone.

use serde::Serialize;

use super::json::SubjectDto;
use crate::scan::ScanResult;
use crate::scan::baseline::Resolved;
use crate::scan::exceptions::ExceptionUse;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewDto<'a> {
    pub config: Option<String>,
    pub fail_on: &'static str,
    pub fail_on_not_evaluated: bool,
    pub passed: bool,
    pub reasons: Vec<String>,
    #[serde(flatten)]
    pub counts: &'a crate::scan::review::Counts,
    pub disabled_rules: &'a [String],
    pub exceptions: Vec<ExceptionDto<'a>>,
    pub exceptions_ignored: usize,
    pub baseline: Option<BaselineDto<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionDto<'a> {
    pub rule: &'a str,
    pub subject: &'a str,
    pub reason: &'a str,
    pub owner: Option<&'a str>,
    pub expires: Option<String>,
    pub line: usize,
    pub expired: bool,
    pub matched: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BaselineDto<'a> {
    pub path: String,
    pub generated_at: Option<&'a str>,
    pub unverified: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedDto<'a> {
    pub rule: &'a str,
    pub subject: SubjectDto<'a>,
    pub fingerprint: &'a str,
}

pub fn exception(e: &ExceptionUse) -> ExceptionDto<'_> {
    let x = &e.exception;
    ExceptionDto {
        rule: &x.rule,
        subject: x.subject.as_str(),
        reason: &x.reason,
        owner: x.owner.as_deref(),
        expires: x.expires.map(|d| d.to_string()),
        line: x.line,
        expired: e.expired,
        matched: e.matched,
    }
}

pub fn review(result: &ScanResult) -> ReviewDto<'_> {
    let r = &result.review;
    ReviewDto {
        config: r.config.as_ref().map(|p| p.display().to_string()),
        fail_on: result.fail_on_label(),
        fail_on_not_evaluated: r.fail_on_not_evaluated,
        passed: result.exit_code() == 0,
        reasons: result.gate_reasons(),
        counts: &r.counts,
        disabled_rules: &r.disabled,
        exceptions: r.exceptions.iter().map(exception).collect(),
        exceptions_ignored: r.exceptions_ignored,
        baseline: r.baseline.as_ref().map(|b| BaselineDto {
            path: b.path.display().to_string(),
            generated_at: b.generated_at.as_deref(),
            unverified: b.unverified,
        }),
    }
}

pub fn resolved_dto(r: &Resolved) -> ResolvedDto<'_> {
    ResolvedDto {
        rule: &r.rule,
        subject: SubjectDto {
            kind: if r.kind == "tenant" { "tenant" } else { "user" },
            id: &r.id,
            user_principal_name: r.user_principal_name.as_deref(),
            mail: None,
        },
        fingerprint: &r.fingerprint,
    }
}

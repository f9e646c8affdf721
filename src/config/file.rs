//! The text of `b2bready.toml`: its keys as TOML gives them, with their spans, checked and
//! turned into a `Config` with line numbers in every error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{Config, ConfigError, RuleOverride};
use crate::model::Severity;
use crate::model::{FailOn, ScopeChoice};
use crate::scan::exceptions::{Exception, Subject};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    scope: Option<Spanned<ScopeChoice>>,
    scope_file: Option<Spanned<String>>,
    scope_where: Option<Spanned<String>>,
    external_identities: Option<Spanned<String>>,
    mau_billing: Option<bool>,
    redact: Option<bool>,
    redact_keep_domains: Option<bool>,
    fail_on: Option<FailOn>,
    fail_on_not_evaluated: Option<bool>,
    #[serde(default)]
    rule_folders: Vec<Spanned<String>>,
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, RuleSetting>,
    #[serde(default)]
    exception: Vec<Spanned<ExceptionFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSetting {
    #[serde(default)]
    disable: bool,
    severity: Option<Severity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionFile {
    rule: String,
    subject: String,
    reason: String,
    owner: Option<String>,
    expires: Option<Spanned<DateValue>>,
}

/// `expires = 2027-03-31` (a TOML date) or `expires = "2027-03-31"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum DateValue {
    Toml(toml::value::Datetime),
    Text(String),
}

/// Where each line of the file starts, to turn byte offsets into line numbers in
/// logarithmic time: a config of many thousands of exceptions loads in linear time.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        LineIndex(starts)
    }

    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset)
    }
}

/// A path written in a config file: relative, and never leaving the config's folder, so a
/// config that arrives in a pull request cannot make a scan read (and quote) any file on the
/// machine. Paths outside it are given on the command line instead.
fn confined(text: &str) -> Result<&Path, String> {
    use std::path::Component;
    let path = Path::new(text);
    let escapes = path
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if text.trim().is_empty() || escapes {
        return Err(format!(
            "{text:?} must be a path inside the config file's folder (no absolute path, no ..); give other files on the command line"
        ));
    }
    Ok(path)
}

/// Findings keep the index of the exception that matched them in 16 bits.
const MAX_EXCEPTIONS: usize = u16::MAX as usize;

impl Config {
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let invalid = |line: usize, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line,
            message,
        };
        let lines = LineIndex::new(text);
        let line_of = |_: &str, offset: usize| lines.line(offset);
        let file: ConfigFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            invalid(line, crate::rules::one_line(e.message()))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Spanned<String>| -> Result<PathBuf, ConfigError> {
            let at = line_of(text, p.span().start);
            let joined = confined(p.get_ref())
                .map(|p| base.join(p))
                .map_err(|m| invalid(at, m))?;
            // A link inside the folder must not lead out of it either.
            let folder = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base
            };
            if let (Ok(real), Ok(real_base)) = (joined.canonicalize(), folder.canonicalize())
                && !real.starts_with(&real_base)
            {
                return Err(invalid(
                    at,
                    format!(
                        "{:?} leads outside the config file's folder through a link; give it on the command line instead",
                        p.get_ref()
                    ),
                ));
            }
            Ok(joined)
        };
        check_scope(&file, &lines).map_err(|(line, m)| invalid(line, m))?;
        let rules = file
            .rules
            .into_iter()
            .map(|(id, setting)| RuleOverride {
                line: line_of(text, id.span().start),
                id: id.into_inner(),
                disable: setting.disable,
                severity: setting.severity,
            })
            .collect();
        if file.exception.len() > MAX_EXCEPTIONS {
            return Err(invalid(
                1,
                format!(
                    "{} exceptions: at most {MAX_EXCEPTIONS} are allowed; accept whole rules with [rules.ID] severity or disable instead",
                    file.exception.len()
                ),
            ));
        }
        let exceptions = file
            .exception
            .into_iter()
            .map(|e| exception(e, &lines).map_err(|(line, m)| invalid(line, m)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            path: path.to_owned(),
            scope: file.scope.map(Spanned::into_inner),
            scope_file: file.scope_file.as_ref().map(resolve).transpose()?,
            scope_where: file.scope_where.map(Spanned::into_inner),
            external_identities: file.external_identities.as_ref().map(resolve).transpose()?,
            mau_billing: file.mau_billing,
            redact: file.redact,
            redact_keep_domains: file.redact_keep_domains,
            fail_on: file.fail_on,
            fail_on_not_evaluated: file.fail_on_not_evaluated,
            rule_folders: file
                .rule_folders
                .iter()
                .map(resolve)
                .collect::<Result<_, _>>()?,
            rules,
            exceptions,
        })
    }
}

/// At most one of scope, scope-file and scope-where, and a scope condition that compiles.
fn check_scope(file: &ConfigFile, lines: &LineIndex) -> Result<(), (usize, String)> {
    if let (Some(_), Some(file_scope)) = (&file.scope, &file.scope_file) {
        return Err((
            lines.line(file_scope.span().start),
            "scope and scope-file cannot both be set: scope-file already names the accounts".into(),
        ));
    }
    if let Some(condition) = &file.scope_where {
        let at = lines.line(condition.span().start);
        if file.scope.is_some() || file.scope_file.is_some() {
            return Err((
                at,
                "scope-where cannot be set with scope or scope-file: it already chooses the accounts"
                    .into(),
            ));
        }
        crate::rules::compile_scope(condition.get_ref())
            .map(drop)
            .map_err(|m| (at, format!("scope-where: {m}")))?;
    }
    Ok(())
}

/// One `[[exception]]`, with its line: a reason and a subject are required, `expires` must be
/// a date.
fn exception(
    spanned: Spanned<ExceptionFile>,
    lines: &LineIndex,
) -> Result<Exception, (usize, String)> {
    let line = lines.line(spanned.span().start);
    let e = spanned.into_inner();
    if e.reason.trim().is_empty() {
        return Err((line, "an exception needs a reason".into()));
    }
    if e.subject.trim().is_empty() {
        return Err((
            line,
            "an exception needs a subject: a user id, a userPrincipalName, or \"tenant\"".into(),
        ));
    }
    let expires = match e.expires {
        None => None,
        Some(d) => {
            let at = lines.line(d.span().start);
            Some(parse_date(d.into_inner()).map_err(|m| (at, m))?)
        }
    };
    Ok(Exception {
        rule: e.rule,
        subject: Subject::parse(&e.subject),
        reason: e.reason,
        owner: e.owner.filter(|o| !o.trim().is_empty()),
        expires,
        line,
    })
}

fn parse_date(value: DateValue) -> Result<jiff::civil::Date, String> {
    let text = match value {
        DateValue::Toml(dt) if dt.time.is_none() && dt.offset.is_none() => dt.to_string(),
        DateValue::Toml(dt) => {
            return Err(format!(
                "expires must be a date such as 2027-03-31, not the date and time {dt}"
            ));
        }
        DateValue::Text(s) => s,
    };
    text.trim()
        .parse::<jiff::civil::Date>()
        .map_err(|_| format!("expires {text:?} is not a date such as 2027-03-31"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("ci/b2bready.toml"), text)
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let err = parse("scope = \"all\"\n\nfail-of = \"warning\"\n")
            .expect_err("unknown key")
            .to_string();
        assert!(err.starts_with("ci/b2bready.toml:3: "), "{err}");
        assert!(err.contains("fail-of"), "{err}");
        let err = parse("[[exception]]\nrule = \"x\"\nsubject = \"tenant\"\nreason = \"r\"\nexpiry = 2027-01-01\n")
            .expect_err("unknown key in an exception")
            .to_string();
        assert!(err.contains(":5: ") && err.contains("expiry"), "{err}");
    }

    #[test]
    fn relative_paths_are_taken_from_the_file_folder() {
        let c = parse("external-identities = \"ids.csv\"\nrule-folders = [\"rules\"]\n")
            .expect("valid");
        assert_eq!(c.external_identities, Some(PathBuf::from("ci/ids.csv")));
        assert_eq!(c.rule_folders, vec![PathBuf::from("ci/rules")]);
    }

    #[test]
    fn exception_dates_accept_toml_dates_and_strings_only() {
        let base = "[[exception]]\nrule = \"x\"\nsubject = \"tenant\"\nreason = \"r\"\n";
        for ok in ["expires = 2027-03-31", "expires = \"2027-03-31\""] {
            let c = parse(&format!("{base}{ok}\n")).expect(ok);
            assert_eq!(
                c.exceptions[0].expires.map(|d| d.to_string()).as_deref(),
                Some("2027-03-31")
            );
        }
        for bad in ["expires = 2027-03-31T10:00:00Z", "expires = \"next year\""] {
            let err = parse(&format!("{base}{bad}\n")).expect_err(bad).to_string();
            assert!(err.contains(":5: expires"), "{err}");
        }
        let err = parse("[[exception]]\nrule = \"x\"\nsubject = \"tenant\"\nreason = \"  \"\n")
            .expect_err("empty reason")
            .to_string();
        assert!(err.contains(":1: an exception needs a reason"), "{err}");
    }
}

//! `b2bready.toml`: what a team keeps next to its pipeline (scope, rule overrides, accepted
//! exceptions), so the nightly command line stays short. Flags on the command line win over it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::model::Severity;
use crate::model::{FailOn, ScopeChoice};
use crate::rules::Registry;
use crate::scan::exceptions::{Exception, Subject};

/// A config of the most exceptions allowed stays well below this.
const CONFIG_LIMIT: u64 = 64 * crate::files::MIB;

/// The file looked for in the working directory when `--config` is not given.
pub const FILE_NAME: &str = "b2bready.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl ConfigError {
    pub fn help(&self) -> Option<String> {
        match self {
            ConfigError::Read { .. } => Some(
                "check the path; scan and plan take --config FILE, or --no-config to use none"
                    .into(),
            ),
            ConfigError::Invalid { .. } => Some(
                "fix the file and check it with `b2bready config check`; the README lists every key"
                    .into(),
            ),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    scope: Option<Spanned<ScopeChoice>>,
    scope_file: Option<Spanned<String>>,
    scope_where: Option<Spanned<String>>,
    external_identities: Option<Spanned<String>>,
    mau_billing: Option<bool>,
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

/// A rule's severity changed, or the rule switched off.
#[derive(Debug, Clone)]
pub struct RuleOverride {
    pub id: String,
    pub line: usize,
    pub disable: bool,
    pub severity: Option<Severity>,
}

/// A loaded config file; relative paths in it are taken from the file's folder.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub path: PathBuf,
    pub scope: Option<ScopeChoice>,
    pub scope_file: Option<PathBuf>,
    /// A condition selecting the accounts to judge, checked when the file is read.
    pub scope_where: Option<String>,
    pub external_identities: Option<PathBuf>,
    pub mau_billing: Option<bool>,
    pub fail_on: Option<FailOn>,
    pub fail_on_not_evaluated: Option<bool>,
    pub rule_folders: Vec<PathBuf>,
    pub rules: Vec<RuleOverride>,
    pub exceptions: Vec<Exception>,
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
    /// The config a command uses: `--config FILE`, none with `--no-config`, else
    /// `b2bready.toml` in the working directory when there is one.
    pub fn find(explicit: Option<&Path>, disabled: bool) -> Result<Option<Config>, ConfigError> {
        match explicit {
            Some(path) => Config::load(path).map(Some),
            None if disabled => Ok(None),
            None => {
                let path = Path::new(FILE_NAME);
                if path.is_file() {
                    Config::load(path).map(Some)
                } else {
                    Ok(None)
                }
            }
        }
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            crate::files::read_text(path, CONFIG_LIMIT).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
        Config::parse(path, &text)
    }

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
        if let (Some(_), Some(file_scope)) = (&file.scope, &file.scope_file) {
            return Err(invalid(
                line_of(text, file_scope.span().start),
                "scope and scope-file cannot both be set: scope-file already names the accounts"
                    .into(),
            ));
        }
        if let Some(condition) = &file.scope_where {
            let at = line_of(text, condition.span().start);
            if file.scope.is_some() || file.scope_file.is_some() {
                return Err(invalid(
                    at,
                    "scope-where cannot be set with scope or scope-file: it already chooses the accounts"
                        .into(),
                ));
            }
            crate::rules::compile_scope(condition.get_ref())
                .map(drop)
                .map_err(|m| invalid(at, format!("scope-where: {m}")))?;
        }
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
        let mut exceptions = Vec::with_capacity(file.exception.len());
        for spanned in file.exception {
            let line = line_of(text, spanned.span().start);
            let e = spanned.into_inner();
            if e.reason.trim().is_empty() {
                return Err(invalid(line, "an exception needs a reason".into()));
            }
            if e.subject.trim().is_empty() {
                return Err(invalid(
                    line,
                    "an exception needs a subject: a user id, a userPrincipalName, or \"tenant\""
                        .into(),
                ));
            }
            let expires = match e.expires {
                None => None,
                Some(d) => {
                    let at = line_of(text, d.span().start);
                    Some(parse_date(d.into_inner()).map_err(|m| invalid(at, m))?)
                }
            };
            exceptions.push(Exception {
                rule: e.rule,
                subject: Subject::parse(&e.subject),
                reason: e.reason,
                owner: e.owner.filter(|o| !o.trim().is_empty()),
                expires,
                line,
            });
        }
        Ok(Config {
            path: path.to_owned(),
            scope: file.scope.map(Spanned::into_inner),
            scope_file: file.scope_file.as_ref().map(resolve).transpose()?,
            scope_where: file.scope_where.map(Spanned::into_inner),
            external_identities: file.external_identities.as_ref().map(resolve).transpose()?,
            mau_billing: file.mau_billing,
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

    /// Rule ids in `[rules.ID]` and in exceptions must name a loaded rule: a typo would
    /// otherwise silently override or accept nothing.
    pub fn check_rules(&self, registry: &Registry) -> Result<(), ConfigError> {
        let unknown = |line: usize, id: &str, what: &str| ConfigError::Invalid {
            path: self.path.clone(),
            line,
            message: format!(
                "{what} names the rule {id:?}, which is not a known rule (`b2bready rules list` shows them)"
            ),
        };
        for o in &self.rules {
            if registry.get(&o.id).is_none() {
                return Err(unknown(o.line, &o.id, "[rules]"));
            }
        }
        for e in &self.exceptions {
            if registry.get(&e.rule).is_none() {
                return Err(unknown(e.line, &e.rule, "an exception"));
            }
        }
        Ok(())
    }
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

/// Applies `[rules.ID]` settings: a new severity replaces the rule's own (and its MAU-billing
/// severity), `disable = true` removes the rule. Returns the ids removed.
pub fn apply_rule_overrides(registry: &mut Registry, overrides: &[RuleOverride]) -> Vec<String> {
    let mut disabled = Vec::new();
    for o in overrides {
        if let Some(rule) = registry.rules.iter_mut().find(|r| r.id == o.id)
            && let Some(severity) = o.severity
        {
            rule.severity = severity;
            rule.mau_billing_severity = None;
        }
        if o.disable {
            disabled.push(o.id.clone());
        }
    }
    registry.rules.retain(|r| !disabled.contains(&r.id));
    disabled
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

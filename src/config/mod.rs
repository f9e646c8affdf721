//! `b2bready.toml`: what a team keeps next to its pipeline (scope, rule overrides, accepted
//! exceptions), so the nightly command line stays short. Flags on the command line win over it.
//! This module holds the loaded config and how it is found and applied; `file` reads and
//! checks the text.

mod file;

use std::path::{Path, PathBuf};

use crate::model::Severity;
use crate::model::{FailOn, ScopeChoice};
use crate::rules::Registry;
use crate::scan::exceptions::Exception;

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
    /// Replace identifiers in every output of `scan` and `diff` (`--redact`).
    pub redact: Option<bool>,
    pub redact_keep_domains: Option<bool>,
    pub fail_on: Option<FailOn>,
    pub fail_on_not_evaluated: Option<bool>,
    pub rule_folders: Vec<PathBuf>,
    pub rules: Vec<RuleOverride>,
    pub exceptions: Vec<Exception>,
}

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

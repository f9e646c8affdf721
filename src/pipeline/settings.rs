//! The settings of a scan: the flags a command was given merged with the config file, resolved
//! once. Flags win over the file, the file over the defaults. The rule that a plan never
//! weakens a blocker lives here, where rule overrides are applied.

use std::path::PathBuf;

use clap::Args;

use crate::config::{self, Config, ConfigError};
use crate::model::{FailOn, ScopeChoice, Severity};
use crate::rules::{Registry, RuleLoadError};
use crate::scan::inputs::{self, InputError};
use crate::scan::review::ReviewInputs;
use crate::scan::{ScanOptions, Scope};

/// What to scan and how: shared by `scan` and `plan`, so a plan and its report can never
/// disagree.
#[derive(Debug, Clone, Default, Args)]
pub struct ScanFlags {
    /// The config file [default: b2bready.toml in the working directory, when present].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Use no config file, even when b2bready.toml is present.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// A folder of extra rule files (*.toml), in addition to the built-in rules and the
    /// config's rule-folders. Repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Which internal accounts to judge [default: likely-guests].
    #[arg(long, value_enum)]
    pub scope: Option<ScopeChoice>,
    /// Judge exactly the accounts listed in this CSV (object ids or UPNs, first column).
    #[arg(long, value_name = "FILE", conflicts_with = "scope")]
    pub scope_file: Option<PathBuf>,
    /// Judge the internal accounts this condition selects, in the rule condition dialect over
    /// the account columns the reader fills plus mail_domain and mail_domain_verified, e.g.
    /// "employee_type = 'Vendor' OR company_name <> 'Contoso Ltd'".
    #[arg(long, value_name = "SQL", conflicts_with_all = ["scope", "scope_file"])]
    pub scope_where: Option<String>,
    /// CSV with columns user (id or UPN) and externalEmail (the address the person will sign
    /// in with): adds the accounts to the scope and feeds the address comparison rules.
    #[arg(long, value_name = "FILE")]
    pub external_identities: Option<PathBuf>,
    /// The customer wants MAU billing: raises member-keeps-member-billing to warning and
    /// mau-subscription-missing to blocker.
    #[arg(long, overrides_with = "no_mau_billing")]
    pub mau_billing: bool,
    /// Judge without MAU billing even when the config file asks for it.
    #[arg(long)]
    pub no_mau_billing: bool,
    /// Scan a snapshot whose manifest says "complete": false.
    #[arg(long)]
    pub allow_incomplete: bool,
}

/// What decides the exit code of `scan`.
#[derive(Debug, Clone, Default, Args)]
pub struct ReviewFlags {
    /// Exit 1 when findings at or above this severity exist, unless accepted by an exception
    /// or, with --baseline, already known [default: blocker].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Also exit 1 when a rule could not be evaluated (an input collection was denied or
    /// unavailable).
    #[arg(long, overrides_with = "no_fail_on_not_evaluated")]
    pub fail_on_not_evaluated: bool,
    /// Do not fail for rules not evaluated, even when the config file asks to.
    #[arg(long)]
    pub no_fail_on_not_evaluated: bool,
    /// An earlier findings.json of the same tenant: marks each finding new or unchanged,
    /// lists the resolved ones, and only new findings fail the build.
    #[arg(long, value_name = "FINDINGS_JSON")]
    pub baseline: Option<PathBuf>,
    /// Ignore the config's accepted exceptions (an audit of everything).
    #[arg(long)]
    pub no_exceptions: bool,
}

/// Who the scan is for. A plan converts accounts, so it may not be weakened by the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A review: every override of the config applies.
    Review,
    /// An invitation plan (or a re-check of one): overrides that would switch off or lower a
    /// blocker are ignored, with a warning.
    Plan,
}

/// Which accounts to judge, before any file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeSetting {
    LikelyGuests,
    All,
    /// Exactly the accounts listed in this file.
    File(PathBuf),
    /// The accounts a condition selects.
    Where(String),
}

/// Everything a scan needs to know, resolved from the flags and the config file.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Option<Config>,
    /// The config's rule folders, then `--rules`.
    pub rule_folders: Vec<PathBuf>,
    pub scope: ScopeSetting,
    pub external_identities: Option<PathBuf>,
    pub mau_billing: bool,
    pub allow_incomplete: bool,
    pub review: ReviewInputs,
}

/// The rule set a scan runs, after the config's overrides.
pub struct Rules {
    pub registry: Registry,
    /// Rules the config switched off.
    pub disabled: Vec<String>,
    /// Overrides a plan ignored.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Rules(#[from] RuleLoadError),
    #[error(transparent)]
    Input(#[from] InputError),
}

impl Settings {
    /// Loads the config the flags point at (or `b2bready.toml` in the working directory) and
    /// merges it with the flags. `review` is `None` for a plan, which has no gate.
    pub fn resolve(flags: &ScanFlags, review: Option<&ReviewFlags>) -> Result<Self, ConfigError> {
        let config = Config::find(flags.config.as_deref(), flags.no_config)?;
        Ok(Self::merge(flags, review, config))
    }

    /// Merges flags with an already loaded config.
    pub fn merge(flags: &ScanFlags, review: Option<&ReviewFlags>, config: Option<Config>) -> Self {
        let c = config.as_ref();
        // A scope given by a flag wins over the config's, whichever kind either is.
        let flagged =
            flags.scope.is_some() || flags.scope_file.is_some() || flags.scope_where.is_some();
        let config_scope = c.filter(|_| !flagged);
        let scope_file = flags
            .scope_file
            .clone()
            .or(config_scope.and_then(|c| c.scope_file.clone()));
        let scope_where = flags
            .scope_where
            .clone()
            .or(config_scope.and_then(|c| c.scope_where.clone()));
        let scope = match (
            scope_file,
            scope_where,
            flags.scope.or(c.and_then(|c| c.scope)),
        ) {
            (Some(file), _, _) => ScopeSetting::File(file),
            (None, Some(condition), _) => ScopeSetting::Where(condition),
            (None, None, Some(ScopeChoice::All)) => ScopeSetting::All,
            (None, None, Some(ScopeChoice::LikelyGuests) | None) => ScopeSetting::LikelyGuests,
        };
        let mau_billing = !flags.no_mau_billing
            && (flags.mau_billing || c.and_then(|c| c.mau_billing).unwrap_or(false));
        let mut rule_folders: Vec<PathBuf> = c.map(|c| c.rule_folders.clone()).unwrap_or_default();
        rule_folders.extend(flags.rules.iter().cloned());
        let review = match review {
            Some(r) => review_inputs(r, c),
            None => ReviewInputs {
                config: c.map(|c| c.path.clone()),
                ..ReviewInputs::default()
            },
        };
        Settings {
            external_identities: flags
                .external_identities
                .clone()
                .or(c.and_then(|c| c.external_identities.clone())),
            rule_folders,
            scope,
            mau_billing,
            allow_incomplete: flags.allow_incomplete,
            review,
            config,
        }
    }

    /// The built-in rules, the rule folders, and the config's overrides. For a plan,
    /// overrides that would switch off or lower a blocker are left out, with a warning: a plan
    /// must never convert an account that a blocker stops.
    pub fn rules(&self, purpose: Purpose) -> Result<Rules, SettingsError> {
        let mut registry = Registry::load(&self.rule_folders)?;
        let Some(c) = &self.config else {
            return Ok(Rules {
                registry,
                disabled: Vec::new(),
                warnings: Vec::new(),
            });
        };
        c.check_rules(&registry)?;
        let mut warnings = Vec::new();
        let overrides: Vec<_> = c
            .rules
            .iter()
            .filter(|o| {
                let blocker = registry.get(&o.id).is_some_and(|r| {
                    r.severity == Severity::Blocker
                        || r.mau_billing_severity == Some(Severity::Blocker)
                });
                let weakens = o.disable || o.severity.is_some_and(|s| s < Severity::Blocker);
                let skip = purpose == Purpose::Plan && blocker && weakens;
                if skip {
                    warnings.push(format!(
                        "the plan ignores [rules.{}] of {}: it would let accounts a blocker stops into the plan",
                        o.id,
                        c.path.display()
                    ));
                }
                !skip
            })
            .cloned()
            .collect();
        let disabled = config::apply_rule_overrides(&mut registry, &overrides);
        Ok(Rules {
            registry,
            disabled,
            warnings,
        })
    }

    /// The options of the evaluation; reads the scope file.
    pub fn scan_options(&self) -> Result<ScanOptions, InputError> {
        let scope = match &self.scope {
            ScopeSetting::File(file) => Scope::Listed(inputs::read_scope_file(file)?),
            ScopeSetting::All => Scope::All,
            ScopeSetting::LikelyGuests => Scope::LikelyGuests,
            ScopeSetting::Where(condition) => Scope::Where {
                expr: crate::rules::compile_scope(condition).map_err(|message| InputError {
                    path: "--scope-where".into(),
                    message,
                })?,
                condition: condition.clone(),
            },
        };
        Ok(ScanOptions {
            scope,
            external_identities: self.external_identities.clone(),
            mau_billing: self.mau_billing,
            allow_incomplete: self.allow_incomplete,
        })
    }
}

/// Threshold, exceptions and baseline: flags first, then the config file.
fn review_inputs(flags: &ReviewFlags, config: Option<&Config>) -> ReviewInputs {
    let fail_on = flags
        .fail_on
        .or(config.and_then(|c| c.fail_on))
        .unwrap_or(FailOn::Blocker);
    let listed = config.map(|c| c.exceptions.clone()).unwrap_or_default();
    let (exceptions, exceptions_ignored) = if flags.no_exceptions {
        (Vec::new(), listed.len())
    } else {
        (listed, 0)
    };
    ReviewInputs {
        config: config.map(|c| c.path.clone()),
        disabled: Vec::new(),
        exceptions,
        exceptions_ignored,
        today: None,
        baseline: flags.baseline.clone(),
        threshold: fail_on.threshold(),
        fail_on_not_evaluated: !flags.no_fail_on_not_evaluated
            && (flags.fail_on_not_evaluated
                || config
                    .and_then(|c| c.fail_on_not_evaluated)
                    .unwrap_or(false)),
    }
}

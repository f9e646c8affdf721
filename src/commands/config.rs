//! `b2bready config check`: everything a scan would refuse in a config file, found before the
//! nightly run does.

use std::io::Write;
use std::path::Path;

use tabled::builder::Builder;
use tabled::settings::Style;

use super::stdout_error;
use crate::config::{self, Config};
use crate::error::Error;
use crate::rules::Registry;
use crate::scan::{exceptions, inputs};

pub fn check(file: Option<&Path>, extra_rules: &[std::path::PathBuf]) -> Result<u8, Error> {
    let path = file.unwrap_or(Path::new(config::FILE_NAME));
    let config = Config::load(path)?;
    let mut dirs = config.rule_folders.clone();
    dirs.extend(extra_rules.iter().cloned());
    let mut registry = Registry::load(&dirs)?;
    config.check_rules(&registry)?;
    if let Some(p) = &config.scope_file {
        inputs::read_scope_file(p)?;
    }
    if let Some(p) = &config.external_identities {
        inputs::read_external_identities(p)?;
    }
    let disabled = config::apply_rule_overrides(&mut registry, &config.rules);
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| writeln!(out, "{line}").map_err(stdout_error);
    say(format!(
        "{}: valid; {} rules ({} disabled, {} with another severity), {} exceptions",
        config.path.display(),
        registry.rules.len(),
        disabled.len(),
        config.rules.iter().filter(|o| o.severity.is_some()).count(),
        config.exceptions.len()
    ))?;
    if !config.exceptions.is_empty() {
        let today = exceptions::today();
        let mut b = Builder::default();
        b.push_record(["line", "rule", "subject", "owner", "expires", "status"]);
        for e in &config.exceptions {
            let status = match e.expires {
                Some(d) if d < today => "expired: accepts nothing".to_owned(),
                Some(d) => {
                    let days = (d - today).get_days();
                    format!(
                        "holds for {} more day{}",
                        days + 1,
                        if days == 0 { "" } else { "s" }
                    )
                }
                None => "holds, no expiry".to_owned(),
            };
            b.push_record([
                e.line.to_string(),
                e.rule.clone(),
                crate::report::table::printable(e.subject.as_str()),
                crate::report::table::printable(e.owner.as_deref().unwrap_or("(none)")),
                e.expires
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "never".into()),
                status,
            ]);
        }
        let mut t = b.build();
        t.with(Style::rounded());
        say(t.to_string())?;
        let expired = config
            .exceptions
            .iter()
            .filter(|e| e.expires.is_some_and(|d| d < today))
            .count();
        if expired > 0 {
            say(format!(
                "{expired} exception{} expired: a scan fails on the findings {} accepted that are at or above --fail-on, unless another exception accepts them",
                if expired == 1 { " has" } else { "s have" },
                if expired == 1 { "it" } else { "they" }
            ))?;
        }
    }
    Ok(0)
}

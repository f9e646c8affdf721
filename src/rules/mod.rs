//! Rules are data: one TOML file each, embedded at build time, plus a user's own folders.
//! This module loads and checks them; it never evaluates them (that is `scan::engine`).

pub(crate) mod condition;
mod files;
pub(crate) mod guard;
mod template;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use polars::prelude::{DataType, Expr, IntoLazy, lit};
use serde::Deserialize;

pub use template::Template;

use crate::model::{ColumnDef, Severity, Table, tenant, user};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// The inputs a rule may need besides snapshot collections.
pub const EXTERNAL_IDENTITIES: &str = "external-identities";

#[derive(Debug, thiserror::Error)]
#[error("rule file {path}: {message}")]
pub struct RuleLoadError {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    User,
    Tenant,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::User => "user",
            Target::Tenant => "tenant",
        }
    }

    pub fn schema(self) -> &'static [ColumnDef] {
        match self {
            Target::User => user::COLUMNS,
            Target::Tenant => tenant::COLUMNS,
        }
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Docs {
    pub what: String,
    pub why: String,
    pub remediation: String,
    #[serde(default)]
    pub references: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RuleFile {
    id: String,
    title: String,
    target: Target,
    severity: Severity,
    mau_billing_severity: Option<Severity>,
    needs: Vec<String>,
    condition: String,
    message: String,
    #[serde(default)]
    evidence: Vec<String>,
    docs: Docs,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub target: Target,
    pub severity: Severity,
    pub mau_billing_severity: Option<Severity>,
    pub needs: Vec<String>,
    pub condition: String,
    pub expr: Expr,
    pub message: Template,
    /// Evidence columns: name and index in the target table.
    pub evidence: Vec<(String, usize)>,
    pub docs: Docs,
    /// Where the rule came from: `rules/…` for built-in rules, a path for a user's own.
    pub source: String,
}

impl Rule {
    /// The severity this scan applies.
    pub fn severity_for(&self, mau_billing: bool) -> Severity {
        match (mau_billing, self.mau_billing_severity) {
            (true, Some(s)) => s,
            _ => self.severity,
        }
    }

    pub fn builtin(&self) -> bool {
        self.source.starts_with("rules/")
    }

    /// The folder the rule file sits in: `rules/identity/x.toml` → `identity`.
    pub fn area(&self) -> &str {
        let mut parts = self.source.rsplit(['/', '\\']);
        parts.next();
        parts.next().unwrap_or("custom")
    }
}

/// Every rule of a scan, sorted by id.
#[derive(Debug, Clone)]
pub struct Registry {
    pub rules: Vec<Rule>,
}

impl Registry {
    /// A digest of what decides verdicts: each rule's id, target, severity (as this scan
    /// applies it), needs and condition, in rule order. A plan records it, so the accounts it
    /// holds are re-checked with the rule set that found them ready.
    pub fn digest(&self, mau_billing: bool) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for r in &self.rules {
            let line = serde_json::json!([
                r.id,
                format!("{:?}", r.target),
                r.severity_for(mau_billing),
                r.needs,
                r.condition
            ]);
            hasher.update(line.to_string().as_bytes());
            hasher.update(b"\n");
        }
        crate::snapshot::lines::hex(&hasher.finalize())
    }

    /// The built-in rules plus every `*.toml` below each of `dirs`. A folder (or file) reached
    /// twice, through repeated flags, the config, or nesting, is read once.
    pub fn load(dirs: &[PathBuf]) -> Result<Self, RuleLoadError> {
        let mut sources: Vec<(String, String)> = builtin::BUILTIN_RULES
            .iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect();
        let mut seen_dirs = HashSet::new();
        let mut seen_files = HashSet::new();
        for dir in dirs {
            let canonical = dir.canonicalize().map_err(|e| RuleLoadError {
                path: dir.clone(),
                message: format!("cannot read the rules folder: {e}"),
            })?;
            if !seen_dirs.insert(canonical) {
                continue;
            }
            let mut found = Vec::new();
            files::walk(dir, 0, &mut found)?;
            found.sort();
            for f in found {
                let canonical = f.canonicalize().map_err(|e| RuleLoadError {
                    path: f.clone(),
                    message: format!("cannot read the file: {e}"),
                })?;
                if !seen_files.insert(canonical) {
                    continue;
                }
                let text = files::read_rule_file(&f)?;
                sources.push((f.display().to_string(), text));
            }
        }
        let mut by_id: BTreeMap<String, Rule> = BTreeMap::new();
        for (source, text) in sources {
            let rule = parse_rule(&source, &text)?;
            if let Some(other) = by_id.get(&rule.id) {
                return Err(RuleLoadError {
                    path: source.into(),
                    message: format!("rule id {} is already defined by {}", rule.id, other.source),
                });
            }
            by_id.insert(rule.id.clone(), rule);
        }
        Ok(Self {
            rules: by_id.into_values().collect(),
        })
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn known_input(name: &str) -> bool {
    name == EXTERNAL_IDENTITIES || crate::snapshot::manifest::COLLECTIONS.contains(&name)
}

pub fn parse_rule(source: &str, text: &str) -> Result<Rule, RuleLoadError> {
    let err = |message: String| RuleLoadError {
        path: source.into(),
        message,
    };
    let file: RuleFile = toml::from_str(text).map_err(|e| err(toml_error(text, &e)))?;
    if !is_kebab(&file.id) {
        return Err(err(format!("id {:?} is not kebab-case", file.id)));
    }
    let stem = Path::new(source).file_stem().and_then(|s| s.to_str());
    if stem != Some(file.id.as_str()) {
        return Err(err(format!("id {:?} must match the file name", file.id)));
    }
    if file.title.is_empty()
        || file.title.ends_with('.')
        || file.title.chars().next().is_some_and(char::is_uppercase)
    {
        return Err(err(
            "title must be lower-case and have no trailing period".into()
        ));
    }
    if let Some(unknown) = file.needs.iter().find(|n| !known_input(n)) {
        return Err(err(format!("needs names an unknown input {unknown:?}")));
    }
    for (field, text) in [
        ("what", &file.docs.what),
        ("why", &file.docs.why),
        ("remediation", &file.docs.remediation),
    ] {
        if text.trim().is_empty() {
            return Err(err(format!("docs.{field} is empty")));
        }
    }
    let schema = file.target.schema();
    let expr = compile_condition(&file.condition, schema).map_err(err)?;
    let message =
        Template::parse(&file.message, schema).map_err(|m| err(format!("message: {m}")))?;
    let evidence = file
        .evidence
        .iter()
        .map(|c| {
            schema
                .iter()
                .position(|d| d.name == c)
                .map(|i| (c.clone(), i))
                .ok_or_else(|| err(format!("evidence names an unknown column {c:?}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Rule {
        id: file.id,
        title: file.title,
        target: file.target,
        severity: file.severity,
        mau_billing_severity: file.mau_billing_severity,
        needs: file.needs,
        condition: file.condition,
        expr,
        message,
        evidence,
        docs: file.docs,
        source: source.into(),
    })
}

/// Checks the condition against the allowlist, then has polars compile it and run it on an
/// empty table of the target's schema, so an unknown column or a non-boolean expression fails
/// when the rule loads, not halfway through a scan. A panic inside polars is an error too.
fn compile_condition(condition: &str, schema: &'static [ColumnDef]) -> Result<Expr, String> {
    condition::check(condition, schema).map_err(|m| format!("condition: {m}"))?;
    let compiled = guard::quietly(|| {
        let expr = polars::sql::sql_expr(condition)
            .map_err(|e| format!("condition: {}", polars_message(&e)))?;
        let df = Table::empty_dataframe(schema).map_err(|e| e.to_string())?;
        let out = df
            .lazy()
            .select([expr.clone().alias("fires")])
            .collect()
            .map_err(|e| format!("condition: {}", polars_message(&e)))?;
        let dtype = out
            .column("fires")
            .map(|c| c.dtype().clone())
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((expr, dtype))
    });
    let (expr, dtype) = compiled.ok_or_else(|| format!("condition: {QUERY_ENGINE_FAILED}"))??;
    if dtype != DataType::Boolean && dtype != DataType::Null {
        return Err(format!("condition must be true or false, not {dtype}"));
    }
    Ok(expr.fill_null(lit(false)))
}

/// A `--scope-where` condition: the rule condition dialect over the columns the scope can
/// read (`user::SCOPE_COLUMNS`).
pub fn compile_scope(condition: &str) -> Result<Expr, String> {
    compile_condition(condition, user::SCOPE_COLUMNS)
}

/// What a rule's error says when polars panicked on its condition.
pub(crate) const QUERY_ENGINE_FAILED: &str =
    "polars failed unexpectedly on this condition (a bug in polars); write it another way";

/// A polars error on one line, without the query plan it may append, cut to 200 characters.
fn polars_message(e: &polars::prelude::PolarsError) -> String {
    let text = one_line(&e.to_string());
    let text = match text.find("Resolved plan until failure") {
        Some(i) => text[..i].trim_end().to_owned(),
        None => text,
    };
    condition::cut(&text, 200)
}

/// A TOML error as `line L, column C: message`, without the source line toml's own Display
/// quotes (the file could be anything a pull request points at).
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = condition::cut(&one_line(e.message()), 200);
    let Some(span) = e.span() else {
        return message;
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: {message}")
}

pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

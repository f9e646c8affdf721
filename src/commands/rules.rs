//! `b2bready rules list|explain|columns`, generated from the rule files.

use std::io::Write;
use std::path::PathBuf;

use tabled::builder::Builder;
use tabled::settings::Style;

use super::stdout_error;
use crate::error::Error;
use crate::model::{tenant, user};
use crate::rules::Registry;

pub fn list(dirs: &[PathBuf]) -> Result<u8, Error> {
    let registry = Registry::load(dirs)?;
    let mut b = Builder::default();
    b.push_record(["id", "severity", "target", "title"]);
    for r in &registry.rules {
        let severity = match r.mau_billing_severity {
            Some(m) => format!(
                "{} ({} with --mau-billing)",
                r.severity.as_str(),
                m.as_str()
            ),
            None => r.severity.as_str().to_owned(),
        };
        b.push_record([
            r.id.clone(),
            severity,
            r.target.as_str().into(),
            r.title.clone(),
        ]);
    }
    let mut t = b.build();
    t.with(Style::rounded());
    writeln!(std::io::stdout(), "{t}").map_err(stdout_error)?;
    Ok(0)
}

pub fn explain(id: &str, dirs: &[PathBuf]) -> Result<u8, Error> {
    let registry = Registry::load(dirs)?;
    let Some(r) = registry.get(id) else {
        let ids: Vec<&str> = registry.rules.iter().map(|r| r.id.as_str()).collect();
        return Err(Error::Usage(format!(
            "no rule has the id {id:?}; the rules are: {}",
            ids.join(", ")
        )));
    };
    let mut s = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(s, "{} ({})", r.id, r.title);
    let _ = writeln!(s);
    let _ = writeln!(s, "severity:   {}", r.severity.as_str());
    if let Some(m) = r.mau_billing_severity {
        let _ = writeln!(s, "            {} with --mau-billing", m.as_str());
    }
    let _ = writeln!(s, "applies to: {}", r.target.as_str());
    let _ = writeln!(
        s,
        "reads:      {}",
        if r.needs.is_empty() {
            "-".into()
        } else {
            r.needs.join(", ")
        }
    );
    let _ = writeln!(s, "condition:  {}", r.condition.trim());
    let _ = writeln!(s, "source:     {}", r.source);
    for (head, text) in [
        ("What it checks", &r.docs.what),
        ("Why it matters", &r.docs.why),
        ("Remediation", &r.docs.remediation),
    ] {
        let _ = writeln!(s, "\n{head}\n{}", text.trim());
    }
    if !r.docs.references.is_empty() {
        let _ = writeln!(s, "\nReferences");
        for reference in &r.docs.references {
            let _ = writeln!(s, "- {reference}");
        }
    }
    std::io::stdout()
        .write_all(s.as_bytes())
        .map_err(stdout_error)?;
    Ok(0)
}

pub fn columns() -> Result<u8, Error> {
    let mut out = String::new();
    for (target, schema) in [("user", user::COLUMNS), ("tenant", tenant::COLUMNS)] {
        let mut b = Builder::default();
        b.push_record([format!("{target} column"), "type".into(), "meaning".into()]);
        for c in schema {
            b.push_record([
                c.name.to_owned(),
                c.kind.name().to_owned(),
                c.doc.to_owned(),
            ]);
        }
        let mut t = b.build();
        t.with(Style::rounded());
        out.push_str(&format!("{t}\n"));
    }
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(stdout_error)?;
    Ok(0)
}

//! `b2bready plan`: write an invitation plan, or re-check one against a newer snapshot.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};
use tabled::builder::Builder;
use tabled::settings::Style;

use super::scan::scan_for_plan;
use super::stdout_error;
use crate::cli::PlanArgs;
use crate::error::Error;
use crate::model::{Verdict, user as col};
use crate::plan::{self, Plan, PlanOptions, files};
use crate::scan::{ScanResult, email::mail_problem};
use crate::snapshot::lines::hex;

fn io(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { what, source }
}

fn manifest_sha256(snapshot: &Path) -> Result<String, Error> {
    let path = snapshot.join("manifest.json");
    let bytes = std::fs::read(&path).map_err(io(format!("cannot read {}", path.display())))?;
    Ok(hex(&Sha256::digest(&bytes)))
}

fn options(args: &PlanArgs) -> Result<PlanOptions, Error> {
    if let Some(cc) = &args.cc
        && let Some(problem) =
            mail_problem(cc).or_else(|| cc.trim().is_empty().then(|| "is empty".into()))
    {
        return Err(Error::Usage(format!(
            "--cc {cc:?} is not an address the invitation API takes: {problem}"
        )));
    }
    if let Some(url) = &args.redirect_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(Error::Usage(format!(
            "--redirect-url {url:?} must be an http or https address"
        )));
    }
    let message = match &args.message_file {
        Some(path) => Some((
            path.display().to_string(),
            std::fs::read_to_string(path).map_err(io(format!("cannot read {}", path.display())))?,
        )),
        None => None,
    };
    Ok(PlanOptions {
        redirect_url: args.redirect_url.clone(),
        send_invitation_message: !args.no_invitation_message,
        message_language: args.message_language.clone(),
        cc: args.cc.clone(),
        message,
        wave_size: args.wave_size,
        set_guest_usertype: args.set_guest_usertype,
        force: args.force,
    })
}

pub fn run(args: PlanArgs) -> Result<u8, Error> {
    let options = options(&args)?;
    let result = scan_for_plan(&args.snapshot, &args.inputs)?;
    let mut stderr = std::io::stderr().lock();
    if let Some(config) = &result.review.config {
        let _ = writeln!(stderr, "config: {}", config.display());
    }
    for w in &result.warnings {
        let _ = writeln!(stderr, "warning: {w}");
    }
    if let Some(dir) = &args.check {
        return check(dir, &result);
    }
    let Some(out) = &args.out else {
        return Err(Error::Usage(
            "plan needs --out DIR (or --check PLAN_DIR)".into(),
        ));
    };
    let plan = plan::build(&result, &manifest_sha256(&args.snapshot)?, &options)?;
    files::write(&plan, out)?;
    let waves = plan.accounts.last().map_or(0, |a| a.wave);
    let _ = writeln!(
        stderr,
        "planned {} ready accounts in {waves} wave(s); {} left out (blocked or excluded); wrote {}",
        plan.accounts.len(),
        plan.left_out.len(),
        out.display()
    );
    Ok(0)
}

/// Loads a plan folder's plan.json and proves it was not edited.
pub fn load(dir: &Path) -> Result<Plan, Error> {
    let path = dir.join("plan.json");
    let text =
        std::fs::read_to_string(&path).map_err(io(format!("cannot read {}", path.display())))?;
    let bad = |m: String| Error::Usage(format!("{}: {m}", path.display()));
    let mut value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    if value["schema"] != plan::SCHEMA {
        return Err(bad(format!("not a {} plan", plan::SCHEMA)));
    }
    let recorded = value
        .as_object_mut()
        .and_then(|o| o.remove("planDigest"))
        .and_then(|d| d.as_str().map(str::to_owned))
        .ok_or_else(|| bad("has no planDigest".into()))?;
    if plan::canonical_digest(&value) != recorded {
        return Err(bad(
            "was edited after it was made (its planDigest no longer matches); make the plan again"
                .into(),
        ));
    }
    let mut plan: Plan = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    plan.plan_digest = Some(recorded);
    Ok(plan)
}

/// Re-checks every planned account against a fresh scan: still ready, same mail.
fn check(dir: &Path, result: &ScanResult) -> Result<u8, Error> {
    let plan = load(dir)?;
    if plan.tenant_id != result.tenant_id() {
        return Err(Error::Usage(format!(
            "the plan is for tenant {} but the snapshot is of tenant {}",
            plan.tenant_id,
            result.tenant_id()
        )));
    }
    let verdicts: HashMap<&str, _> = result
        .verdicts
        .iter()
        .map(|v| (result.user_text(col::ID, v.row).unwrap_or(""), v))
        .collect();
    let known: std::collections::HashSet<&str> = result.users.columns[col::ID]
        .text()
        .map(|c| c.iter().flatten().collect())
        .unwrap_or_default();
    let mut problems = Vec::new();
    for a in &plan.accounts {
        let who = a
            .user_principal_name
            .clone()
            .unwrap_or_else(|| a.id.clone());
        let problem = match verdicts.get(a.id.as_str()) {
            None if known.contains(a.id.as_str()) => Some("no longer in scope".to_owned()),
            None => Some("no longer in the snapshot".to_owned()),
            Some(v) if v.verdict == Verdict::Blocked => Some(format!(
                "blocked: {}",
                crate::report::rule_ids(result, &v.blockers).join(", ")
            )),
            Some(v) if v.verdict == Verdict::Excluded => Some(format!(
                "excluded: {}",
                result.exclusion_reason(v).unwrap_or_default()
            )),
            Some(v) => {
                let mail = result.user_text(col::MAIL, v.row).unwrap_or("");
                (mail != a.mail).then(|| format!("mail changed from {} to {mail}", a.mail))
            }
        };
        if let Some(p) = problem {
            problems.push([who, p]);
        }
    }
    let mut out = std::io::stdout().lock();
    if problems.is_empty() {
        writeln!(
            out,
            "all {} planned accounts are still ready",
            plan.accounts.len()
        )
        .map_err(stdout_error)?;
        return Ok(0);
    }
    let mut b = Builder::default();
    b.push_record(["planned account", "problem"]);
    for p in &problems {
        b.push_record(p.iter().map(|s| crate::report::table::printable(s)));
    }
    let mut t = b.build();
    t.with(Style::rounded());
    writeln!(
        out,
        "{t}\n{} of {} planned accounts are no longer ready: make the plan again",
        problems.len(),
        plan.accounts.len()
    )
    .map_err(stdout_error)?;
    Ok(1)
}

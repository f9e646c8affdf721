//! `b2bready plan`: write an invitation plan, or re-check one against a newer snapshot.

use std::io::Write;

use tabled::builder::Builder;
use tabled::settings::Style;

use super::stdout_error;
use crate::cli::PlanArgs;
use crate::error::Error;
use crate::pipeline::{self, Purpose, Settings};
use crate::plan::{self, PlanOptions, Seal, SigningKey};

fn options(args: &PlanArgs) -> Result<PlanOptions, Error> {
    let message = match &args.message_file {
        Some(path) => Some((
            path.display().to_string(),
            crate::files::read_text(path, crate::files::MIB).map_err(|source| Error::Io {
                what: format!("cannot read {}", path.display()),
                source,
            })?,
        )),
        None => None,
    };
    let options = PlanOptions {
        redirect_url: args.redirect_url.clone(),
        send_invitation_message: !args.no_invitation_message,
        message_language: args.message_language.clone(),
        cc: args.cc.clone(),
        message,
        wave_size: args.wave_size,
        set_guest_usertype: args.set_guest_usertype,
        force: args.force,
        resend_pending: args.resend_pending,
    };
    options.check()?;
    Ok(options)
}

pub fn run(args: PlanArgs) -> Result<u8, Error> {
    let options = options(&args)?;
    let settings = Settings::resolve(&args.inputs, None)?;
    let result = pipeline::scan(&args.snapshot, &settings, Purpose::Plan)?;
    super::say_config_and_warnings(&result, &mut std::io::stderr().lock());
    let key = match &args.sign_key_file {
        Some(path) => Some(SigningKey::load(path)?),
        None => None,
    };
    if let Some(dir) = &args.check {
        let (plan, seal) = plan::load(dir, key.as_ref())?;
        if seal == Seal::SignedUnchecked {
            eprintln!(
                "warning: the plan is signed, but its signature was not checked: pass --sign-key-file"
            );
        }
        let problems = plan::check(&plan, &result)?;
        return print_check(&problems, plan.accounts.len());
    }
    let Some(out) = &args.out else {
        return Err(Error::Usage(
            "plan needs --out DIR (or --check PLAN_DIR)".into(),
        ));
    };
    let plan = plan::build(&result, &plan::manifest_sha256(&args.snapshot)?, &options)?;
    plan::folder::write(&plan, out, key.as_ref())?;
    let waves = plan.accounts.last().map_or(0, |a| a.wave);
    let resend = plan.accounts.iter().filter(|a| a.resend).count();
    let resent = if resend > 0 {
        format!(" and {resend} pending invitation(s) to send again")
    } else {
        String::new()
    };
    eprintln!(
        "planned {} ready accounts{resent} in {waves} wave(s); {} left out (blocked, pending or excluded); wrote {}",
        plan.accounts.len() - resend,
        plan.left_out.len(),
        out.display()
    );
    Ok(0)
}

/// The accounts of a plan that are no longer ready; exit 1 when there are any.
fn print_check(problems: &[plan::Problem], planned: usize) -> Result<u8, Error> {
    let mut out = std::io::stdout().lock();
    if problems.is_empty() {
        writeln!(out, "all {planned} planned accounts are still ready").map_err(stdout_error)?;
        return Ok(0);
    }
    let mut b = Builder::default();
    b.push_record(["planned account", "problem"]);
    for p in problems {
        b.push_record([&p.account, &p.problem].map(|s| crate::report::table::printable(s)));
    }
    let mut t = b.build();
    t.with(Style::rounded());
    writeln!(
        out,
        "{t}\n{} of {planned} planned accounts are no longer ready: make the plan again",
        problems.len(),
    )
    .map_err(stdout_error)?;
    Ok(1)
}

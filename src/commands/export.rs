//! `b2bready export` and `b2bready simulate`.

use std::io::Write;
use std::sync::atomic::Ordering;

use tabled::builder::Builder;
use tabled::settings::Style;

use crate::cli::{ExportArgs, SimulateArgs};
use crate::error::Error;
use crate::export::{self, ExportOptions};

pub fn run(args: ExportArgs) -> Result<u8, Error> {
    let (client, tenant_id) = crate::graph::signin::connect(&args.sign_in)?;
    let (out, resume) = match (&args.out, &args.resume) {
        (_, Some(dir)) => (dir.clone(), true),
        (Some(dir), None) => (dir.clone(), false),
        (None, None) => {
            return Err(Error::Usage(
                "export needs --out DIR or --resume DIR".into(),
            ));
        }
    };
    let options = ExportOptions {
        out: out.clone(),
        resume,
        page_size: args.page_size,
        skip: args.skip.clone(),
        opt_in: [
            (args.memberships, "memberships"),
            (args.authentication_methods, "authenticationMethods"),
            (args.converted_users, "convertedUsers"),
        ]
        .into_iter()
        .filter(|(asked, _)| *asked)
        .map(|(_, name)| name.to_owned())
        .collect(),
        cloud: args.sign_in.cloud.as_str().into(),
        tenant_id: tenant_id.filter(|t| t.len() == 36),
        since: args.since.clone(),
        progress: !args.quiet,
    };
    let outcomes = export::run(&client, &options)?;
    if !args.quiet {
        let mut b = Builder::default();
        b.push_record(["collection", "status", "records", "note"]);
        for o in &outcomes {
            b.push_record([
                o.name.clone(),
                o.entry.status.as_str().into(),
                o.entry.count.map_or("-".into(), |c| c.to_string()),
                o.entry.reason.clone().unwrap_or_default(),
            ]);
        }
        let mut t = b.build();
        t.with(Style::rounded());
        let s = &client.stats;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "{t}\n{} requests, {} retries ({} throttled), {} token refreshes; wrote {}",
            s.requests.load(Ordering::Relaxed),
            s.retries.load(Ordering::Relaxed),
            s.throttled.load(Ordering::Relaxed),
            s.refreshes.load(Ordering::Relaxed),
            out.display()
        );
    }
    Ok(0)
}

pub fn simulate(args: SimulateArgs) -> Result<u8, Error> {
    use crate::simulator::{Simulator, Tenant, http, is_loopback, listen_addrs, load_certificate};
    let addrs = listen_addrs(&args.listen, args.allow_remote)?;
    if let Some(addr) = addrs.iter().find(|a| !is_loopback(a)) {
        eprintln!(
            "warning: --allow-remote: serving on {addr}, beyond this machine. Anyone who can reach \
             this port gets the tenant's data and tokens; the simulator is a test double, not a \
             security boundary."
        );
    }
    let tenant = Tenant::load(&args.snapshot)?;
    let secret =
        std::env::var("B2BREADY_SIMULATOR_SECRET").unwrap_or_else(|_| "simulator-secret".into());
    let mut sim = Simulator::new(tenant, args.client_id, secret, args.faults);
    sim.federated = Some((args.federated_issuer, args.federated_subject));
    sim.accept_after = args.accept_after_ms.map(std::time::Duration::from_millis);
    if let Some(path) = &args.client_certificate {
        sim.certificate = Some(load_certificate(path).map_err(Error::Usage)?);
    }
    let limits = http::Limits {
        workers: usize::from(args.workers),
        ..http::Limits::default()
    };
    sim.serve(&args.listen, &addrs, limits)?;
    Ok(0)
}

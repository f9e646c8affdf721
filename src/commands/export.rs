//! `b2bready export` and `b2bready simulate`.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tabled::builder::Builder;
use tabled::settings::Style;

use crate::cli::{ExportArgs, SimulateArgs};
use crate::error::Error;
use crate::export::{self, ExportOptions};
use crate::graph::auth::Credential;
use crate::graph::{Auth, Client, Endpoints, RetryPolicy, Secret, check_root};

/// Microsoft's public client for Graph command-line tools, used for device code sign-in when
/// `AZURE_CLIENT_ID` names no app of the tenant's own.
const GRAPH_COMMAND_LINE_TOOLS: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

fn read_secret(path: &Path) -> Result<Secret, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        what: format!("cannot read {}", path.display()),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::Usage(format!("{} is empty", path.display())));
    }
    Ok(Secret::new(token.to_owned()))
}

fn env_secret(name: &str) -> Option<Secret> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| Secret::new(v.trim().to_owned()))
}

fn endpoints(args: &ExportArgs) -> Result<Endpoints, Error> {
    let mut e = args.cloud.endpoints();
    if let Some(u) = &args.graph_url {
        e.graph = check_root("--graph-url", u)?;
    }
    match (
        &args.login_url,
        std::env::var("AZURE_AUTHORITY_HOST")
            .ok()
            .filter(|h| !h.is_empty()),
    ) {
        (Some(u), _) => e.login = check_root("--login-url", u)?,
        (None, Some(host)) => {
            let root = if host.contains("://") {
                host
            } else {
                format!("https://{host}")
            };
            e.login = check_root("AZURE_AUTHORITY_HOST", &root)?;
        }
        (None, None) => {}
    }
    if let Some(u) = &args.arm_url {
        e.arm = check_root("--arm-url", u)?;
    }
    Ok(e)
}

fn credential(args: &ExportArgs) -> Result<Credential, Error> {
    let graph = match &args.access_token_file {
        Some(p) => Some(read_secret(p)?),
        None => env_secret("B2BREADY_ACCESS_TOKEN"),
    };
    let arm = match &args.arm_access_token_file {
        Some(p) => Some(read_secret(p)?),
        None => env_secret("B2BREADY_ARM_ACCESS_TOKEN"),
    };
    if graph.is_some() {
        return Ok(Credential::Tokens { graph, arm });
    }
    if args.device_code {
        return Ok(Credential::DeviceCode {
            tenant: args
                .tenant
                .clone()
                .unwrap_or_else(|| "organizations".into()),
            client_id: std::env::var("AZURE_CLIENT_ID")
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| GRAPH_COMMAND_LINE_TOOLS.into()),
        });
    }
    let client_id = std::env::var("AZURE_CLIENT_ID")
        .ok()
        .filter(|v| !v.is_empty());
    let secret = env_secret("AZURE_CLIENT_SECRET");
    let federated = std::env::var_os("AZURE_FEDERATED_TOKEN_FILE").filter(|v| !v.is_empty());
    let certificate = std::env::var_os("AZURE_CLIENT_CERTIFICATE_PATH").filter(|v| !v.is_empty());
    if let (Some(tenant), Some(client_id), None, Some(path)) =
        (&args.tenant, client_id.clone(), &secret, certificate)
    {
        let password = std::env::var("AZURE_CLIENT_CERTIFICATE_PASSWORD").ok();
        let certificate =
            crate::graph::cert::ClientCertificate::load(Path::new(&path), password.as_deref())?;
        return Ok(Credential::Certificate {
            tenant: tenant.clone(),
            client_id,
            certificate: Box::new(certificate),
        });
    }
    match (&args.tenant, client_id, secret, federated) {
        (Some(tenant), Some(client_id), Some(secret), _) => Ok(Credential::ClientSecret {
            tenant: tenant.clone(),
            client_id,
            secret,
        }),
        (Some(tenant), Some(client_id), None, Some(file)) => Ok(Credential::Federated {
            tenant: tenant.clone(),
            client_id,
            token_file: file.into(),
        }),
        _ => Err(Error::Usage(
            "no credentials: set AZURE_TENANT_ID and AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE, or pass --access-token-file (or set B2BREADY_ACCESS_TOKEN)".into(),
        )),
    }
}

pub fn run(args: ExportArgs) -> Result<u8, Error> {
    let endpoints = endpoints(&args)?;
    let credential = credential(&args)?;
    let tenant_id = match &credential {
        Credential::ClientSecret { tenant, .. }
        | Credential::Certificate { tenant, .. }
        | Credential::Federated { tenant, .. }
        | Credential::DeviceCode { tenant, .. } => Some(tenant.clone()),
        Credential::Tokens { .. } => args.tenant.clone(),
    };
    let auth = Auth::new(credential, endpoints.clone());
    let policy = RetryPolicy {
        max_attempts: args.max_attempts,
        base: Duration::from_millis(args.retry_base_ms),
        timeout: Duration::from_millis(args.request_timeout_ms),
        ..RetryPolicy::default()
    };
    let client = Client::new(auth, endpoints, policy)?;
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
        per_user: [
            (args.memberships, "memberships"),
            (args.authentication_methods, "authenticationMethods"),
        ]
        .into_iter()
        .filter(|(asked, _)| *asked)
        .map(|(_, name)| name.to_owned())
        .collect(),
        cloud: args.cloud.as_str().into(),
        tenant_id: tenant_id.filter(|t| t.len() == 36),
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
    let tenant = crate::simulator::Tenant::load(&args.snapshot)?;
    let secret =
        std::env::var("B2BREADY_SIMULATOR_SECRET").unwrap_or_else(|_| "simulator-secret".into());
    let mut sim = crate::simulator::Simulator::new(tenant, args.client_id, secret, args.faults);
    sim.federated = Some((args.federated_issuer, args.federated_subject));
    if let Some(path) = &args.client_certificate {
        sim.certificate = Some(crate::simulator::load_certificate(path).map_err(Error::Usage)?);
    }
    sim.serve(&args.listen).map_err(Error::Usage)?;
    Ok(0)
}

//! Signing in the way the flags and the azure-identity environment variables say: which
//! cloud and service roots, which credential, how patient the client is. Shared by every
//! command that talks to a tenant.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::auth::Credential;
use super::{Auth, Client, Cloud, Endpoints, GraphError, RetryPolicy, Secret, check_root};

/// A token is a credential: a file others can read lets them sign in as the export does.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            eprintln!(
                "warning: {} can be read or written by other users; restrict it (chmod 600)",
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// A token file holds one token of a few kilobytes.
pub const TOKEN_FILE_LIMIT: u64 = 64 * 1024;

/// Where to sign in and how.
#[derive(Debug, Clone, Args)]
pub struct SignInFlags {
    /// The national cloud: sets the Graph, login and ARM hosts together.
    #[arg(long, value_enum, default_value = "global")]
    pub cloud: Cloud,
    /// Graph service root, e.g. https://graph.microsoft.com (plain http only for loopback).
    #[arg(long, value_name = "URL")]
    pub graph_url: Option<String>,
    /// Login service root, e.g. https://login.microsoftonline.com [env: AZURE_AUTHORITY_HOST].
    #[arg(long, value_name = "URL")]
    pub login_url: Option<String>,
    /// Azure Resource Manager root, e.g. https://management.azure.com.
    #[arg(long, value_name = "URL")]
    pub arm_url: Option<String>,
    /// The tenant (id or domain) to sign in to.
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "TENANT")]
    pub tenant: Option<String>,
    /// Sign in as a person: print a code to enter at the sign-in page, then wait.
    #[arg(long)]
    pub device_code: bool,
    /// Sign in with the Azure CLI's session (az login): tokens from `az account
    /// get-access-token`, asked for again as they near expiry.
    #[arg(long, conflicts_with_all = ["device_code", "access_token_file"])]
    pub azure_cli: bool,
    /// Sign in as the Azure resource's managed identity (App Service, Functions, Container
    /// Apps, virtual machines); AZURE_CLIENT_ID picks a user-assigned one.
    #[arg(long, conflicts_with_all = ["device_code", "access_token_file", "azure_cli"])]
    pub managed_identity: bool,
    /// Sign in with the Azure Pipelines service connection's workload identity federation
    /// (SYSTEM_OIDCREQUESTURI, SYSTEM_ACCESSTOKEN, AZURESUBSCRIPTION_SERVICE_CONNECTION_ID,
    /// AZURESUBSCRIPTION_CLIENT_ID, AZURESUBSCRIPTION_TENANT_ID).
    #[arg(long, conflicts_with_all = ["device_code", "access_token_file", "azure_cli", "managed_identity"])]
    pub azure_pipelines: bool,
    /// A Graph access token acquired beforehand, in a file (or B2BREADY_ACCESS_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub access_token_file: Option<PathBuf>,
    /// An Azure Resource Manager access token, in a file (or B2BREADY_ARM_ACCESS_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub arm_access_token_file: Option<PathBuf>,
    /// Attempts per request before a collection fails (429, 5xx, timeouts, resets).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: u32,
    /// How long one request may take before it is retried.
    #[arg(long, default_value_t = 120_000, hide = true)]
    pub request_timeout_ms: u64,
    /// First backoff step when the service gives no Retry-After.
    #[arg(long, default_value_t = 500, hide = true)]
    pub retry_base_ms: u64,
}

/// Microsoft's public client for Graph command-line tools, used for device code sign-in when
/// `AZURE_CLIENT_ID` names no app of the tenant's own.
const GRAPH_COMMAND_LINE_TOOLS: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

fn read_secret(path: &Path) -> Result<Secret, GraphError> {
    let text = crate::files::read_text(path, TOKEN_FILE_LIMIT)
        .map_err(|e| GraphError::Config(format!("cannot read {}: {e}", path.display())))?;
    warn_if_shared(path);
    let token = text.trim();
    if token.is_empty() {
        return Err(GraphError::Config(format!("{} is empty", path.display())));
    }
    Ok(Secret::new(token.to_owned()))
}

/// An environment variable that is set to something other than blanks.
pub(super) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_secret(name: &str) -> Option<Secret> {
    env_var(name).map(|v| Secret::new(v.trim().to_owned()))
}

/// The service roots: the cloud's, with each override checked.
pub fn endpoints(args: &SignInFlags) -> Result<Endpoints, GraphError> {
    let mut e = args.cloud.endpoints();
    if let Some(u) = &args.graph_url {
        e.graph = check_root("--graph-url", u)?;
    }
    match (&args.login_url, env_var("AZURE_AUTHORITY_HOST")) {
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

/// The credential the flags and the azure-identity environment variables name.
pub fn credential(args: &SignInFlags) -> Result<Credential, GraphError> {
    let graph = match &args.access_token_file {
        Some(p) => Some(read_secret(p)?),
        None => env_secret("B2BREADY_ACCESS_TOKEN"),
    };
    let arm = match &args.arm_access_token_file {
        Some(p) => Some(read_secret(p)?),
        None => env_secret("B2BREADY_ARM_ACCESS_TOKEN"),
    };
    if args.azure_cli {
        return Ok(Credential::AzureCli {
            tenant: args.tenant.clone(),
        });
    }
    if args.managed_identity {
        return Ok(Credential::ManagedIdentity(
            super::hosted::ManagedIdentity {
                client_id: env_var("AZURE_CLIENT_ID"),
            },
        ));
    }
    if args.azure_pipelines {
        return pipelines(args);
    }
    if graph.is_some() {
        return Ok(Credential::Tokens { graph, arm });
    }
    if args.device_code {
        return Ok(Credential::DeviceCode {
            tenant: args
                .tenant
                .clone()
                .unwrap_or_else(|| "organizations".into()),
            client_id: env_var("AZURE_CLIENT_ID")
                .unwrap_or_else(|| GRAPH_COMMAND_LINE_TOOLS.into()),
        });
    }
    let client_id = env_var("AZURE_CLIENT_ID");
    let secret = env_secret("AZURE_CLIENT_SECRET");
    let federated = std::env::var_os("AZURE_FEDERATED_TOKEN_FILE").filter(|v| !v.is_empty());
    let certificate = std::env::var_os("AZURE_CLIENT_CERTIFICATE_PATH").filter(|v| !v.is_empty());
    if let (Some(tenant), Some(client_id), None, Some(path)) =
        (&args.tenant, client_id.clone(), &secret, certificate)
    {
        let password = std::env::var("AZURE_CLIENT_CERTIFICATE_PASSWORD").ok();
        let certificate =
            super::cert::ClientCertificate::load(Path::new(&path), password.as_deref())?;
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
        _ => Err(GraphError::Config(
            "no credentials: set AZURE_TENANT_ID and AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE, pass --azure-cli after az login, --managed-identity on an Azure resource, --azure-pipelines in a pipeline, or --access-token-file (or set B2BREADY_ACCESS_TOKEN)".into(),
        )),
    }
}

/// The service connection a pipeline step sees; the tenant and client id as the AzureCLI@2
/// task sets them, or as azure-identity names them.
fn pipelines(args: &SignInFlags) -> Result<Credential, GraphError> {
    let connection = super::hosted::PipelinesConnection::from_env()?;
    let tenant = env_var("AZURESUBSCRIPTION_TENANT_ID")
        .or_else(|| args.tenant.clone())
        .ok_or_else(|| {
            GraphError::Config(
                "--azure-pipelines needs the tenant: AZURESUBSCRIPTION_TENANT_ID, AZURE_TENANT_ID or --tenant".into(),
            )
        })?;
    let client_id = env_var("AZURESUBSCRIPTION_CLIENT_ID")
        .or_else(|| env_var("AZURE_CLIENT_ID"))
        .ok_or_else(|| {
            GraphError::Config(
                "--azure-pipelines needs the service connection's app: AZURESUBSCRIPTION_CLIENT_ID or AZURE_CLIENT_ID".into(),
            )
        })?;
    Ok(Credential::AzurePipelines {
        tenant,
        client_id,
        connection,
    })
}

/// Signs in as the flags say and returns a client for Graph and ARM, with the tenant the
/// credential names (if it names one).
pub fn connect(args: &SignInFlags) -> Result<(Client, Option<String>), GraphError> {
    let endpoints = endpoints(args)?;
    let credential = credential(args)?;
    let tenant_id = match &credential {
        Credential::ClientSecret { tenant, .. }
        | Credential::Certificate { tenant, .. }
        | Credential::Federated { tenant, .. }
        | Credential::DeviceCode { tenant, .. }
        | Credential::AzurePipelines { tenant, .. } => Some(tenant.clone()),
        Credential::Tokens { .. }
        | Credential::AzureCli { .. }
        | Credential::ManagedIdentity(_) => args.tenant.clone(),
    };
    let auth = Auth::new(credential, endpoints.clone());
    let policy = RetryPolicy {
        max_attempts: args.max_attempts,
        base: Duration::from_millis(args.retry_base_ms),
        timeout: Duration::from_millis(args.request_timeout_ms),
        ..RetryPolicy::default()
    };
    Ok((Client::new(auth, endpoints, policy)?, tenant_id))
}

//! Sign-in through the Azure CLI: a token per service from `az account get-access-token`, asked
//! for again when the one it gave nears expiry. The CLI keeps its own session and refreshes it,
//! so a person signed in with `az login` needs no app registration, and a long export outlives
//! any one token.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Deserialize;

use super::{GraphError, Secret};

/// What `az account get-access-token --output json` prints (the fields read here).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CliToken {
    access_token: String,
    /// Seconds since the epoch, printed by Azure CLI 2.54.0 and later.
    #[serde(default, rename = "expires_on")]
    expires_on: Option<u64>,
}

/// Older CLIs print only `expiresOn`, a local time without an offset. Rather than guess the
/// zone, such a token is used this long and then asked for again (the CLI answers from its own
/// cache until its token really expires).
const UNKNOWN_LIFETIME: Duration = Duration::from_secs(300);

/// Error lines from the CLI are cut to this length.
const MESSAGE_LIMIT: usize = 400;

/// A tenant as `--tenant` takes it: an id or a domain name. Anything else is refused before it
/// reaches a command line (on Windows the CLI is a batch file run through `cmd`).
fn valid_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 256
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// A service root as `--resource` takes it: one of ours, checked when the endpoints were made;
/// checked again here for the characters `cmd` would treat specially.
fn valid_resource(resource: &str) -> bool {
    resource
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ":/.-_[]".contains(c))
}

fn command() -> Command {
    if cfg!(windows) {
        // `az` is `az.cmd` there, which only `cmd` can start.
        let mut c = Command::new("cmd");
        c.args(["/d", "/c", "az"]);
        c
    } else {
        Command::new("az")
    }
}

/// A token for the service at `resource` (its root URL) and how long it may be used.
pub fn token(tenant: Option<&str>, resource: &str) -> Result<(Secret, Duration), GraphError> {
    if let Some(t) = tenant.filter(|t| !valid_tenant(t)) {
        return Err(GraphError::Config(format!(
            "--tenant {t:?} is not a tenant id or domain name"
        )));
    }
    if !valid_resource(resource) {
        return Err(GraphError::Config(format!(
            "{resource:?} cannot be passed to the Azure CLI"
        )));
    }
    let mut cmd = command();
    cmd.args(["account", "get-access-token", "--output", "json"])
        .args(["--resource", resource]);
    if let Some(t) = tenant {
        cmd.args(["--tenant", t]);
    }
    let output = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => GraphError::Config(
                "--azure-cli: the Azure CLI (az) is not on PATH; install it and run az login, or sign in another way".into(),
            ),
            _ => GraphError::Auth(format!("cannot run the Azure CLI: {e}")),
        })?;
    if !output.status.success() {
        return Err(GraphError::Auth(format!(
            "az account get-access-token failed: {} (run az login{}, or sign in another way)",
            first_line(&output.stderr),
            tenant.map(|t| format!(" --tenant {t}")).unwrap_or_default()
        )));
    }
    let answer: CliToken = serde_json::from_slice(&output.stdout).map_err(|_| {
        GraphError::Auth("az account get-access-token printed no accessToken".into())
    })?;
    let lifetime = match answer.expires_on {
        Some(at) => super::lifetime_until(at),
        None => UNKNOWN_LIFETIME,
    };
    Ok((Secret::new(answer.access_token), lifetime))
}

/// The first line of the CLI's complaint that says something, cut short.
fn first_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message");
    match line.char_indices().nth(MESSAGE_LIMIT) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tenant_ids_and_domains_reach_the_command_line() {
        assert!(valid_tenant("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(valid_tenant("contoso.onmicrosoft.com"));
        for bad in ["", "a b", "x&calc", "x\"", "a|b", "%PATH%", "x^y"] {
            assert!(!valid_tenant(bad), "{bad:?}");
        }
        assert!(valid_resource("https://graph.microsoft.com"));
        assert!(valid_resource("http://[::1]:8080"));
        assert!(!valid_resource("https://x&calc"));
    }

    #[test]
    fn the_clis_complaint_is_one_short_line() {
        let err = b"\nERROR: Please run 'az login' to setup account.\nmore\n";
        assert_eq!(
            first_line(err),
            "ERROR: Please run 'az login' to setup account."
        );
        assert_eq!(first_line(b""), "no message");
        assert_eq!(first_line("é".repeat(500).as_bytes()).chars().count(), 401);
    }
}

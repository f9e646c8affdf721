//! A synthetic tenant: realistic mix of employees, B2B guests and local guests (with the usual
//! problems in realistic proportions), deterministic by seed, any size. Accounts are made in
//! parallel chunks, each from its own seed, so the output does not depend on thread timing.

use std::path::Path;

use rayon::prelude::*;
use serde_json::json;

mod directory;
mod people;

use people::{Rng, User, collide, shaped_user};

use crate::snapshot::writer::SnapshotWriter;
use crate::snapshot::{SnapshotError, write_error};

const CHUNK: usize = 8_192;

/// The generated tenant's id, domain and the partner domain its policy blocks.
pub const TENANT_ID: &str = "9c1f0e2d-5b7a-4c3e-8f6d-2a4b6c8e0f13";
pub const DOMAIN: &str = "fabrikam.com";
pub const INITIAL_DOMAIN: &str = "fabrikam.onmicrosoft.com";

/// Heavy tails a real tenant can have, on top of the usual mix: they make a scan's cost depend
/// on shapes, not only on size, so the benchmarks can keep it linear.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::Args)]
pub struct Shape {
    /// Accounts that share one address: a vendor's shared mailbox set as the mail of every
    /// account of that vendor (local guests, spread over the tenant).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub shared_address: usize,
    /// Accounts holding hundreds of proxy addresses (service and shared accounts).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub many_proxies: usize,
    /// Per cent of all accounts turned into local guests that a blocker stops (synced, with
    /// onPremisesUserPrincipalName): a blocker-heavy tenant.
    #[arg(long, default_value_t = 0, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub blocked_pct: u8,
}

impl Shape {
    /// A short name for folders, empty for the usual mix.
    pub fn label(&self) -> String {
        if *self == Shape::default() {
            return String::new();
        }
        format!(
            "-shared{}-proxies{}-blocked{}",
            self.shared_address, self.many_proxies, self.blocked_pct
        )
    }
}

/// Writes a generated tenant to `dir`, which must be new or empty. The tenant is written to a
/// hidden sibling folder first and renamed into place whole, so a failure leaves nothing that
/// looks like a snapshot, and an existing snapshot is never overwritten.
pub fn generate(
    dir: &Path,
    users: usize,
    seed: u64,
    zstd: bool,
    shape: &Shape,
) -> Result<(), SnapshotError> {
    let taken = |path: &Path| SnapshotError::Write {
        path: path.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "the folder is not empty; choose a new or empty folder",
        ),
    };
    if !crate::output::is_empty_dir(dir).map_err(write_error(dir))? {
        return Err(taken(dir));
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot".into());
    let staging = dir.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let written = write_tenant(&staging, users, seed, zstd, shape).and_then(|()| {
        if dir.exists() {
            std::fs::remove_dir(dir).map_err(write_error(dir))?;
        }
        std::fs::rename(&staging, dir).map_err(write_error(dir))
    });
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

fn write_tenant(
    dir: &Path,
    users: usize,
    seed: u64,
    zstd: bool,
    shape: &Shape,
) -> Result<(), SnapshotError> {
    if dir.exists() {
        return Err(SnapshotError::Write {
            path: dir.to_owned(),
            source: std::io::ErrorKind::AlreadyExists.into(),
        });
    }
    let mut w = SnapshotWriter::create(dir, TENANT_ID, zstd)?;
    w.set_exported_at("2026-11-01T06:00:00Z");
    let org = json!({
        "id": TENANT_ID,
        "displayName": "Fabrikam, Inc.",
        "tenantType": "AAD",
        "verifiedDomains": [
            {"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": true, "isInitial": false, "name": DOMAIN, "type": "Managed"},
            {"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": false, "isInitial": true, "name": INITIAL_DOMAIN, "type": "Managed"}
        ]
    });
    w.write_all("organization", [&org])?;
    let domains = [
        json!({"id": DOMAIN, "authenticationType": "Managed", "isDefault": true, "isInitial": false, "isRoot": true, "isVerified": true, "supportedServices": ["Email", "OfficeCommunicationsOnline"]}),
        json!({"id": INITIAL_DOMAIN, "authenticationType": "Managed", "isDefault": false, "isInitial": true, "isRoot": true, "isVerified": true, "supportedServices": ["Email"]}),
    ];
    w.write_all("domains", domains.iter())?;
    w.write_all(
        "authorizationPolicy",
        [&json!({"id": "authorizationPolicy", "allowInvitesFrom": "everyone", "displayName": "Authorization Policy"})],
    )?;
    let allow_all = json!({"usersAndGroups": {"accessType": "allowed", "targets": [{"target": "AllUsers", "targetType": "user"}]}, "applications": {"accessType": "allowed", "targets": [{"target": "AllApplications", "targetType": "application"}]}});
    w.write_all(
        "crossTenantAccessPolicyDefault",
        [&json!({"isServiceDefault": true, "b2bCollaborationInbound": allow_all, "b2bCollaborationOutbound": allow_all})],
    )?;
    let definition = r#"{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":{"AllowedDomains":[],"BlockedDomains":["gmail.com"]}}}"#;
    w.write_all(
        "b2bManagementPolicies",
        [&json!({"id": "f596ef0d-3a8c-4a4b-9e1d-6c2a1b0e9f77", "displayName": "B2BManagementPolicy", "definition": [definition], "isOrganizationDefault": true})],
    )?;
    w.write_all(
        "emailAuthenticationMethodConfiguration",
        [&json!({"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "id": "Email", "state": "enabled", "allowExternalIdToUseEmailOtp": "default"})],
    )?;
    w.write_all(
        "guestUsages",
        [&json!({"name": INITIAL_DOMAIN, "type": "Microsoft.AzureActiveDirectory/GuestUsages", "id": format!("/subscriptions/c80fb759-c965-4c6a-9110-9b2b2d038882/resourceGroups/identity/providers/Microsoft.AzureActiveDirectory/guestUsages/{INITIAL_DOMAIN}"), "location": "Europe", "properties": {"tenantId": TENANT_ID}, "tags": {}})],
    )?;

    let mut sink = w.collection("users")?;
    let chunks = users.div_ceil(CHUNK);
    for batch in (0..chunks).collect::<Vec<_>>().chunks(16) {
        let parts: Vec<Vec<u8>> = batch
            .par_iter()
            .map(|&c| {
                let mut rng = Rng::new(seed ^ 0xC011_1DE5, c as u64);
                let mut list: Vec<User> = (c * CHUNK..((c + 1) * CHUNK).min(users))
                    .map(|i| shaped_user(seed, i, users, shape))
                    .collect();
                collide(&mut list, &mut rng);
                let mut out = Vec::with_capacity(list.len() * 900);
                for u in &list {
                    serde_json::to_writer(&mut out, u).expect("a User always serialises");
                    out.push(b'\n');
                }
                out
            })
            .collect();
        for part in parts {
            for line in part.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                sink.write_line(line)?;
            }
        }
    }
    w.add(sink)?;
    directory::write(&mut w, seed, users, shape)?;
    w.finish(true)?;
    Ok(())
}

//! A synthetic tenant: realistic mix of employees, B2B guests and local guests (with the usual
//! problems in realistic proportions), deterministic by seed, any size. Accounts are made in
//! parallel chunks, each from its own seed, so the output does not depend on thread timing.

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::snapshot::writer::SnapshotWriter;
use crate::snapshot::{SnapshotError, write_error};

const CHUNK: usize = 8_192;

const FIRST: &[&str] = &[
    "Ana", "Bruno", "Chen", "Dana", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemal",
    "Lena", "Marco", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoe", "Amara", "Bilal", "Carmen", "Dmitri", "Eva", "Femi", "Giulia",
    "Hannah", "Ivan", "Jana", "Kofi", "Lucia", "Mateo", "Noor",
];
const LAST: &[&str] = &[
    "Almeida",
    "Berg",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmermann",
    "Andersson",
    "Brown",
    "Costa",
    "Dimitrov",
    "Evans",
    "Ferreira",
    "Gruber",
    "Horvat",
    "Ibrahim",
    "Jovanovic",
];
const PARTNERS: &[&str] = &[
    "northwindtraders.com",
    "adatum.com",
    "litwareinc.com",
    "tailspintoys.com",
    "wingtiptoys.com",
    "fourthcoffee.com",
    "woodgrovebank.com",
    "proseware.com",
    "lucernepublishing.com",
    "margiestravel.com",
    "alpineskihouse.com",
    "blueyonderairlines.com",
    "cohowinery.com",
    "consolidatedmessenger.com",
    "graphicdesigninstitute.com",
    "humongousinsurance.com",
    "relecloud.com",
    "trey-research.net",
    "wideworldimporters.com",
    "worldwideimporters.com",
];
const PLANS: &[(&str, &str)] = &[
    ("exchange", "efb87545-963c-4e0d-99df-69c6916d9eb0"),
    ("SharePoint", "5dbe027f-2339-4123-9542-606e4d348a72"),
    (
        "MicrosoftCommunicationsOnline",
        "0feaeb32-d00e-4d66-bd5a-43b5b83db82c",
    ),
    ("TeamspaceAPI", "57ff2da0-773e-42df-b2af-ffb7a2317929"),
    ("MicrosoftOffice", "43de0ff5-c92c-492b-9116-175376d08c38"),
    ("AADPremiumService", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"),
    ("ProcessSimple", "76846ad7-7776-4c40-a281-a386362dd1b9"),
];

/// The generated tenant's id, domain and the partner domain its policy blocks.
pub const TENANT_ID: &str = "9c1f0e2d-5b7a-4c3e-8f6d-2a4b6c8e0f13";
pub const DOMAIN: &str = "fabrikam.com";
pub const INITIAL_DOMAIN: &str = "fabrikam.onmicrosoft.com";

/// SplitMix64: tiny, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with the given probability in percent.
    fn pct(&mut self, p: u64) -> bool {
        self.next() % 1000 < p * 10
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn guid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    display_name: String,
    given_name: &'static str,
    surname: &'static str,
    user_principal_name: String,
    mail: Option<String>,
    other_mails: Vec<String>,
    proxy_addresses: Vec<String>,
    user_type: &'static str,
    account_enabled: bool,
    creation_type: Option<&'static str>,
    external_user_state: Option<&'static str>,
    on_premises_user_principal_name: Option<String>,
    on_premises_sync_enabled: Option<bool>,
    company_name: Option<&'static str>,
    job_title: Option<&'static str>,
    assigned_plans: Vec<serde_json::Value>,
}

fn plans(rng: &mut Rng, exchange: bool) -> Vec<serde_json::Value> {
    let n = 3 + rng.below(PLANS.len() - 2);
    PLANS
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < n && (*i != 0 || exchange))
        .map(|(_, (service, id))| {
            json!({
                "assignedDateTime": "2024-03-11T09:12:44Z",
                "capabilityStatus": "Enabled",
                "service": service,
                "servicePlanId": id,
            })
        })
        .collect()
}

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

/// The address every account of the shared group holds.
const SHARED_ADDRESS: &str = "accounts-payable@vendor-shared.example";
const PROXIES_EACH: usize = 300;

/// Whether `index` is one of `k` accounts spread evenly over `n`.
fn spread(index: usize, k: usize, n: usize) -> bool {
    k > 0 && n > 0 && (index * k) / n != ((index + 1) * k) / n
}

/// The account at `index`, with the heavy tails of `shape` applied.
fn shaped_user(seed: u64, index: usize, total: usize, shape: &Shape) -> User {
    let mut u = user(seed, index);
    let local = |u: &mut User| {
        u.user_principal_name = format!("v-{}", u.user_principal_name.trim_start_matches("v-"));
        u.user_principal_name = u.user_principal_name.replace("#EXT#", "");
        u.creation_type = None;
        u.external_user_state = None;
        u.user_type = "Guest";
    };
    if spread(index, shape.shared_address, total) {
        local(&mut u);
        u.mail = Some(SHARED_ADDRESS.into());
        u.proxy_addresses = vec![format!("SMTP:{SHARED_ADDRESS}")];
        u.on_premises_user_principal_name = None;
    } else if spread(index, total * shape.blocked_pct as usize / 100, total) {
        local(&mut u);
        u.on_premises_sync_enabled = Some(true);
        u.on_premises_user_principal_name = Some(format!("v-{index}@corp.{DOMAIN}"));
    }
    if spread(index, shape.many_proxies, total) {
        let handle = u
            .user_principal_name
            .split('@')
            .next()
            .unwrap_or("svc")
            .to_owned();
        u.proxy_addresses
            .extend((0..PROXIES_EACH).map(|k| format!("smtp:{handle}.alias{k}@{DOMAIN}")));
    }
    u
}

fn user(seed: u64, index: usize) -> User {
    let mut rng = Rng::new(seed, index as u64);
    let given = rng.pick(FIRST);
    let surname = rng.pick(LAST);
    let handle = format!(
        "{}.{}{}",
        given.to_lowercase(),
        surname.to_lowercase(),
        index
    );
    let kind = rng.below(100);
    let mut u = User {
        id: rng.guid(),
        display_name: format!("{given} {surname}"),
        given_name: given,
        surname,
        user_principal_name: format!("{handle}@{DOMAIN}"),
        mail: Some(format!("{handle}@{DOMAIN}")),
        other_mails: Vec::new(),
        proxy_addresses: Vec::new(),
        user_type: "Member",
        account_enabled: !rng.pct(3),
        creation_type: None,
        external_user_state: None,
        on_premises_user_principal_name: None,
        on_premises_sync_enabled: None,
        company_name: None,
        job_title: Some(["Engineer", "Analyst", "Manager", "Consultant", "Designer"][rng.below(5)]),
        assigned_plans: Vec::new(),
    };
    if kind < 70 {
        // An employee: licensed, often synced from on-premises AD.
        let mail = u.mail.clone().unwrap_or_default();
        u.proxy_addresses = vec![
            format!("SMTP:{mail}"),
            format!("smtp:{handle}@{INITIAL_DOMAIN}"),
        ];
        u.assigned_plans = plans(&mut rng, true);
        if rng.pct(60) {
            u.on_premises_sync_enabled = Some(true);
            u.on_premises_user_principal_name = Some(format!("{handle}@corp.{DOMAIN}"));
        }
        return u;
    }
    let partner = rng.pick(PARTNERS);
    let external = format!(
        "{}.{}{index}@{partner}",
        given.to_lowercase(),
        surname.to_lowercase()
    );
    u.company_name = Some(partner);
    if kind < 88 {
        // A B2B collaboration guest.
        u.user_principal_name = format!("{}#EXT#@{INITIAL_DOMAIN}", external.replace('@', "_"));
        u.mail = Some(external);
        u.user_type = "Guest";
        u.creation_type = Some("Invitation");
        u.external_user_state = Some(if rng.pct(90) {
            "Accepted"
        } else {
            "PendingAcceptance"
        });
        u.job_title = None;
        return u;
    }
    // A local guest: an internal account for an outside person.
    u.user_principal_name = format!("v-{handle}@{DOMAIN}");
    u.user_type = if rng.pct(50) { "Guest" } else { "Member" };
    u.mail = Some(external.clone());
    u.proxy_addresses = vec![format!("SMTP:{external}")];
    let problem = rng.below(100);
    match problem {
        0..=5 => {
            u.on_premises_sync_enabled = Some(true);
            u.on_premises_user_principal_name = Some(format!("v-{handle}@corp.{DOMAIN}"));
        }
        6..=8 => {
            u.mail = None;
            u.proxy_addresses.clear();
            u.user_type = "Guest";
        }
        9..=10 => u.mail = Some(external.replace('.', " ")),
        11..=12 => {
            u.mail = Some(format!("v-{handle}@{DOMAIN}"));
            u.user_type = "Guest";
        }
        13..=15 => u.mail = Some(format!("{handle}@gmail.com")),
        16..=20 => u.assigned_plans = plans(&mut rng, true),
        21..=25 => u.on_premises_sync_enabled = Some(true),
        _ => {}
    }
    if rng.pct(5) {
        u.other_mails.push(format!("{handle}@{partner}"));
    }
    u
}

/// The same person's B2B guest account sometimes already holds the address: a collision.
fn collide(users: &mut [User], rng: &mut Rng) {
    for i in 1..users.len() {
        let local =
            users[i].creation_type.is_none() && users[i].user_principal_name.starts_with("v-");
        if local
            && rng.pct(1)
            && let Some(mail) = users[i].mail.clone()
        {
            users[i - 1].other_mails.push(mail.to_uppercase());
        }
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
    w.write_all("crossTenantAccessPolicyPartners", std::iter::empty())?;
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
    w.finish(true)?;
    Ok(())
}

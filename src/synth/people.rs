//! The people of a generated tenant: names, the mix of employees, B2B guests and local guests
//! with their usual problems, and the heavy tails a `Shape` adds.

use serde::Serialize;
use serde_json::json;

use super::{DOMAIN, INITIAL_DOMAIN, Shape};

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
pub(super) const PARTNERS: &[&str] = &[
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

/// SplitMix64: tiny, fast, and the same on every platform.
pub(crate) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64, stream: u64) -> Self {
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

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with the given probability in percent.
    pub(super) fn pct(&mut self, p: u64) -> bool {
        self.next() % 1000 < p * 10
    }

    pub(super) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    pub(super) fn guid(&mut self) -> String {
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
pub(super) struct User {
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
    external_user_state_change_date_time: Option<&'static str>,
    company_name: Option<&'static str>,
    employee_type: Option<&'static str>,
    job_title: Option<&'static str>,
    identities: Vec<serde_json::Value>,
    assigned_plans: Vec<serde_json::Value>,
}

impl User {
    pub(super) fn id(&self) -> &str {
        &self.id
    }

    /// The external address of a local guest (an internal account for an outside person),
    /// if this is one.
    pub(super) fn local_guest_mail(&self) -> Option<&str> {
        let local = self.creation_type.is_none() && self.user_principal_name.starts_with("v-");
        self.mail
            .as_deref()
            .filter(|m| local && !m.ends_with(DOMAIN) && m.contains('@'))
    }

    pub(super) fn is_employee(&self) -> bool {
        self.employee_type == Some("Employee")
    }
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

/// The address every account of the shared group holds.
const SHARED_ADDRESS: &str = "accounts-payable@vendor-shared.example";
const PROXIES_EACH: usize = 300;

/// Whether `index` is one of `k` accounts spread evenly over `n`.
fn spread(index: usize, k: usize, n: usize) -> bool {
    k > 0 && n > 0 && (index * k) / n != ((index + 1) * k) / n
}

/// The account at `index`, with the heavy tails of `shape` applied.
pub(super) fn shaped_user(seed: u64, index: usize, total: usize, shape: &Shape) -> User {
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
        external_user_state_change_date_time: None,
        company_name: None,
        employee_type: Some("Employee"),
        job_title: Some(["Engineer", "Analyst", "Manager", "Consultant", "Designer"][rng.below(5)]),
        identities: Vec::new(),
        assigned_plans: Vec::new(),
    };
    // Properties added later draw from their own stream, so the accounts of a seed keep the
    // problems they always had.
    let mut later = Rng::new(seed ^ 0x1DE7_1715, index as u64);
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
        u.identities = vec![own_identity(&u.user_principal_name)];
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
        u.external_user_state_change_date_time = Some("2025-02-17T10:41:09Z");
        u.employee_type = None;
        u.job_title = None;
        u.identities = vec![
            json!({"signInType": "federated", "issuer": "ExternalAzureAD", "issuerAssignedId": null}),
        ];
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
    u.employee_type = Some(if later.pct(70) {
        "Vendor"
    } else {
        "Contractor"
    });
    u.identities = vec![own_identity(&u.user_principal_name)];
    if later.pct(1) {
        // Redeemed once through its own organization, then reset: already bound outside.
        u.identities.push(json!({"signInType": "federated", "issuer": "ExternalAzureAD", "issuerAssignedId": null}));
    }
    if later.pct(2) {
        // Invited already, not yet redeemed.
        u.external_user_state = Some("PendingAcceptance");
        u.external_user_state_change_date_time = Some("2026-10-28T14:05:37Z");
    }
    u
}

/// The identity every internal account has: its UPN, issued by the tenant.
fn own_identity(upn: &str) -> serde_json::Value {
    json!({"signInType": "userPrincipalName", "issuer": INITIAL_DOMAIN, "issuerAssignedId": upn})
}

/// The same person's B2B guest account sometimes already holds the address: a collision.
pub(super) fn collide(users: &mut [User], rng: &mut Rng) {
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

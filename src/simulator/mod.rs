//! A Graph-compatible server for tests and rehearsals. It serves a snapshot folder as a tenant:
//! the OAuth token endpoint (client credentials, tokens that expire), the collections the
//! export reads with real paging (opaque skip tokens, at most 999 per page, `$select`), ARM
//! subscriptions and guestUsages, Graph's error bodies, and faults switched on per run.
//!
//! Its users can change: a user can be read, changed, soft-deleted and restored, and
//! `POST /v1.0/invitations` creates guests or converts internal accounts to B2B with the
//! checks and refusals Graph has (see `invite`); with `--accept-after-ms` invitations are
//! accepted after a while. Routes under `/_simulator/` let tests read the invitations counted
//! and set users up by hand (see `control`).
//!
//! It is a test double, not a security boundary: it listens on loopback unless told
//! otherwise, its tokens are random, its device code sign-in only answers the client that
//! asked, it serves only collection files the manifest vouches for, and what one client can
//! make it spend is bounded (see `http`).

mod accept;
mod addresses;
mod arm;
mod batch;
mod collections;
mod control;
mod conversion;
mod delta;
mod directory;
mod faults;
pub mod http;
pub mod identity;
mod ids;
mod invite;
mod keys;
mod policy;
mod respond;
mod routes;
mod token;
mod user_api;
mod users;

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use serde_json::Value;

pub use faults::Faults;

use crate::snapshot::lines::{BlockReader, read_records, verify};
use crate::snapshot::manifest::CollectionFile;
use crate::snapshot::{Manifest, SnapshotError, Status};

/// Why the simulator cannot start. Every variant names the file or address it is about.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(
        "{path}: a served collection must be a regular file in the snapshot folder, not {kind}"
    )]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("refusing to listen on {listen}: {addr} is not a loopback address")]
    Remote { listen: String, addr: SocketAddr },
    #[error("cannot listen on {listen}")]
    Listen {
        listen: String,
        #[source]
        source: std::io::Error,
    },
}

impl SimulatorError {
    pub fn help(&self) -> Option<String> {
        match self {
            SimulatorError::Snapshot(e) => e.help(),
            SimulatorError::NotAFile { .. } => Some(
                "copy the file itself into the snapshot folder; the simulator does not follow links out of it".into(),
            ),
            SimulatorError::Remote { .. } => Some(
                "listen on 127.0.0.1, [::1] or localhost; to serve the tenant's data and tokens to every machine that can reach the port, add --allow-remote".into(),
            ),
            SimulatorError::Listen { .. } => None,
        }
    }
}

/// Whether an address stays on this machine (127.0.0.0/8 or ::1, also written as an IPv4
/// address mapped into IPv6).
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

/// The addresses `listen` names. Unless `allow_remote`, every one must be a loopback address:
/// whoever reaches the port gets the tenant's data and tokens.
pub fn listen_addrs(listen: &str, allow_remote: bool) -> Result<Vec<SocketAddr>, SimulatorError> {
    let failed = |source| SimulatorError::Listen {
        listen: listen.to_owned(),
        source,
    };
    let addrs: Vec<SocketAddr> = listen.to_socket_addrs().map_err(failed)?.collect();
    if addrs.is_empty() {
        return Err(failed(std::io::Error::other("it names no address")));
    }
    match addrs.iter().find(|a| !is_loopback(a)) {
        Some(addr) if !allow_remote => Err(SimulatorError::Remote {
            listen: listen.to_owned(),
            addr: *addr,
        }),
        _ => Ok(addrs),
    }
}

/// A collection file the manifest lists, refused unless it is a regular file in the folder:
/// not a link that could lead anywhere, nor a pipe or device that never ends.
fn regular_file(file: &CollectionFile) -> Result<(), SimulatorError> {
    let meta = std::fs::symlink_metadata(&file.path).map_err(|source| SnapshotError::Io {
        path: file.path.clone(),
        source,
    })?;
    let kind = meta.file_type();
    let kind = if kind.is_file() {
        return Ok(());
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a folder"
    } else {
        "a special file"
    };
    Err(SimulatorError::NotAFile {
        path: file.path.clone(),
        kind,
    })
}

/// A served collection: raw JSON lines (parsed only when a page is asked for), or why it is
/// not there. Users are served from `Tenant::users`; `collections` only says when they are
/// missing.
pub enum Served {
    Lines(Vec<Box<str>>),
    Missing(Status),
}

pub struct Tenant {
    pub id: String,
    pub collections: HashMap<String, Served>,
    /// The users, which requests can change.
    pub users: users::Users,
    /// What invitations are checked against.
    policy: policy::InvitePolicy,
}

pub struct Simulator {
    pub tenant: Tenant,
    pub client_id: String,
    pub client_secret: String,
    pub token_lifetime_secs: u64,
    /// The client certificate: its SHA-256 thumbprint and public key (SubjectPublicKeyInfo DER).
    pub certificate: Option<(String, Vec<u8>)>,
    /// The trusted federated credential: issuer and subject.
    pub federated: Option<(String, String)>,
    pub faults: Faults,
    /// Access tokens issued, with when they expire.
    tokens: Mutex<HashMap<String, Instant>>,
    /// Device codes waiting for their person.
    pub(crate) device_codes: Mutex<HashMap<String, token::DeviceCode>>,
    /// Refresh tokens issued, with the client they were issued to.
    pub(crate) refresh_tokens: Mutex<HashMap<String, String>>,
    requests: AtomicU64,
    page_requests: AtomicU64,
    users_pages: AtomicU64,
    pub(crate) batch_requests: AtomicU64,
    /// How long an invitation stays pending before it reads as accepted; never without.
    pub accept_after: Option<Duration>,
    /// The invitation POSTs counted so far.
    invitations: Mutex<invite::Ledger>,
}

impl Tenant {
    /// Reads the collections of a snapshot folder, each checked against the manifest's count
    /// and sha256 as a scan checks them.
    pub fn load(dir: &Path) -> Result<Self, SimulatorError> {
        let manifest = Manifest::load(dir)?;
        let mut collections = HashMap::new();
        let mut users = Vec::new();
        for name in crate::snapshot::manifest::COLLECTIONS {
            let file = manifest.file(dir, name);
            if let Some(file) = &file {
                regular_file(file)?;
            }
            let served = match file {
                Some(file) if *name == "users" => {
                    users = read_lines(&file)?;
                    continue;
                }
                Some(file) => Served::Lines(
                    read_records::<Value>(&file)?
                        .into_iter()
                        .map(|v| v.to_string().into_boxed_str())
                        .collect(),
                ),
                None => Served::Missing(manifest.status(name).0),
            };
            collections.insert((*name).to_owned(), served);
        }
        let users = users::Users::load(users, holders(&collections), converted(&collections));
        Ok(Tenant {
            id: manifest.tenant_id.unwrap_or_default(),
            policy: policy::InvitePolicy::load(&collections),
            collections,
            users,
        })
    }
}

/// The lines of users.jsonl as they are, checked against the manifest.
fn read_lines(file: &CollectionFile) -> Result<Vec<Box<str>>, SimulatorError> {
    let mut lines = Vec::new();
    let mut reader = BlockReader::open(file)?;
    while let Some(block) = reader.next_block(&file.path)? {
        for (_, l) in block.lines() {
            lines.push(String::from_utf8_lossy(l).trim().into());
        }
    }
    verify(file, &reader.finish())?;
    Ok(lines)
}

/// The records of a collection as JSON values; none when it is missing.
fn values<'a>(
    collections: &'a HashMap<String, Served>,
    name: &str,
) -> impl Iterator<Item = Value> + 'a {
    let lines = match collections.get(name) {
        Some(Served::Lines(lines)) => lines.as_slice(),
        _ => &[],
    };
    lines.iter().filter_map(|l| serde_json::from_str(l).ok())
}

/// The addresses each contact and soft-deleted user of the snapshot holds.
fn holders(collections: &HashMap<String, Served>) -> Vec<Vec<Box<str>>> {
    values(collections, "contacts")
        .chain(values(collections, "deletedUsers"))
        .map(|v| addresses::held_by(&v))
        .collect()
}

/// The lower-cased ids convertedUsers lists with a time of conversion.
fn converted(collections: &HashMap<String, Served>) -> std::collections::HashSet<String> {
    values(collections, "convertedUsers")
        .filter(|v| {
            v["externalUserConvertedOn"]
                .as_str()
                .is_some_and(|w| !w.trim().is_empty())
        })
        .filter_map(|v| v["id"].as_str().map(str::to_ascii_lowercase))
        .collect()
}

/// Reads the SHA-256 thumbprint and public key of a PEM certificate.
pub fn load_certificate(path: &Path) -> Result<(String, Vec<u8>), String> {
    use x509_cert::der::{Decode, Encode};
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let der = crate::graph::cert::pem_blocks(&text, "CERTIFICATE")
        .into_iter()
        .next()
        .ok_or_else(|| format!("{}: no CERTIFICATE block", path.display()))?;
    let cert =
        x509_cert::Certificate::from_der(&der).map_err(|e| format!("{}: {e}", path.display()))?;
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((crate::graph::cert::thumbprint(&der), spki))
}

impl Simulator {
    pub fn new(tenant: Tenant, client_id: String, client_secret: String, faults: Faults) -> Self {
        Self {
            tenant,
            client_id,
            client_secret,
            token_lifetime_secs: 3599,
            federated: None,
            certificate: None,
            faults,
            tokens: Mutex::new(HashMap::new()),
            device_codes: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            page_requests: AtomicU64::new(0),
            users_pages: AtomicU64::new(0),
            batch_requests: AtomicU64::new(0),
            accept_after: None,
            invitations: Mutex::new(invite::Ledger::default()),
        }
    }

    /// Serves on `addrs` (see `listen_addrs`) until the process ends, within `limits`.
    /// Prints the address first, so a caller that asked for port 0 learns the port.
    pub fn serve(
        self,
        listen: &str,
        addrs: &[SocketAddr],
        limits: http::Limits,
    ) -> Result<(), SimulatorError> {
        let failed = |source| SimulatorError::Listen {
            listen: listen.to_owned(),
            source,
        };
        let server = http::Server::bind(addrs, limits).map_err(failed)?;
        let addr = server.local_addr().map_err(failed)?;
        println!("listening on http://{addr}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        server.run(&|request| routes::handle(&self, request));
        Ok(())
    }
}

//! `export`: reads a tenant through Graph (and ARM for the billing link) into a snapshot that
//! `scan` reads unchanged. Pages go to disk as they arrive, each collection checkpoints its
//! last good page, and `manifest.json` is written last and atomically.
//!
//! `catalogue` lists what is read and from where, `fetch` pages through one collection,
//! `batch` reads the per-user collections through `$batch`, `partial` owns a collection's
//! file while it is written, `finish` puts it in place and writes the manifest, `progress`
//! shows how far it got, and `state` is the checkpoint `--resume` continues from.

mod batch;
pub mod catalogue;
mod delta;
mod directory;
mod fetch;
mod finish;
mod partial;
mod progress;
pub mod state;

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::graph::{Client, GraphError, Resource};
use crate::snapshot::manifest::{CollectionEntry, MANIFEST, Status};
use catalogue::{COLLECTIONS, Source};
use finish::{finished, write_manifest};
use progress::Reporter;
use state::State;

pub use catalogue::USER_SELECT;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("{0}")]
    Folder(String),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("collection {collection} failed: {source}")]
    Collection {
        collection: String,
        #[source]
        source: GraphError,
    },
}

impl ExportError {
    pub fn help(&self) -> Option<String> {
        match self {
            ExportError::Collection { .. } => Some(
                "the snapshot is marked incomplete; run the same command with --resume to continue where it stopped".into(),
            ),
            _ => None,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_owned(),
        source,
    }
}

pub struct ExportOptions {
    pub out: PathBuf,
    pub resume: bool,
    pub page_size: u32,
    pub skip: Vec<String>,
    /// Collections read only when asked for (memberships, authenticationMethods,
    /// convertedUsers).
    pub opt_in: Vec<String>,
    pub cloud: String,
    pub tenant_id: Option<String>,
    /// An earlier snapshot of the tenant: users are read as the changes since its delta link.
    pub since: Option<PathBuf>,
    /// Progress lines on standard error.
    pub progress: bool,
}

/// What the summary shows per collection.
pub struct Outcome {
    pub name: String,
    pub entry: CollectionEntry,
}

pub fn run(client: &Client, options: &ExportOptions) -> Result<Vec<Outcome>, ExportError> {
    let dir = &options.out;
    let mut state = open_state(client, options)?;
    // A federated assertion (a CI job's OIDC token) is valid for minutes: sign in to Resource
    // Manager while it is fresh, so the billing link is still read after a long users export.
    if !options.skip.iter().any(|s| s == "guestUsages")
        && state.progress("guestUsages").entry.is_none()
    {
        client.sign_in_early(Resource::Arm);
    }
    for (name, source, permission) in COLLECTIONS {
        if state.progress(name).entry.is_some() {
            continue;
        }
        let started = Instant::now();
        let mut reporter = Reporter::start(options.progress, name);
        let result = collect(client, options, &mut state, name, *source, &mut reporter);
        let entry = match settle(result, *source, permission) {
            Ok(entry) => entry,
            Err(e) => {
                state.save(dir).map_err(io(dir))?;
                write_manifest(dir, &state, false)?;
                return Err(ExportError::Collection {
                    collection: (*name).to_owned(),
                    source: e,
                });
            }
        };
        reporter.finish(name, &entry, started.elapsed());
        if *name == "organization" && state.tenant_id.is_none() {
            state.tenant_id = first_id(&dir.join("organization.jsonl"));
        }
        state.progress(name).entry = Some(entry);
        state.save(dir).map_err(io(dir))?;
    }
    write_manifest(dir, &state, true)?;
    let _ = std::fs::remove_file(State::path(dir));
    Ok(outcomes(&state))
}

/// The checkpoint to continue from with `--resume`, or a new one in an empty folder.
fn open_state(client: &Client, options: &ExportOptions) -> Result<State, ExportError> {
    let dir = &options.out;
    if options.resume {
        return State::load(dir)
            .map_err(ExportError::Folder)?
            .ok_or_else(|| {
                ExportError::Folder(format!(
                    "{} holds no interrupted export to resume",
                    dir.display()
                ))
            });
    }
    if dir.join(MANIFEST).exists() || State::path(dir).exists() {
        return Err(ExportError::Folder(format!(
            "{} already holds a snapshot or an interrupted export; pass --resume to continue it, or choose an empty folder",
            dir.display()
        )));
    }
    if !crate::output::is_empty_dir(dir).map_err(io(dir))? {
        return Err(ExportError::Folder(format!(
            "{} is not empty; choose a new or empty folder for the snapshot",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    Ok(State::new(
        options.tenant_id.clone(),
        &options.cloud,
        &client.endpoints.graph,
    ))
}

/// Reads one collection, or says why it was not read.
fn collect(
    client: &Client,
    options: &ExportOptions,
    state: &mut State,
    name: &str,
    source: Source,
    reporter: &mut Reporter,
) -> Result<CollectionEntry, GraphError> {
    if options.skip.iter().any(|s| s == name) {
        Ok(finished(Status::Skipped, "not asked for (--skip)"))
    } else if catalogue::OPT_IN.contains(&name) && !options.opt_in.iter().any(|s| s == name) {
        Ok(finished(Status::Skipped, "not asked for"))
    } else if matches!(source, Source::PerUser(..) | Source::DomainTenants)
        && !state
            .progress("users")
            .entry
            .as_ref()
            .is_some_and(|e| e.status == Status::Ok)
    {
        Ok(finished(Status::Skipped, "users were not collected"))
    } else if name == "users" {
        match delta::users(client, options, state, reporter)? {
            delta::Users::Done(entry) => Ok(entry),
            delta::Users::Full => fetch::fetch(client, options, state, name, source, reporter),
        }
    } else if let Source::PerUser(template, key) = source {
        batch::fetch_per_user(client, options, state, name, template, key, reporter)
    } else if matches!(source, Source::DomainTenants) {
        directory::domain_tenants(client, options, name, reporter)
    } else if matches!(source, Source::GuestUsages) && !client.auth.can_sign_in(Resource::Arm) {
        Ok(finished(
            Status::Skipped,
            "no Azure Resource Manager token was given",
        ))
    } else {
        fetch::fetch(client, options, state, name, source, reporter)
    }
}

/// Turns a refusal the export can record (a missing permission, an endpoint that is not
/// there) into the collection's entry; any other error stops the export.
fn settle(
    result: Result<CollectionEntry, GraphError>,
    source: Source,
    permission: &str,
) -> Result<CollectionEntry, GraphError> {
    match result {
        Ok(entry) => Ok(entry),
        Err(GraphError::Auth(m)) if matches!(source, Source::GuestUsages) => Ok(finished(
            Status::Denied,
            &format!("cannot sign in to Azure Resource Manager: {m}"),
        )),
        Err(e) => match e.status() {
            Some(403) => Ok(finished(
                Status::Denied,
                &format!("403 {}: grant {permission}", short(&e)),
            )),
            Some(404 | 501) => Ok(finished(
                Status::Unavailable,
                &format!("{} {}", e.status().unwrap_or(404), short(&e)),
            )),
            _ => Err(e),
        },
    }
}

/// Every collection's entry, in the checkpoint's order.
fn outcomes(state: &State) -> Vec<Outcome> {
    state
        .collections
        .iter()
        .filter_map(|(n, p)| {
            p.entry.clone().map(|entry| Outcome {
                name: n.clone(),
                entry,
            })
        })
        .collect()
}

fn short(e: &GraphError) -> String {
    match e {
        GraphError::Status { code, message, .. } => format!("{code}: {message}"),
        other => other.to_string(),
    }
}

fn first_id(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(text.lines().next()?).ok()?;
    v["id"].as_str().map(str::to_owned)
}

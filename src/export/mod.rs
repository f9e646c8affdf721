//! `export`: reads a tenant through Graph (and ARM for the billing link) into a snapshot that
//! `scan` reads unchanged. Pages go to disk as they arrive, each collection checkpoints its
//! last good page, and `manifest.json` is written last and atomically.

pub mod state;

use std::fs::OpenOptions;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::graph::{Client, GraphError, Page, Resource};
use crate::snapshot::lines::hex;
use crate::snapshot::manifest::{CollectionEntry, FORMAT, MANIFEST, Manifest, Status, Tool};
use crate::snapshot::writer::write_atomic;
use state::State;

/// The user properties the rules read, plus a few a reviewer wants to see.
pub const USER_SELECT: &str = "id,displayName,userPrincipalName,mail,otherMails,proxyAddresses,userType,accountEnabled,creationType,externalUserState,onPremisesUserPrincipalName,onPremisesSyncEnabled,assignedPlans,companyName,createdDateTime";
const SUBSCRIPTIONS_API: &str = "2022-12-01";
const GUEST_USAGES_API: &str = "2021-04-01";
/// How often a collection may start over after an expired or repeated page token.
const MAX_RESTARTS: u32 = 3;

#[derive(Debug, Clone, Copy)]
enum Source {
    List(&'static str),
    Single(&'static str),
    GuestUsages,
    /// One request per user, sent 20 at a time through `$batch`: the URL (with `{id}`) and
    /// the key the user's list is written under.
    PerUser(&'static str, &'static str),
}

/// Every collection an export reads, where from, and the least privileged permission.
const COLLECTIONS: &[(&str, Source, &str)] = &[
    (
        "organization",
        Source::List("/v1.0/organization"),
        "Organization.Read.All",
    ),
    ("domains", Source::List("/v1.0/domains"), "Domain.Read.All"),
    ("users", Source::List("/v1.0/users"), "User.Read.All"),
    (
        "authorizationPolicy",
        Source::Single("/v1.0/policies/authorizationPolicy"),
        "Policy.Read.All",
    ),
    (
        "crossTenantAccessPolicyDefault",
        Source::Single("/v1.0/policies/crossTenantAccessPolicy/default"),
        "Policy.Read.All",
    ),
    (
        "crossTenantAccessPolicyPartners",
        Source::List("/v1.0/policies/crossTenantAccessPolicy/partners"),
        "Policy.Read.All",
    ),
    (
        "b2bManagementPolicies",
        Source::List("/beta/policies/b2bManagementPolicies"),
        "Policy.Read.All",
    ),
    (
        "emailAuthenticationMethodConfiguration",
        Source::Single(
            "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email",
        ),
        "Policy.Read.All",
    ),
    (
        "guestUsages",
        Source::GuestUsages,
        "the Azure Reader role (Microsoft.AzureActiveDirectory/guestUsages/read) on each subscription",
    ),
    (
        "memberships",
        Source::PerUser("/users/{id}/memberOf?$select=id,displayName", "memberOf"),
        "GroupMember.Read.All",
    ),
    (
        "authenticationMethods",
        Source::PerUser("/users/{id}/authentication/methods", "methods"),
        "UserAuthenticationMethod.Read.All",
    ),
];

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

/// Progress on standard error: a bar per collection (count and rate) on a terminal, plain
/// log lines otherwise, nothing with `--quiet`.
enum Reporter {
    Quiet,
    Lines { last: Instant },
    Bar(indicatif::ProgressBar),
}

impl Reporter {
    fn start(enabled: bool, name: &str) -> Self {
        use std::io::IsTerminal;
        if !enabled {
            return Reporter::Quiet;
        }
        if !std::io::stderr().is_terminal() {
            return Reporter::Lines {
                last: Instant::now(),
            };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} {prefix:<40} {human_pos:>10} records  {msg:>10}  {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(name.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        Reporter::Bar(bar)
    }

    fn update(&mut self, name: &str, count: u64) {
        match self {
            Reporter::Quiet => {}
            Reporter::Lines { last } => {
                if last.elapsed() > Duration::from_secs(5) {
                    eprintln!("{name}: {count} records so far");
                    *last = Instant::now();
                }
            }
            Reporter::Bar(bar) => {
                bar.set_position(count);
                let secs = bar.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!("{:.0}/s", count as f64 / secs));
            }
        }
    }

    fn note(&self, message: &str) {
        match self {
            Reporter::Quiet => {}
            Reporter::Lines { .. } => eprintln!("{message}"),
            Reporter::Bar(bar) => bar.println(message),
        }
    }

    fn finish(self, name: &str, entry: &CollectionEntry, took: Duration) {
        let line = format!(
            "{name}: {} ({} records, {:.1} s)",
            entry.status.as_str(),
            entry.count.unwrap_or(0),
            took.as_secs_f64()
        );
        match self {
            Reporter::Quiet => {}
            Reporter::Lines { .. } => eprintln!("{line}"),
            Reporter::Bar(bar) => bar.finish_with_message(line.clone()),
        }
    }
}

pub struct ExportOptions {
    pub out: PathBuf,
    pub resume: bool,
    pub page_size: u32,
    pub skip: Vec<String>,
    /// Per-user collections asked for (memberships, authenticationMethods).
    pub per_user: Vec<String>,
    pub cloud: String,
    pub tenant_id: Option<String>,
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
    let mut state = if options.resume {
        State::load(dir)
            .map_err(ExportError::Folder)?
            .ok_or_else(|| {
                ExportError::Folder(format!(
                    "{} holds no interrupted export to resume",
                    dir.display()
                ))
            })?
    } else {
        if dir.join(MANIFEST).exists() || State::path(dir).exists() {
            return Err(ExportError::Folder(format!(
                "{} already holds a snapshot or an interrupted export; pass --resume to continue it, or choose an empty folder",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        State::new(
            options.tenant_id.clone(),
            &options.cloud,
            &client.endpoints.graph,
        )
    };
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
        let result = if options.skip.iter().any(|s| s == name) {
            Ok(finished(Status::Skipped, "not asked for (--skip)"))
        } else if matches!(source, Source::PerUser(..))
            && !options.per_user.iter().any(|s| s == name)
        {
            Ok(finished(Status::Skipped, "not asked for"))
        } else if matches!(source, Source::PerUser(..))
            && !state
                .progress("users")
                .entry
                .as_ref()
                .is_some_and(|e| e.status == Status::Ok)
        {
            Ok(finished(Status::Skipped, "users were not collected"))
        } else if let Source::PerUser(template, key) = source {
            fetch_per_user(
                client,
                options,
                &mut state,
                name,
                template,
                key,
                &mut reporter,
            )
        } else if matches!(source, Source::GuestUsages) && !client.auth.can_sign_in(Resource::Arm) {
            Ok(finished(
                Status::Skipped,
                "no Azure Resource Manager token was given",
            ))
        } else {
            fetch(client, options, &mut state, name, *source, &mut reporter)
        };
        let entry = match result {
            Ok(entry) => entry,
            Err(GraphError::Auth(m)) if matches!(source, Source::GuestUsages) => finished(
                Status::Denied,
                &format!("cannot sign in to Azure Resource Manager: {m}"),
            ),
            Err(e) => match e.status() {
                Some(403) => finished(
                    Status::Denied,
                    &format!("403 {}: grant {permission}", short(&e)),
                ),
                Some(404 | 501) => finished(
                    Status::Unavailable,
                    &format!("{} {}", e.status().unwrap_or(404), short(&e)),
                ),
                _ => {
                    state.save(dir).map_err(io(dir))?;
                    write_manifest(dir, &state, false)?;
                    return Err(ExportError::Collection {
                        collection: (*name).to_owned(),
                        source: e,
                    });
                }
            },
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
    Ok(state
        .collections
        .iter()
        .filter_map(|(n, p)| {
            p.entry.clone().map(|entry| Outcome {
                name: n.clone(),
                entry,
            })
        })
        .collect())
}

fn short(e: &GraphError) -> String {
    match e {
        GraphError::Status { code, message, .. } => format!("{code}: {message}"),
        other => other.to_string(),
    }
}

fn finished(status: Status, reason: &str) -> CollectionEntry {
    CollectionEntry::missing(status, reason)
}

fn first_id(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(text.lines().next()?).ok()?;
    v["id"].as_str().map(str::to_owned)
}

/// Fetches one collection into `NAME.jsonl.partial`, checkpointing after every page, then
/// renames it into place and records its count and digest.
fn fetch(
    client: &Client,
    options: &ExportOptions,
    state: &mut State,
    name: &str,
    source: Source,
    reporter: &mut Reporter,
) -> Result<CollectionEntry, GraphError> {
    let dir = &options.out;
    let partial = dir.join(format!("{name}.jsonl.partial"));
    let io_err =
        |e: std::io::Error| GraphError::Config(format!("cannot write {}: {e}", partial.display()));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&partial)
        .map_err(io_err)?;
    let first_url = match source {
        Source::List("/v1.0/users") => format!(
            "{}/v1.0/users?$select={USER_SELECT}&$top={}",
            client.endpoints.graph, options.page_size
        ),
        Source::List(path) | Source::Single(path) | Source::PerUser(path, _) => {
            format!("{}{path}", client.endpoints.graph)
        }
        Source::GuestUsages => format!(
            "{}/subscriptions?api-version={SUBSCRIPTIONS_API}",
            client.endpoints.arm
        ),
    };
    let progress = state.progress(name).clone();
    // Whatever follows the last checkpoint is an unfinished page: drop it.
    file.set_len(progress.offset).map_err(io_err)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.seek(SeekFrom::End(0)).map_err(io_err)?;
    let mut url = progress
        .next_link
        .clone()
        .unwrap_or_else(|| first_url.clone());
    let mut count = progress.count;
    let mut seen_links = std::collections::HashSet::new();
    let resource = if matches!(source, Source::GuestUsages) {
        Resource::Arm
    } else {
        Resource::Graph
    };
    std::thread::scope(|scope| -> Result<(), GraphError> {
        // The next page is requested while this one is written.
        let mut inflight: Option<std::thread::ScopedJoinHandle<'_, Result<Page, GraphError>>> =
            None;
        loop {
            let fetched = match inflight.take() {
                Some(h) => h.join().unwrap_or_else(|_| {
                    Err(GraphError::Config(
                        "a page request stopped unexpectedly".into(),
                    ))
                }),
                None => client.get(resource, &url),
            };
            let page = match fetched {
                Ok(p) => p,
                Err(e) if e.is_expired_page_token() => {
                    restart(state, name, &mut out, "the page token expired", reporter)
                        .map_err(io_err)?;
                    count = 0;
                    url = first_url.clone();
                    seen_links.clear();
                    if state.progress(name).restarts > MAX_RESTARTS {
                        return Err(e);
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            let next = match page.next_link {
                Some(next) if next == url || !seen_links.insert(next.clone()) => {
                    restart(state, name, &mut out, "a next link repeated", reporter)
                        .map_err(io_err)?;
                    count = 0;
                    url = first_url.clone();
                    seen_links.clear();
                    if state.progress(name).restarts > MAX_RESTARTS {
                        return Err(GraphError::Config(format!(
                            "{name}: Graph kept repeating a page; try again later"
                        )));
                    }
                    continue;
                }
                other => other,
            };
            if let Some(n) = next.clone().filter(|_| resource == Resource::Graph) {
                inflight = Some(scope.spawn(move || client.get(resource, &n)));
            }
            let items = match source {
                Source::GuestUsages => guest_usages(client, &page.value)?,
                _ => page.value,
            };
            for item in &items {
                out.write_all(item.get().as_bytes()).map_err(io_err)?;
                out.write_all(b"\n").map_err(io_err)?;
            }
            count += items.len() as u64;
            out.flush().map_err(io_err)?;
            let offset = out.get_ref().metadata().map_err(io_err)?.len();
            let p = state.progress(name);
            p.offset = offset;
            p.count = count;
            p.next_link = next.clone();
            state.save(dir).map_err(io_err)?;
            reporter.update(name, count);
            match next {
                Some(n) => url = n,
                None => return Ok(()),
            }
        }
    })?;
    drop(out);
    finish_file(dir, name, &partial, count).map_err(io_err)
}

/// A per-user collection through `$batch`, 20 users a request. Sub-requests Graph throttled
/// (429, 503, 504) are retried one by one with the client's own retries; a user deleted since
/// the users page was read (404) is left out; a 403 denies the whole collection.
fn fetch_per_user(
    client: &Client,
    options: &ExportOptions,
    state: &mut State,
    name: &str,
    template: &str,
    key: &str,
    reporter: &mut Reporter,
) -> Result<CollectionEntry, GraphError> {
    use std::io::BufRead;
    let dir = &options.out;
    let partial = dir.join(format!("{name}.jsonl.partial"));
    let io_err =
        |e: std::io::Error| GraphError::Config(format!("cannot write {}: {e}", partial.display()));
    let users = std::fs::File::open(dir.join("users.jsonl")).map_err(io_err)?;
    let progress = state.progress(name).clone();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&partial)
        .map_err(io_err)?;
    file.set_len(progress.offset).map_err(io_err)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.seek(SeekFrom::End(0)).map_err(io_err)?;
    let (mut written, mut done) = (progress.count, progress.users_done);
    let ids: Vec<String> = std::io::BufReader::new(users)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l).ok()?;
            v["id"].as_str().map(str::to_owned)
        })
        .skip(done as usize)
        .collect();
    for chunk in ids.chunks(crate::plan::BATCH_SIZE) {
        let lists = batch_lists(client, template, chunk)?;
        for (id, list) in chunk.iter().zip(lists) {
            if let Some(list) = list {
                let mut record = serde_json::Map::new();
                record.insert("id".into(), id.as_str().into());
                record.insert(key.into(), list.into());
                serde_json::to_writer(&mut out, &record).map_err(|e| io_err(e.into()))?;
                out.write_all(b"\n").map_err(io_err)?;
                written += 1;
            }
        }
        done += chunk.len() as u64;
        out.flush().map_err(io_err)?;
        let offset = out.get_ref().metadata().map_err(io_err)?.len();
        let p = state.progress(name);
        p.offset = offset;
        p.count = written;
        p.users_done = done;
        state.save(dir).map_err(io_err)?;
        reporter.update(name, written);
    }
    drop(out);
    finish_file(dir, name, &partial, written).map_err(io_err)
}

/// Every item of a list, following next links.
fn all_items(client: &Client, first: Page) -> Result<Vec<serde_json::Value>, GraphError> {
    let parse = |p: &Page| -> Vec<serde_json::Value> {
        p.value
            .iter()
            .filter_map(|v| serde_json::from_str(v.get()).ok())
            .collect()
    };
    let mut items = parse(&first);
    let mut next = first.next_link;
    while let Some(n) = next {
        let p = client.get(Resource::Graph, &n)?;
        items.extend(parse(&p));
        next = p.next_link;
    }
    Ok(items)
}

/// One `$batch` of up to 20 users: each user's list, or `None` for a user that is gone.
fn batch_lists(
    client: &Client,
    template: &str,
    chunk: &[String],
) -> Result<Vec<Option<Vec<serde_json::Value>>>, GraphError> {
    let requests: Vec<serde_json::Value> = chunk
        .iter()
        .enumerate()
        .map(|(i, id)| {
            serde_json::json!({"id": (i + 1).to_string(), "method": "GET", "url": template.replace("{id}", id)})
        })
        .collect();
    let response = client.batch(&serde_json::json!({ "requests": requests }))?;
    let mut lists = vec![None; chunk.len()];
    for r in response["responses"].as_array().into_iter().flatten() {
        let Some(i) = r["id"]
            .as_str()
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|i| (1..=chunk.len()).contains(i))
        else {
            continue;
        };
        let url = format!(
            "{}/v1.0{}",
            client.endpoints.graph,
            template.replace("{id}", &chunk[i - 1])
        );
        let status = r["status"].as_u64().unwrap_or(0) as u16;
        lists[i - 1] = match status {
            200 => {
                let body = &r["body"];
                let first = Page {
                    value: Vec::new(),
                    next_link: body["@odata.nextLink"].as_str().map(str::to_owned),
                };
                let mut items = body["value"].as_array().cloned().unwrap_or_default();
                items.extend(all_items(client, first)?);
                Some(items)
            }
            404 => None,
            // Throttled inside the batch: this one request again, with the client's retries.
            429 | 503 | 504 => {
                if status == 429 {
                    client
                        .stats
                        .throttled
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Some(all_items(client, client.get(Resource::Graph, &url)?)?)
            }
            _ => {
                return Err(GraphError::Status {
                    status,
                    url: crate::graph::client::redact(&url),
                    code: r["body"]["error"]["code"].as_str().unwrap_or("").to_owned(),
                    message: r["body"]["error"]["message"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                });
            }
        };
    }
    Ok(lists)
}

/// Renames a finished partial file into place and records its count and digest.
fn finish_file(
    dir: &Path,
    name: &str,
    partial: &Path,
    count: u64,
) -> std::io::Result<CollectionEntry> {
    let final_name = format!("{name}.jsonl");
    let final_path = dir.join(&final_name);
    std::fs::rename(partial, &final_path)?;
    let mut hasher = Sha256::new();
    std::io::copy(
        &mut std::io::BufReader::new(std::fs::File::open(&final_path)?),
        &mut hasher,
    )?;
    Ok(CollectionEntry {
        file: Some(final_name),
        count: Some(count),
        sha256: Some(hex(&hasher.finalize())),
        status: Status::Ok,
        reason: None,
    })
}

/// Starts a collection over from its first page, dropping what was written: Graph offers no
/// way to continue after a refused page token, and starting over can neither lose nor repeat
/// an account.
fn restart(
    state: &mut State,
    name: &str,
    out: &mut BufWriter<std::fs::File>,
    why: &str,
    reporter: &Reporter,
) -> std::io::Result<()> {
    out.flush()?;
    out.get_mut().set_len(0)?;
    out.seek(SeekFrom::Start(0))?;
    let p = state.progress(name);
    p.restarts += 1;
    p.offset = 0;
    p.count = 0;
    p.next_link = None;
    reporter.note(&format!(
        "{name}: {why}; starting the collection over (restart {})",
        p.restarts
    ));
    Ok(())
}

/// The guestUsages resources of every subscription on a page of subscriptions.
fn guest_usages(
    client: &Client,
    subscriptions: &[Box<serde_json::value::RawValue>],
) -> Result<Vec<Box<serde_json::value::RawValue>>, GraphError> {
    let mut out = Vec::new();
    for s in subscriptions {
        let s: serde_json::Value = serde_json::from_str(s.get()).unwrap_or_default();
        let Some(id) = s["subscriptionId"].as_str() else {
            continue;
        };
        let url = format!(
            "{}/subscriptions/{id}/providers/Microsoft.AzureActiveDirectory/guestUsages?api-version={GUEST_USAGES_API}",
            client.endpoints.arm
        );
        out.extend(client.get(Resource::Arm, &url)?.value);
    }
    Ok(out)
}

fn write_manifest(dir: &Path, state: &State, complete: bool) -> Result<(), ExportError> {
    let mut collections = std::collections::BTreeMap::new();
    for name in crate::snapshot::manifest::COLLECTIONS {
        let entry = match state.collections.get(*name).and_then(|p| p.entry.clone()) {
            Some(e) => e,
            None if COLLECTIONS.iter().any(|(n, _, _)| n == name) => {
                if complete {
                    continue;
                }
                finished(
                    Status::Skipped,
                    "not collected yet: the export stopped before it",
                )
            }
            None => finished(Status::Skipped, "not asked for"),
        };
        collections.insert((*name).to_owned(), entry);
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        tenant_id: state.tenant_id.clone(),
        cloud: Some(state.cloud.clone()),
        exported_at: Some(state.started_at.clone()),
        tool: Some(Tool {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }),
        complete,
        collections,
    };
    let path = dir.join(MANIFEST);
    let text =
        serde_json::to_vec_pretty(&manifest).map_err(|e| ExportError::Folder(e.to_string()))?;
    write_atomic(&path, &text).map_err(io(&path))
}

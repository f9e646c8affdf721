//! One collection read page by page (a Graph list or single object, or the guestUsages of
//! every ARM subscription) into its partial file, checkpointed after every page and started
//! over when Graph refuses a page token or repeats a page.

use std::collections::HashSet;
use std::path::Path;
use std::thread::ScopedJoinHandle;

use serde_json::value::RawValue;

use super::ExportOptions;
use super::catalogue::{GUEST_USAGES_API, SUBSCRIPTIONS_API, Source, USER_SELECT};
use super::partial::Partial;
use super::progress::Reporter;
use super::state::State;
use crate::graph::{Client, GraphError, Page, Resource};
use crate::snapshot::manifest::CollectionEntry;

/// How often a collection may start over after an expired or repeated page token.
const MAX_RESTARTS: u32 = 3;

/// A collection being paged through: where its records go and which page comes next.
struct Paging<'a> {
    dir: &'a Path,
    state: &'a mut State,
    name: &'a str,
    reporter: &'a mut Reporter,
    partial: Partial,
    first_url: String,
    url: String,
    count: u64,
    seen_links: HashSet<String>,
}

/// Fetches one collection into `NAME.jsonl.partial`, checkpointing after every page, then
/// renames it into place and records its count and digest.
pub(super) fn fetch(
    client: &Client,
    options: &ExportOptions,
    state: &mut State,
    name: &str,
    source: Source,
    reporter: &mut Reporter,
) -> Result<CollectionEntry, GraphError> {
    let dir = &options.out;
    let progress = state.progress(name).clone();
    let partial = Partial::open(Partial::path(dir, name), progress.offset)?;
    let first_url = first_url(client, options.page_size, source);
    let mut paging = Paging {
        dir,
        state,
        name,
        reporter,
        partial,
        url: progress.next_link.unwrap_or_else(|| first_url.clone()),
        first_url,
        count: progress.count,
        seen_links: HashSet::new(),
    };
    paging.pages(client, source)?;
    let Paging { partial, count, .. } = paging;
    partial.finish(dir, name, count)
}

/// The address of a collection's first page.
fn first_url(client: &Client, page_size: u32, source: Source) -> String {
    match source {
        Source::List("/v1.0/users") => format!(
            "{}/v1.0/users?$select={USER_SELECT}&$top={}",
            client.endpoints.graph, page_size
        ),
        Source::List(path) | Source::Single(path) | Source::PerUser(path, _) => {
            format!("{}{path}", client.endpoints.graph)
        }
        Source::RestrictedUnits => format!(
            "{}/v1.0/directory/administrativeUnits?$select=id,displayName,isMemberManagementRestricted",
            client.endpoints.graph
        ),
        Source::DomainTenants => unreachable!("domain tenants are looked up, not paged"),
        Source::GuestUsages => format!(
            "{}/subscriptions?api-version={SUBSCRIPTIONS_API}",
            client.endpoints.arm
        ),
    }
}

impl Paging<'_> {
    /// Reads every page from `self.url` on, writing each as it arrives.
    fn pages(&mut self, client: &Client, source: Source) -> Result<(), GraphError> {
        let resource = if matches!(source, Source::GuestUsages) {
            Resource::Arm
        } else {
            Resource::Graph
        };
        std::thread::scope(|scope| -> Result<(), GraphError> {
            // The next page is requested while this one is written.
            let mut inflight: Option<ScopedJoinHandle<'_, Result<Page, GraphError>>> = None;
            loop {
                let fetched = match inflight.take() {
                    Some(h) => joined(h),
                    None => client.get(resource, &self.url),
                };
                let page = match fetched {
                    Ok(p) => p,
                    Err(e) if e.is_expired_page_token() => {
                        if self.start_over("the page token expired")? {
                            return Err(e);
                        }
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if self.repeats(page.next_link.as_deref()) {
                    if self.start_over("a next link repeated")? {
                        return Err(GraphError::Config(format!(
                            "{}: Graph kept repeating a page; try again later",
                            self.name
                        )));
                    }
                    continue;
                }
                let next = page.next_link;
                if let Some(n) = next.clone().filter(|_| resource == Resource::Graph) {
                    inflight = Some(scope.spawn(move || client.get(resource, &n)));
                }
                let items = match source {
                    Source::GuestUsages => guest_usages(client, &page.value)?,
                    Source::RestrictedUnits => super::directory::with_members(client, page.value)?,
                    _ => page.value,
                };
                self.write_page(&items, next.clone())?;
                match next {
                    Some(n) => self.url = n,
                    None => return Ok(()),
                }
            }
        })
    }

    /// Whether a page's next link was seen before: following it would go round in circles.
    fn repeats(&mut self, next: Option<&str>) -> bool {
        next.is_some_and(|next| next == self.url || !self.seen_links.insert(next.to_owned()))
    }

    /// Starts the collection over from its first page, dropping what was written: Graph offers
    /// no way to continue after a refused page token, and starting over can neither lose nor
    /// repeat an account. Returns whether it has now started over more often than allowed.
    fn start_over(&mut self, why: &str) -> Result<bool, GraphError> {
        self.partial.empty()?;
        let p = self.state.progress(self.name);
        p.restarts += 1;
        p.offset = 0;
        p.count = 0;
        p.next_link = None;
        let restarts = p.restarts;
        self.reporter.note(&format!(
            "{}: {why}; starting the collection over (restart {restarts})",
            self.name
        ));
        self.count = 0;
        self.url = self.first_url.clone();
        self.seen_links.clear();
        Ok(restarts > MAX_RESTARTS)
    }

    /// Appends a page's records and checkpoints them with the link to the page after.
    fn write_page(
        &mut self,
        items: &[Box<RawValue>],
        next: Option<String>,
    ) -> Result<(), GraphError> {
        for item in items {
            self.partial.write_line(item.get().as_bytes())?;
        }
        self.count += items.len() as u64;
        let offset = self.partial.flush()?;
        let p = self.state.progress(self.name);
        p.offset = offset;
        p.count = self.count;
        p.next_link = next;
        self.state
            .save(self.dir)
            .map_err(|e| self.partial.error(e))?;
        self.reporter.update(self.name, self.count);
        Ok(())
    }
}

/// The page a background request fetched.
fn joined(h: ScopedJoinHandle<'_, Result<Page, GraphError>>) -> Result<Page, GraphError> {
    h.join().unwrap_or_else(|_| {
        Err(GraphError::Config(
            "a page request stopped unexpectedly".into(),
        ))
    })
}

/// The guestUsages resources of every subscription on a page of subscriptions.
fn guest_usages(
    client: &Client,
    subscriptions: &[Box<RawValue>],
) -> Result<Vec<Box<RawValue>>, GraphError> {
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

/// Every item of a list, following next links.
pub(super) fn all_items(
    client: &Client,
    first: Page,
) -> Result<Vec<serde_json::Value>, GraphError> {
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

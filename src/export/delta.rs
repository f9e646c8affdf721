//! The users delta link, and `export --since OLD`.
//!
//! Before users are read in full, `/users/delta` with the same `$select` and
//! `$deltatoken=latest` gives a link that starts "from now" (Graph's delta query: the query
//! parameters of the first request are kept in the token; `$deltatoken=latest` answers only a
//! deltaLink). Taken before the read, every change made during or after it comes back in the
//! next round, so applying that round to the users read in full gives the tenant as it is.
//! The link goes into the manifest (`usersDeltaLink`).
//!
//! With `--since OLD`, users are not read in full: the rounds after OLD's link give each user
//! added or changed since (the whole selected object) or removed (`@removed`: soft-deleted,
//! `changed`, or deleted for good, `deleted`), applied to OLD's `users.jsonl` (read, checked
//! against its digest, never changed) into the new snapshot. A token Graph no longer knows
//! (expired after seven days: `syncStateNotFound`; a reset: 410 Gone) falls back to a full
//! read of users, said on standard error. Everything else is read in full as usual.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use serde_json::value::RawValue;

use super::ExportOptions;
use super::catalogue::USER_SELECT;
use super::partial::Partial;
use super::progress::Reporter;
use super::state::State;
use crate::graph::{Client, GraphError, Resource};
use crate::snapshot::lines::{BlockReader, verify};
use crate::snapshot::manifest::{CollectionEntry, CollectionFile, Manifest};

/// What to do about users.
pub(super) enum Users {
    /// Written from OLD and the changes since: this is the entry.
    Done(CollectionEntry),
    /// Read in full (the delta link for next time is taken).
    Full,
}

pub(super) fn users(
    client: &Client,
    options: &ExportOptions,
    state: &mut State,
    reporter: &mut Reporter,
) -> Result<Users, GraphError> {
    if let Some(old) = &options.since {
        match since_link(old, state, &client.endpoints.graph) {
            Ok((link, file)) => {
                if let Some(entry) = apply_changes(client, options, state, &file, &link, reporter)?
                {
                    return Ok(Users::Done(entry));
                }
            }
            Err(why) => reporter.note(&format!("users: {why}: reading all users")),
        }
    }
    if state.users_delta_link.is_none() {
        take_latest(client, state, reporter);
    }
    Ok(Users::Full)
}

/// The delta link to follow from OLD, or why there is none to use. The link must lead to
/// the Graph endpoint this export signs in to: a snapshot is a file that may come from
/// anywhere, and the request carries the token.
fn since_link(old: &Path, state: &State, graph: &str) -> Result<(String, CollectionFile), String> {
    let manifest =
        Manifest::load(old).map_err(|e| format!("{} cannot be read ({e})", old.display()))?;
    if let (Some(a), Some(b)) = (&manifest.tenant_id, &state.tenant_id)
        && !a.eq_ignore_ascii_case(b)
    {
        return Err(format!(
            "{} is a snapshot of another tenant ({a})",
            old.display()
        ));
    }
    let Some(file) = manifest.file(old, "users") else {
        return Err(format!(
            "{} holds no complete users collection",
            old.display()
        ));
    };
    let link = manifest.users_delta_link.ok_or_else(|| {
        format!(
            "{} has no users delta link (exported by an earlier version, or Graph refused one)",
            old.display()
        )
    })?;
    let base = format!("{}/", graph.trim_end_matches('/'));
    if !link.starts_with(&base) {
        return Err(format!(
            "the users delta link of {} does not lead to {graph}",
            old.display()
        ));
    }
    Ok((link, file))
}

/// Takes the link that starts "from now", before users are read; without one a later
/// `--since` reads all users.
fn take_latest(client: &Client, state: &mut State, reporter: &mut Reporter) {
    let url = format!(
        "{}/v1.0/users/delta?$select={USER_SELECT}&$deltatoken=latest",
        client.endpoints.graph
    );
    match client.get(Resource::Graph, &url) {
        Ok(page) => state.users_delta_link = page.delta_link,
        Err(e) => reporter.note(&format!(
            "users: no delta link ({}); a later export --since will read all users",
            super::short(&e)
        )),
    }
}

/// Whether Graph no longer knows the token: it expired or the sync state was reset.
fn token_refused(e: &GraphError) -> bool {
    match e {
        GraphError::Status { status: 410, .. } => true,
        GraphError::Status { code, .. } => {
            code.eq_ignore_ascii_case("syncStateNotFound")
                || code.eq_ignore_ascii_case("resyncRequired")
        }
        _ => false,
    }
}

/// Every user changed since `link`: its new object, or `None` when it was removed; and the
/// link for the round after. `None` when Graph refused the token.
type Changes = (HashMap<String, Option<Box<RawValue>>>, Vec<String>, String);

fn read_changes(
    client: &Client,
    link: &str,
    reporter: &mut Reporter,
) -> Result<Option<Changes>, GraphError> {
    let mut changed: HashMap<String, Option<Box<RawValue>>> = HashMap::new();
    let mut order = Vec::new();
    let mut url = link.to_owned();
    loop {
        let page = match client.get(Resource::Graph, &url) {
            Ok(page) => page,
            Err(e) if token_refused(&e) => {
                reporter.note(&format!(
                    "users: Graph no longer knows the delta token ({}): reading all users",
                    super::short(&e)
                ));
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        for item in page.value {
            let Some((id, removed)) = identify(item.get().as_bytes()) else {
                continue;
            };
            if !changed.contains_key(&id) {
                order.push(id.clone());
            }
            changed.insert(id, (!removed).then_some(item));
        }
        match (page.next_link, page.delta_link) {
            (Some(next), _) => url = next,
            (None, Some(delta)) => return Ok(Some((changed, order, delta))),
            (None, None) => {
                return Err(GraphError::Config(
                    "a users delta page has neither a next link nor a delta link".into(),
                ));
            }
        }
    }
}

/// A delta item's (or a users line's) lower-cased id and whether it says the user was removed.
fn identify(item: &[u8]) -> Option<(String, bool)> {
    #[derive(serde::Deserialize)]
    struct Item {
        id: Option<String>,
        #[serde(rename = "@removed")]
        removed: Option<serde::de::IgnoredAny>,
    }
    let i: Item = serde_json::from_slice(item).ok()?;
    Some((i.id?.to_ascii_lowercase(), i.removed.is_some()))
}

/// Writes users.jsonl from OLD's users and the changes since its link; `None` when Graph
/// refused the link.
fn apply_changes(
    client: &Client,
    options: &ExportOptions,
    state: &mut State,
    file: &CollectionFile,
    link: &str,
    reporter: &mut Reporter,
) -> Result<Option<CollectionEntry>, GraphError> {
    let Some((mut changed, order, next_link)) = read_changes(client, link, reporter)? else {
        return Ok(None);
    };
    let changes = order.len();
    let dir = &options.out;
    let mut partial = Partial::open(Partial::path(dir, "users"), 0)?;
    let mut reader = BlockReader::open(file).map_err(|e| GraphError::Config(e.to_string()))?;
    let mut count = 0u64;
    while let Some(block) = reader
        .next_block(&file.path)
        .map_err(|e| GraphError::Config(e.to_string()))?
    {
        // Ids are read on every core; lines are written in order.
        let lines: Vec<&[u8]> = block.lines().map(|(_, l)| l).collect();
        let ids: Vec<Option<String>> = lines
            .par_iter()
            .map(|l| identify(l).map(|(id, _)| id))
            .collect();
        for (line, id) in lines.into_iter().zip(ids) {
            let now = match id.and_then(|id| changed.remove(&id)) {
                Some(Some(new)) => Some(new.get().as_bytes().to_vec()),
                Some(None) => None,
                None => Some(line.to_vec()),
            };
            if let Some(bytes) = now {
                partial.write_line(&bytes)?;
                count += 1;
            }
        }
    }
    verify(file, &reader.finish()).map_err(|e| GraphError::Config(e.to_string()))?;
    for id in order {
        if let Some(Some(new)) = changed.remove(&id) {
            partial.write_line(new.get().as_bytes())?;
            count += 1;
        }
    }
    partial.flush()?;
    state.users_delta_link = Some(next_link);
    reporter.note(&format!(
        "users: read from {} and the {changes} changed, added or removed since",
        options.since.as_deref().unwrap_or(dir).display()
    ));
    partial.finish(dir, "users", count).map(Some)
}

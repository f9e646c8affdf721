//! The per-user collections (memberships, authentication methods): one request per user of
//! `users.jsonl`, sent through `$batch`, with a checkpoint after every batch.

use serde_json::Value;

use super::ExportOptions;
use super::fetch::all_items;
use super::partial::{Partial, write_error};
use super::progress::Reporter;
use super::state::State;
use crate::graph::{Client, GraphError, Page, Resource};
use crate::snapshot::manifest::CollectionEntry;

/// A per-user collection through `$batch`, 20 users a request. Sub-requests Graph throttled
/// (429, 503, 504) are retried one by one with the client's own retries; a user deleted since
/// the users page was read (404) is left out; a 403 denies the whole collection.
pub(super) fn fetch_per_user(
    client: &Client,
    options: &ExportOptions,
    state: &mut State,
    name: &str,
    template: &str,
    key: &str,
    reporter: &mut Reporter,
) -> Result<CollectionEntry, GraphError> {
    let dir = &options.out;
    let path = Partial::path(dir, name);
    let users = std::fs::File::open(dir.join("users.jsonl")).map_err(write_error(&path))?;
    let progress = state.progress(name).clone();
    let mut partial = Partial::open(path, progress.offset)?;
    let (mut written, mut done) = (progress.count, progress.users_done);
    let ids = user_ids(users, done);
    for chunk in ids.chunks(crate::graph::BATCH_SIZE) {
        let lists = batch_lists(client, template, chunk)?;
        written += write_lists(&mut partial, key, chunk, lists)?;
        done += chunk.len() as u64;
        let offset = partial.flush()?;
        let p = state.progress(name);
        p.offset = offset;
        p.count = written;
        p.users_done = done;
        state.save(dir).map_err(|e| partial.error(e))?;
        reporter.update(name, written);
    }
    partial.finish(dir, name, written)
}

/// The ids in `users.jsonl`, after the first `done`.
fn user_ids(users: std::fs::File, done: u64) -> Vec<String> {
    use std::io::BufRead;
    std::io::BufReader::new(users)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| {
            let v: Value = serde_json::from_str(&l).ok()?;
            v["id"].as_str().map(str::to_owned)
        })
        .skip(done as usize)
        .collect()
}

/// Writes a record for every user of the batch that is still there; returns how many.
fn write_lists(
    partial: &mut Partial,
    key: &str,
    chunk: &[String],
    lists: Vec<Option<Vec<Value>>>,
) -> Result<u64, GraphError> {
    let mut written = 0;
    for (id, list) in chunk.iter().zip(lists) {
        if let Some(list) = list {
            let mut record = serde_json::Map::new();
            record.insert("id".into(), id.as_str().into());
            record.insert(key.into(), list.into());
            partial.write_record(&record)?;
            written += 1;
        }
    }
    Ok(written)
}

/// One `$batch` of up to 20 users: each user's list, or `None` for a user that is gone.
fn batch_lists(
    client: &Client,
    template: &str,
    chunk: &[String],
) -> Result<Vec<Option<Vec<Value>>>, GraphError> {
    let requests: Vec<Value> = chunk
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
        lists[i - 1] = user_list(client, template, &chunk[i - 1], r)?;
    }
    Ok(lists)
}

/// What one response of a batch says about its user: the whole list (following next links),
/// `None` for a user that is gone, or why the collection fails.
fn user_list(
    client: &Client,
    template: &str,
    id: &str,
    r: &Value,
) -> Result<Option<Vec<Value>>, GraphError> {
    let url = format!(
        "{}/v1.0{}",
        client.endpoints.graph,
        template.replace("{id}", id)
    );
    let status = r["status"].as_u64().unwrap_or(0) as u16;
    match status {
        200 => {
            let body = &r["body"];
            let first = Page {
                value: Vec::new(),
                next_link: body["@odata.nextLink"].as_str().map(str::to_owned),
                delta_link: None,
            };
            let mut items = body["value"].as_array().cloned().unwrap_or_default();
            items.extend(all_items(client, first)?);
            Ok(Some(items))
        }
        404 => Ok(None),
        // Throttled inside the batch: this one request again, with the client's retries.
        429 | 503 | 504 => {
            if status == 429 {
                client
                    .stats
                    .throttled
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(Some(all_items(client, client.get(Resource::Graph, &url)?)?))
        }
        _ => Err(GraphError::Status {
            status,
            url: crate::graph::redact(&url),
            code: r["body"]["error"]["code"].as_str().unwrap_or("").to_owned(),
            message: r["body"]["error"]["message"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        }),
    }
}

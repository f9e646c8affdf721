//! The end of a collection and of an export: a finished partial file renamed into place with
//! its count and digest, and `manifest.json` written atomically from the checkpoint.

use std::path::Path;

use super::catalogue::COLLECTIONS;
use super::state::State;
use super::{ExportError, io};
use crate::snapshot::lines::sha256_hex_of;
use crate::snapshot::manifest::{CollectionEntry, FORMAT, MANIFEST, Manifest, Status, Tool};

/// A collection that was not collected, and why.
pub(super) fn finished(status: Status, reason: &str) -> CollectionEntry {
    CollectionEntry::missing(status, reason)
}

/// Renames a finished partial file into place and records its count and digest.
pub(super) fn finish_file(
    dir: &Path,
    name: &str,
    partial: &Path,
    count: u64,
) -> std::io::Result<CollectionEntry> {
    let final_name = format!("{name}.jsonl");
    let final_path = dir.join(&final_name);
    std::fs::rename(partial, &final_path)?;
    let digest = sha256_hex_of(std::fs::File::open(&final_path)?)?;
    Ok(CollectionEntry::ok(final_name, count, digest))
}

pub(super) fn write_manifest(dir: &Path, state: &State, complete: bool) -> Result<(), ExportError> {
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
        tool: Some(Tool::current()),
        complete,
        collections,
        users_delta_link: state.users_delta_link.clone(),
    };
    manifest.write(dir).map_err(io(&dir.join(MANIFEST)))
}

//! The snapshot folder: a manifest plus one JSON-lines file of raw Graph objects per collection.
//!
//! `manifest` owns the contract, `lines` streams a collection file block by block (plain or
//! zstd, hashed as it goes), `users` turns `users.jsonl` into columns in parallel, `tenant`
//! reads the small policy collections, and `writer` produces snapshots (generator, export).

mod block;
pub mod directory;
pub mod lines;
pub mod manifest;
mod plans;
pub mod tenant;
mod text;
pub use text::Text;
pub mod users;
pub mod writer;

use std::path::{Path, PathBuf};

pub use manifest::{CollectionEntry, Manifest, Status};

/// What went wrong reading a snapshot. Every variant names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{dir} is not a snapshot: it has no manifest.json")]
    NoManifest { dir: PathBuf },
    #[error("{path}: {message}")]
    BadManifest { path: PathBuf, message: String },
    #[error("{path} line {line}: {message}")]
    BadLine {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: the manifest counts {expected} records but the file holds {actual}")]
    CountMismatch {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("{path}: the sha256 in the manifest does not match the file's content")]
    DigestMismatch { path: PathBuf },
    #[error("{path}: user id {id} appears twice (lines {first} and {second})")]
    DuplicateId {
        path: PathBuf,
        id: String,
        first: u64,
        second: u64,
    },
    #[error("the snapshot is marked incomplete (\"complete\": false in {path})")]
    Incomplete { path: PathBuf },
    #[error("the snapshot has no usable users collection ({reason})")]
    NoUsers { reason: String },
}

impl SnapshotError {
    pub fn help(&self) -> Option<String> {
        match self {
            SnapshotError::NoManifest { .. } => Some(
                "point at a folder written by `b2bready export` or `b2bready generate`".into(),
            ),
            SnapshotError::Incomplete { .. } => Some(
                "resume the export with `b2bready export --resume DIR`, or scan it anyway with --allow-incomplete".into(),
            ),
            SnapshotError::CountMismatch { .. } | SnapshotError::DigestMismatch { .. } => Some(
                "the file changed after the manifest was written; export again, or run `b2bready snapshot seal DIR` if you edited it on purpose".into(),
            ),
            _ => None,
        }
    }
}

pub fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Write {
        path: path.to_owned(),
        source,
    }
}

pub fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    }
}

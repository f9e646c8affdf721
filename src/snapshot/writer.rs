//! Writes snapshots: each collection to a temporary file renamed into place when whole, and
//! `manifest.json` last, atomically, so a folder never looks more complete than it is.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use crate::output::{now_rfc3339, write_atomic};

use super::lines::hex;
use super::manifest::{CollectionEntry, FORMAT, MANIFEST, Manifest, Status, Tool};
use super::{SnapshotError, write_error};

pub struct SnapshotWriter {
    dir: PathBuf,
    manifest: Manifest,
    zstd: bool,
}

/// One collection being written.
pub struct CollectionSink {
    name: String,
    file_name: String,
    tmp: PathBuf,
    out: Box<dyn Write + Send>,
    hasher: Sha256,
    count: u64,
}

impl SnapshotWriter {
    pub fn create(dir: &Path, tenant_id: &str, zstd: bool) -> Result<Self, SnapshotError> {
        std::fs::create_dir_all(dir).map_err(write_error(dir))?;
        Ok(Self {
            dir: dir.to_owned(),
            manifest: Manifest {
                format: FORMAT.into(),
                tenant_id: Some(tenant_id.into()),
                cloud: Some("global".into()),
                exported_at: Some(now_rfc3339()),
                tool: Some(Tool::current()),
                complete: false,
                collections: Default::default(),
                users_delta_link: None,
            },
            zstd,
        })
    }

    pub fn set_exported_at(&mut self, at: &str) {
        self.manifest.exported_at = Some(at.into());
    }

    pub fn collection(&self, name: &str) -> Result<CollectionSink, SnapshotError> {
        let file_name = if self.zstd {
            format!("{name}.jsonl.zst")
        } else {
            format!("{name}.jsonl")
        };
        let target = self.dir.join(&file_name);
        let (tmp, f) = crate::output::create_temporary(&target).map_err(write_error(&target))?;
        let out: Box<dyn Write + Send> = if self.zstd {
            Box::new(
                zstd::Encoder::new(f, 3)
                    .map_err(write_error(&tmp))?
                    .auto_finish(),
            )
        } else {
            Box::new(BufWriter::with_capacity(1 << 20, f))
        };
        Ok(CollectionSink {
            name: name.into(),
            file_name,
            tmp,
            out,
            hasher: Sha256::new(),
            count: 0,
        })
    }

    /// Writes a whole collection from JSON values.
    pub fn write_all<'a>(
        &mut self,
        name: &str,
        records: impl IntoIterator<Item = &'a serde_json::Value>,
    ) -> Result<(), SnapshotError> {
        let mut sink = self.collection(name)?;
        for r in records {
            sink.write_value(r)?;
        }
        self.add(sink)
    }

    pub fn add(&mut self, sink: CollectionSink) -> Result<(), SnapshotError> {
        let CollectionSink {
            name,
            file_name,
            tmp,
            mut out,
            hasher,
            count,
        } = sink;
        out.flush().map_err(write_error(&tmp))?;
        drop(out);
        let path = self.dir.join(&file_name);
        std::fs::rename(&tmp, &path).map_err(write_error(&path))?;
        self.manifest.collections.insert(
            name,
            CollectionEntry::ok(file_name, count, hex(&hasher.finalize())),
        );
        Ok(())
    }

    /// Records a collection that was not collected, and why.
    pub fn mark(&mut self, name: &str, status: Status, reason: &str) {
        self.manifest
            .collections
            .insert(name.into(), CollectionEntry::missing(status, reason));
    }

    pub fn finish(mut self, complete: bool) -> Result<PathBuf, SnapshotError> {
        self.manifest.complete = complete;
        let path = self.dir.join(MANIFEST);
        self.manifest.write(&self.dir).map_err(write_error(&path))?;
        Ok(self.dir)
    }
}

impl CollectionSink {
    /// Writes one record; `line` must be one JSON object without a newline.
    pub fn write_line(&mut self, line: &[u8]) -> Result<(), SnapshotError> {
        self.hasher.update(line);
        self.hasher.update(b"\n");
        self.out
            .write_all(line)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(write_error(&self.tmp))?;
        self.count += 1;
        Ok(())
    }

    pub fn write_value(&mut self, value: &serde_json::Value) -> Result<(), SnapshotError> {
        let line = serde_json::to_vec(value).map_err(|e| SnapshotError::BadManifest {
            path: self.tmp.clone(),
            message: e.to_string(),
        })?;
        self.write_line(&line)
    }
}

/// Recomputes the count and sha256 of every `ok` collection and rewrites the manifest.
pub fn seal(dir: &Path) -> Result<usize, SnapshotError> {
    let mut manifest = Manifest::read(dir)?;
    let mut sealed = 0;
    let names: Vec<String> = manifest.collections.keys().cloned().collect();
    for name in names {
        let Some(mut file) = manifest.file(dir, &name) else {
            continue;
        };
        // Whatever the manifest said: the count is what seal recomputes.
        file.count = u64::MAX;
        let mut reader = super::lines::BlockReader::open(&file)?;
        while reader.next_block(&file.path)?.is_some() {}
        let digest = reader.finish();
        if let Some(entry) = manifest.collections.get_mut(&name) {
            entry.count = Some(digest.records);
            entry.sha256 = Some(digest.sha256);
            sealed += 1;
        }
    }
    manifest
        .write(dir)
        .map_err(write_error(&dir.join(MANIFEST)))?;
    Ok(sealed)
}

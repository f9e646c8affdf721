//! A collection's `NAME.jsonl.partial` while it is fetched: opened at its last checkpoint,
//! appended to, measured at every checkpoint, emptied when the collection starts over, and
//! finished into place once whole.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::graph::GraphError;
use crate::snapshot::manifest::CollectionEntry;

use super::finish::finish_file;

pub(super) struct Partial {
    path: PathBuf,
    out: BufWriter<File>,
}

/// How a failure to write a partial file (or to read what fills it) is reported.
pub(super) fn write_error(path: &Path) -> impl Fn(std::io::Error) -> GraphError + '_ {
    move |e| GraphError::Config(format!("cannot write {}: {e}", path.display()))
}

impl Partial {
    pub(super) fn path(dir: &Path, name: &str) -> PathBuf {
        dir.join(format!("{name}.jsonl.partial"))
    }

    /// Opens (or creates) the file at `path`, keeping its first `offset` bytes.
    pub(super) fn open(path: PathBuf, offset: u64) -> Result<Self, GraphError> {
        let fail = write_error(&path);
        // A fresh collection gets a new file: whatever is already there under that name (a
        // link planted in the folder) is refused, never followed. A resumed one must be the
        // plain file an earlier run wrote.
        let file = if offset == 0 && std::fs::symlink_metadata(&path).is_err() {
            OpenOptions::new()
                .create_new(true)
                .write(true)
                .open(&path)
                .map_err(&fail)?
        } else {
            crate::files::open_regular_no_link(&path).map_err(&fail)?;
            OpenOptions::new().write(true).open(&path).map_err(&fail)?
        };
        // Whatever follows the last checkpoint is an unfinished page: drop it.
        file.set_len(offset).map_err(&fail)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.seek(SeekFrom::End(0)).map_err(&fail)?;
        drop(fail);
        Ok(Self { path, out })
    }

    /// The error for something that failed while filling this file.
    pub(super) fn error(&self, e: std::io::Error) -> GraphError {
        write_error(&self.path)(e)
    }

    /// Appends one record that is already a line of JSON.
    pub(super) fn write_line(&mut self, line: &[u8]) -> Result<(), GraphError> {
        let fail = write_error(&self.path);
        self.out.write_all(line).map_err(&fail)?;
        self.out.write_all(b"\n").map_err(&fail)
    }

    /// Appends one record serialised from a JSON object.
    pub(super) fn write_record(
        &mut self,
        record: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), GraphError> {
        let fail = write_error(&self.path);
        serde_json::to_writer(&mut self.out, record).map_err(|e| fail(e.into()))?;
        self.out.write_all(b"\n").map_err(&fail)
    }

    /// Flushes what was written and returns the file's length: the offset to checkpoint.
    pub(super) fn flush(&mut self) -> Result<u64, GraphError> {
        let fail = write_error(&self.path);
        self.out.flush().map_err(&fail)?;
        Ok(self.out.get_ref().metadata().map_err(&fail)?.len())
    }

    /// Drops everything written so far.
    pub(super) fn empty(&mut self) -> Result<(), GraphError> {
        let fail = write_error(&self.path);
        self.out.flush().map_err(&fail)?;
        self.out.get_mut().set_len(0).map_err(&fail)?;
        self.out.seek(SeekFrom::Start(0)).map_err(&fail)?;
        Ok(())
    }

    /// Closes the file, renames it into place and records its count and digest.
    pub(super) fn finish(
        self,
        dir: &Path,
        name: &str,
        count: u64,
    ) -> Result<CollectionEntry, GraphError> {
        let Partial { path, out } = self;
        drop(out);
        finish_file(dir, name, &path, count).map_err(write_error(&path))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_planted_link_is_never_written_through() {
        let dir = std::env::temp_dir().join(format!("b2bready-partial-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, "keep me").expect("write");
        let path = Partial::path(&dir, "users");
        std::os::unix::fs::symlink(&victim, &path).expect("link");
        for offset in [0, 3] {
            let err = Partial::open(path.clone(), offset).err().expect("refused");
            assert!(err.to_string().contains("symbolic link"), "{err}");
        }
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep me");
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}

//! Writing what b2bready produces (reports, plans, snapshots): files appear whole or not at
//! all, and spreadsheet cells cannot run formulas. Shared by every stage that writes, so none
//! of them reaches up into another for it.

mod behind;
pub mod csv;

use behind::WriteBehind;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A write failed inside a renderer that does not know which file it writes; `write_file`
    /// names the file, a command writing to standard output says so.
    #[error("cannot write the output")]
    Write(#[from] std::io::Error),
    #[error("cannot render {what}: {message}")]
    Render { what: String, message: String },
}

impl OutputError {
    /// The I/O error underneath, if any (a closed pipe ends a command quietly).
    pub fn io(&self) -> Option<&std::io::Error> {
        match self {
            OutputError::Io { source, .. } | OutputError::Write(source) => Some(source),
            OutputError::Render { .. } => None,
        }
    }

    /// Names the file a renderer's write error happened in.
    fn at(self, path: &Path) -> OutputError {
        match self {
            OutputError::Write(source) => OutputError::Io {
                path: path.to_owned(),
                source,
            },
            other => other,
        }
    }
}

/// Writes `name` in `dir` through `render`, atomically: a reader never sees half a file.
pub fn write_file(
    dir: &Path,
    name: &str,
    render: impl FnOnce(&mut (dyn Write + Send)) -> Result<(), OutputError>,
) -> Result<PathBuf, OutputError> {
    let path = dir.join(name);
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source| OutputError::Io { path: p, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let (tmp, file) = create_temporary(&path).map_err(io(&path))?;
    let mut out = BufWriter::with_capacity(1 << 20, WriteBehind::new(file));
    let result = render(&mut out).and_then(|()| out.flush().map_err(io(&path)));
    drop(out);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.at(&path));
    }
    put_in_place(&tmp, &path).map_err(io(&path))?;
    Ok(path)
}

/// Puts a finished file in place of `path`, as [`rename_into_place`] does.
///
/// On Linux a regular file already there is swapped out (`RENAME_EXCHANGE`) and then removed:
/// renamed over another file, a new one has ext4 allocate and start writing all of its blocks
/// within the rename (`auto_da_alloc`), most of a second for a report of 1.5 GB, where a file
/// that replaces nothing is written back in the background. Readers still see the old file or
/// the new one, whole.
fn put_in_place(tmp: &Path, path: &Path) -> std::io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file()) {
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        if renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RenameFlags::RENAME_EXCHANGE).is_ok() {
            // `tmp` names the old file now; were it left behind, it would only be a hidden,
            // complete copy of the old one.
            let _ = std::fs::remove_file(tmp);
            return Ok(());
        }
    }
    rename_into_place(tmp, path)
}

/// Writes `first` and `second` in `dir` through one renderer (two files from one pass over
/// the same rows), each atomically; a write error names the file it happened in.
pub fn write_pair(
    dir: &Path,
    [first, second]: [&str; 2],
    render: impl FnOnce(&mut (dyn Write + Send), &mut (dyn Write + Send)) -> Result<(), OutputError>,
) -> Result<[PathBuf; 2], OutputError> {
    let mut second_path = None;
    let first_path = write_file(dir, first, |a| {
        let mut a = Watched {
            inner: a,
            failed: false,
        };
        match write_file(dir, second, |b| render(&mut a, b)) {
            Ok(path) => {
                second_path = Some(path);
                Ok(())
            }
            // `write_file` named the second file, but the write that failed was the first's.
            Err(OutputError::Io { source, .. }) if a.failed => Err(OutputError::Write(source)),
            Err(e) => Err(e),
        }
    })?;
    let second_path = second_path.unwrap_or_else(|| dir.join(second));
    Ok([first_path, second_path])
}

/// A writer that remembers whether a write to it failed.
struct Watched<'a> {
    inner: &'a mut (dyn Write + Send),
    failed: bool,
}

impl Write for Watched<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf);
        self.failed |= written.is_err();
        written
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let flushed = self.inner.flush();
        self.failed |= flushed.is_err();
        flushed
    }
}

/// Writes `bytes` to a new temporary sibling, syncs it and renames it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_file(path, bytes, true)
}

/// Writes `bytes` to a new temporary sibling and renames it over `path`; with `sync`, the
/// bytes reach the disk before the rename (a checkpoint that only has to survive a killed
/// process can skip that).
pub fn replace_file(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let (tmp, mut f) = create_temporary(path)?;
    let written = f
        .write_all(bytes)
        .and_then(|()| if sync { f.sync_all() } else { Ok(()) });
    drop(f);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    rename_into_place(&tmp, path)
}

/// A new file next to `path`, created exclusively under a name nobody could have planted: an
/// existing file or link of that name makes the creation fail (and another name is tried), so
/// a link planted in an output folder can never redirect the write.
pub fn create_temporary(path: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for _ in 0..16 {
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_file_name(format!(
            ".{name}.{}-{serial}-{nanos:x}.partial",
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary name was free")))
}

/// Renames a finished temporary file over `path`. A link at `path` is replaced, never
/// followed; a folder there is an error.
pub fn rename_into_place(tmp: &Path, path: &Path) -> std::io::Result<()> {
    let result = std::fs::rename(tmp, path);
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

/// Whether `dir` is missing or empty.
pub fn is_empty_dir(dir: &Path) -> std::io::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

/// Now, to the second, as RFC 3339.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_pair_of_files_appears_whole_or_not_at_all() {
        let dir = tempfile::tempdir().expect("temp");
        let written = write_pair(dir.path(), ["a.json", "a.csv"], |a, b| {
            a.write_all(b"[1]")?;
            b.write_all(b"x\n1\n")?;
            Ok(())
        })
        .expect("written");
        assert_eq!(
            written,
            [dir.path().join("a.json"), dir.path().join("a.csv")]
        );
        assert_eq!(std::fs::read(&written[0]).expect("a.json"), b"[1]");
        assert_eq!(std::fs::read(&written[1]).expect("a.csv"), b"x\n1\n");
        let failed = write_pair(dir.path(), ["b.json", "b.csv"], |a, b| {
            a.write_all(b"[")?;
            b.write_all(b"x\n")?;
            Err(OutputError::Render {
                what: "b".into(),
                message: "stopped".into(),
            })
        });
        assert!(failed.is_err_and(|e| e.to_string().contains("stopped")));
        // Neither file, nor a temporary one, is left behind.
        assert_eq!(names(dir.path()), ["a.csv", "a.json"]);
    }

    #[test]
    fn a_large_file_streamed_to_disk_is_written_whole() {
        let dir = tempfile::tempdir().expect("temp");
        // Past the point where written pages are let go, in pieces of awkward sizes.
        let piece: Vec<u8> = (0..=250u8).cycle().take(1_000_003).collect();
        let pieces = (WriteBehind::START + 3 * WriteBehind::WINDOW) as usize / piece.len() + 1;
        let path = write_file(dir.path(), "big.bin", |w| {
            for _ in 0..pieces {
                w.write_all(&piece)?;
            }
            Ok(())
        })
        .expect("written");
        let read = std::fs::read(&path).expect("read");
        assert_eq!(read.len(), piece.len() * pieces);
        assert!(read.chunks(piece.len()).all(|c| c == piece.as_slice()));
        assert_eq!(names(dir.path()), ["big.bin"]);
    }

    #[test]
    fn a_file_written_again_replaces_the_old_one_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().expect("temp");
        for text in ["first, longer\n", "second\n"] {
            write_file(dir.path(), "r.txt", |w| Ok(w.write_all(text.as_bytes())?))
                .expect("written");
            let read = std::fs::read_to_string(dir.path().join("r.txt")).expect("read");
            assert_eq!(read, text);
            assert_eq!(names(dir.path()), ["r.txt"]);
        }
        // A folder in the way is an error, and stays a folder.
        std::fs::create_dir(dir.path().join("d")).expect("folder");
        let refused = write_file(dir.path(), "d", |w| Ok(w.write_all(b"x")?));
        assert!(refused.is_err());
        assert!(dir.path().join("d").is_dir());
        assert_eq!(names(dir.path()), ["d", "r.txt"]);
    }
}

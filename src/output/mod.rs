//! Writing what b2bready produces (reports, plans, snapshots): files appear whole or not at
//! all, and spreadsheet cells cannot run formulas. Shared by every stage that writes, so none
//! of them reaches up into another for it.

pub mod csv;

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
    render: impl FnOnce(&mut dyn Write) -> Result<(), OutputError>,
) -> Result<PathBuf, OutputError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.partial"));
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source| OutputError::Io { path: p, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let result = render(&mut out).and_then(|()| out.flush().map_err(io(&path)));
    if let Err(e) = result {
        drop(out);
        let _ = std::fs::remove_file(&tmp);
        return Err(e.at(&path));
    }
    drop(out);
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(path)
}

/// Writes `bytes` to a temporary sibling, syncs it and renames it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.partial"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Now, to the second, as RFC 3339.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string())
}

//! Reading a user's rule folders: `*.toml` files found without following links, each a
//! regular file read with a bound, so a rule folder from a pull request cannot make b2bready
//! read (and quote) anything else.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::RuleLoadError;

/// The largest rule file read, in bytes.
const MAX_RULE_FILE_BYTES: u64 = 1 << 20;
/// How deeply folders may nest below a rule folder.
const MAX_FOLDER_DEPTH: usize = 16;
/// The most rule files below one rule folder.
const MAX_RULE_FILES: usize = 10_000;

/// Collects the `*.toml` files below `dir`. Links are not followed: a linked `*.toml` file or
/// a linked folder is refused (it could point anywhere, or back up the tree).
pub(super) fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), RuleLoadError> {
    let err = |path: &Path, message: String| RuleLoadError {
        path: path.to_owned(),
        message,
    };
    if depth > MAX_FOLDER_DEPTH {
        return Err(err(
            dir,
            format!("folders nest more than {MAX_FOLDER_DEPTH} levels below the rules folder"),
        ));
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| err(dir, format!("cannot read the rules folder: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| err(dir, format!("cannot read the rules folder: {e}")))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| err(&path, format!("cannot read the file: {e}")))?;
        let toml = path.extension().is_some_and(|e| e == "toml");
        if kind.is_symlink() {
            if toml || path.is_dir() {
                return Err(err(
                    &path,
                    "is a symbolic link; rule files and folders must be real files and folders"
                        .into(),
                ));
            }
        } else if kind.is_dir() {
            walk(&path, depth + 1, out)?;
        } else if toml {
            out.push(path);
            if out.len() > MAX_RULE_FILES {
                return Err(err(
                    dir,
                    format!("more than {MAX_RULE_FILES} rule files below the rules folder"),
                ));
            }
        }
    }
    Ok(())
}

/// Reads a rule file: a regular file (not a link, a pipe or a device) of at most
/// [`MAX_RULE_FILE_BYTES`].
pub(super) fn read_rule_file(path: &Path) -> Result<String, RuleLoadError> {
    let err = |message: String| RuleLoadError {
        path: path.to_owned(),
        message,
    };
    let meta =
        std::fs::symlink_metadata(path).map_err(|e| err(format!("cannot read the file: {e}")))?;
    if meta.file_type().is_symlink() {
        return Err(err(
            "is a symbolic link; rule files must be regular files".into()
        ));
    }
    if !meta.is_file() {
        return Err(err("is not a regular file".into()));
    }
    let file = open_no_follow(path).map_err(|e| err(format!("cannot read the file: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| err(format!("cannot read the file: {e}")))?;
    if !meta.is_file() {
        return Err(err("is not a regular file".into()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_RULE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(format!("cannot read the file: {e}")))?;
    if bytes.len() as u64 > MAX_RULE_FILE_BYTES {
        return Err(err(format!(
            "larger than {} MiB; a rule file may have at most that",
            MAX_RULE_FILE_BYTES >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|_| err("is not UTF-8 text".into()))
}

/// Opens for reading without following a link in the last component, and without waiting
/// for a writer should the file have become a pipe since it was checked.
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options.open(path)
}

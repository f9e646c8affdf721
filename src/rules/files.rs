//! Reading a user's rule folders: `*.toml` files found without following links, each a
//! regular file read with a bound, so a rule folder from a pull request cannot make b2bready
//! read (and quote) anything else.

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
    crate::files::read_text_no_link(path, MAX_RULE_FILE_BYTES).map_err(|e| RuleLoadError {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

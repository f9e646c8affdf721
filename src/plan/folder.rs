//! The plan folder on disk: every file written whole, then `plan-files.json` with the sha256 of
//! each file, optionally signed with a key (HMAC-SHA256). Reading a plan checks all of them, so
//! an edited `invite.ps1` or batch file is caught like an edited `plan.json`.
//!
//! The digests catch accidents (a file edited, truncated, added or left over); anyone who can
//! edit the folder can also recompute them. A signature binds a reviewer's approval to the
//! exact files: it cannot be recomputed without the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Plan, PlanError, files};
use crate::snapshot::lines::{hex, sha256_hex_of};

/// The list of the folder's files and their digests, written last.
pub const FILE_LIST: &str = "plan-files.json";
pub const FILE_LIST_SCHEMA: &str = "b2bready-plan-files/1";
const SIGNATURE: &str = "HMAC-SHA256";
/// Files of a plan folder stay well below this (plan.json of a million accounts included).
const FILE_LIMIT: u64 = 4096 * crate::files::MIB;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileList {
    pub schema: String,
    /// Path inside the folder (with `/`) → sha256 of its bytes.
    pub files: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Signature {
    pub algorithm: String,
    /// The first 16 hex digits of the key's sha256, to tell keys apart.
    pub key_id: String,
    pub value: String,
}

/// A key for signing plans, read from a file the team keeps secret.
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// Reads a key file: at least 32 bytes (e.g. `openssl rand -base64 48 > plan.key`).
    pub fn load(path: &Path) -> Result<Self, PlanError> {
        let bytes =
            crate::files::read_bounded(path, 64 * 1024).map_err(|source| PlanError::Read {
                path: path.to_owned(),
                source,
            })?;
        let key = bytes.trim_ascii().to_vec();
        if key.len() < 32 {
            return Err(PlanError::Invalid {
                path: path.to_owned(),
                message: "a signing key needs at least 32 bytes".into(),
            });
        }
        Ok(SigningKey(key))
    }

    fn id(&self) -> String {
        hex(&Sha256::digest(&self.0))[..16].to_owned()
    }

    fn mac(&self, files: &BTreeMap<String, String>) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(FILE_LIST_SCHEMA.as_bytes());
        mac.update(&serde_json::to_vec(files).unwrap_or_default());
        mac
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn folder_error(dir: &Path, message: String) -> PlanError {
    PlanError::Invalid {
        path: dir.to_owned(),
        message,
    }
}

/// The file list of an earlier plan in `dir`, if `dir` holds one; an error when `dir` holds
/// anything else, so a plan never overwrites or mixes with files it did not write.
fn earlier_plan(dir: &Path) -> Result<Option<FileList>, PlanError> {
    let io = |source| PlanError::Read {
        path: dir.to_owned(),
        source,
    };
    if crate::output::is_empty_dir(dir).map_err(io)? {
        return Ok(None);
    }
    match read_file_list(dir) {
        Ok(list) => Ok(Some(list)),
        Err(_) => Err(folder_error(
            dir,
            format!(
                "is not empty and holds no b2bready plan ({FILE_LIST}); choose a new or empty folder"
            ),
        )),
    }
}

fn read_file_list(dir: &Path) -> Result<FileList, PlanError> {
    let path = dir.join(FILE_LIST);
    let text = crate::files::read_text(&path, 64 * crate::files::MIB).map_err(|source| {
        PlanError::Read {
            path: path.clone(),
            source,
        }
    })?;
    let list: FileList = serde_json::from_str(&text)
        .map_err(|e| folder_error(&path, format!("not a plan file list: {e}")))?;
    if list.schema != FILE_LIST_SCHEMA {
        return Err(folder_error(
            &path,
            format!("not a {FILE_LIST_SCHEMA} list"),
        ));
    }
    Ok(list)
}

/// Writes the plan's files into `dir` (new, empty, or holding an earlier plan, whose files are
/// replaced; files of the earlier plan that this one no longer has are removed, nothing else
/// is touched), then the file list, signed when a key is given.
pub fn write(plan: &Plan, dir: &Path, key: Option<&SigningKey>) -> Result<Vec<PathBuf>, PlanError> {
    let earlier = earlier_plan(dir)?;
    let rendered = files::render(plan)?;
    let known = |name: &str| earlier.as_ref().is_some_and(|l| l.files.contains_key(name));
    for (name, _) in &rendered {
        if dir.join(name).exists() && !known(name) {
            return Err(folder_error(
                dir,
                format!(
                    "{name} exists but was not written by b2bready; choose a new or empty folder"
                ),
            ));
        }
    }
    let mut list = BTreeMap::new();
    let mut written = Vec::new();
    for (name, bytes) in &rendered {
        let (sub, file) = name.rsplit_once('/').unwrap_or(("", name));
        let folder = dir.join(sub);
        if std::fs::symlink_metadata(&folder).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(folder_error(
                &folder,
                "is a link; plan folders hold plain folders".into(),
            ));
        }
        let path = crate::output::write_file(&folder, file, |w| Ok(w.write_all(bytes)?))?;
        list.insert(name.clone(), sha256(bytes));
        if sub.is_empty() || !written.contains(&folder) {
            written.push(if sub.is_empty() { path } else { folder });
        }
    }
    if let Some(earlier) = &earlier {
        for stale in earlier.files.keys().filter(|n| !list.contains_key(*n)) {
            let path = dir.join(stale);
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                std::fs::remove_file(&path).map_err(|source| PlanError::Read {
                    path: path.clone(),
                    source,
                })?;
            }
        }
    }
    let signature = key.map(|k| Signature {
        algorithm: SIGNATURE.into(),
        key_id: k.id(),
        value: hex(&k.mac(&list).finalize().into_bytes()),
    });
    let file_list = FileList {
        schema: FILE_LIST_SCHEMA.into(),
        files: list,
        signature,
    };
    let mut text = serde_json::to_vec_pretty(&file_list).unwrap_or_default();
    text.push(b'\n');
    let path = dir.join(FILE_LIST);
    crate::output::write_atomic(&path, &text).map_err(|source| PlanError::Read {
        path: path.clone(),
        source,
    })?;
    written.push(path);
    Ok(written)
}

/// How a plan folder checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seal {
    /// Every file matches its digest; the list is not signed.
    Digests,
    /// Every file matches, and the signature matches the key given.
    Signed,
    /// Every file matches; the list is signed, but no key was given to check it.
    SignedUnchecked,
}

/// Checks every file of a plan folder against its digest, that no file was added to
/// `batches/`, and the signature with `key` when given (a key for an unsigned plan, or a
/// signature that does not match, is an error).
pub fn verify(dir: &Path, key: Option<&SigningKey>) -> Result<Seal, PlanError> {
    let list = read_file_list(dir)?;
    let edited = |name: &str, what: &str| {
        folder_error(
            &dir.join(name),
            format!("{what} after the plan was made; make the plan again"),
        )
    };
    for (name, digest) in &list.files {
        let path = dir.join(name);
        let file = crate::files::open_regular_no_link(&path).map_err(|source| PlanError::Read {
            path: path.clone(),
            source,
        })?;
        let actual = sha256_hex_of(std::io::Read::take(file, FILE_LIMIT)).map_err(|source| {
            PlanError::Read {
                path: path.clone(),
                source,
            }
        })?;
        if actual != *digest {
            return Err(edited(name, "was edited"));
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("batches")) {
        for entry in entries.flatten() {
            let name = format!("batches/{}", entry.file_name().to_string_lossy());
            if !list.files.contains_key(&name) {
                return Err(edited(&name, "was added"));
            }
        }
    }
    match (&list.signature, key) {
        (None, None) => Ok(Seal::Digests),
        (Some(_), None) => Ok(Seal::SignedUnchecked),
        (None, Some(_)) => Err(folder_error(
            &dir.join(FILE_LIST),
            "is not signed, but a signing key was given: sign the plan with --sign-key-file when making it".into(),
        )),
        (Some(s), Some(k)) => {
            let value = hex_bytes(&s.value);
            let ok = s.algorithm == SIGNATURE
                && value.is_some_and(|v| k.mac(&list.files).verify_slice(&v).is_ok());
            if ok {
                Ok(Seal::Signed)
            } else {
                Err(folder_error(
                    &dir.join(FILE_LIST),
                    format!(
                        "its signature does not match the key given (signed with key {}, given key {}): the files changed after signing, or the key is another",
                        s.key_id,
                        k.id()
                    ),
                ))
            }
        }
    }
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

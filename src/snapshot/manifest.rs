//! `manifest.json`: format version, completeness and, per collection, file, count, digest and
//! status. Parsing is strict about what the scan relies on and lenient about the rest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{SnapshotError, io_error};

pub const FORMAT: &str = "b2bready-snapshot/1";
pub const MANIFEST: &str = "manifest.json";

/// Every collection the format defines, in the order the manifest lists them.
pub const COLLECTIONS: &[&str] = &[
    "organization",
    "domains",
    "users",
    "authorizationPolicy",
    "crossTenantAccessPolicyDefault",
    "crossTenantAccessPolicyPartners",
    "b2bManagementPolicies",
    "emailAuthenticationMethodConfiguration",
    "guestUsages",
    "memberships",
    "authenticationMethods",
    "contacts",
    "deletedUsers",
    "directoryRoles",
    "administrativeUnits",
    "conditionalAccessPolicies",
    "domainTenants",
    "convertedUsers",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Collected in full.
    Ok,
    /// The service answered 403: a permission is missing.
    Denied,
    /// The endpoint answered 404 or 501 (for example a beta endpoint).
    Unavailable,
    /// Not asked for.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Denied => "denied",
            Status::Unavailable => "unavailable",
            Status::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollectionEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub cloud: Option<String>,
    #[serde(default)]
    pub exported_at: Option<String>,
    #[serde(default)]
    pub tool: Option<Tool>,
    pub complete: bool,
    #[serde(deserialize_with = "unique_collections")]
    pub collections: BTreeMap<String, CollectionEntry>,
    /// Graph's users delta link, taken before users were read: `export --since` reads only
    /// what changed after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_delta_link: Option<String>,
}

impl Tool {
    /// This program.
    pub fn current() -> Self {
        Tool {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

impl CollectionEntry {
    /// A collection written whole: its file, non-blank lines and digest.
    pub fn ok(file: String, count: u64, sha256: String) -> Self {
        Self {
            file: Some(file),
            count: Some(count),
            sha256: Some(sha256),
            status: Status::Ok,
            reason: None,
        }
    }

    /// A collection that was not collected, and why.
    pub fn missing(status: Status, reason: &str) -> Self {
        Self {
            file: None,
            count: None,
            sha256: None,
            status,
            reason: Some(reason.into()),
        }
    }
}

/// A collection that can be read: its entry was `ok` and its file name is safe.
#[derive(Debug, Clone)]
pub struct CollectionFile {
    pub name: String,
    pub path: PathBuf,
    pub zstd: bool,
    pub count: u64,
    pub sha256: String,
}

impl Manifest {
    /// Writes the manifest into `dir`, atomically: it is the last file of a snapshot.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        crate::output::write_atomic(&dir.join(MANIFEST), text.as_bytes())
    }

    /// Reads and checks a manifest for scanning.
    pub fn load(dir: &Path) -> Result<Self, SnapshotError> {
        let manifest = Self::read(dir)?;
        for (name, entry) in &manifest.collections {
            if entry.status == Status::Ok && (entry.count.is_none() || entry.sha256.is_none()) {
                return Err(SnapshotError::BadManifest {
                    path: dir.join(MANIFEST),
                    message: format!("collection {name} is ok but lacks its count or sha256"),
                });
            }
        }
        Ok(manifest)
    }

    /// Reads a manifest without requiring counts and digests (which `seal` computes).
    pub fn read(dir: &Path) -> Result<Self, SnapshotError> {
        let path = dir.join(MANIFEST);
        let text = match crate::files::read_text(&path, MANIFEST_LIMIT) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SnapshotError::NoManifest {
                    dir: dir.to_owned(),
                });
            }
            Err(e) => return Err(io_error(&path)(e)),
        };
        let bad = |message: String| SnapshotError::BadManifest {
            path: path.clone(),
            message,
        };
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if manifest.format != FORMAT {
            return Err(bad(format!(
                "format is {:?}; this version of b2bready reads {FORMAT:?}",
                manifest.format
            )));
        }
        for (name, entry) in &manifest.collections {
            if entry.status == Status::Ok {
                let file = entry
                    .file
                    .as_deref()
                    .ok_or_else(|| bad(format!("collection {name} is ok but names no file")))?;
                check_file_name(file).map_err(|m| bad(format!("collection {name}: {m}")))?;
            }
        }
        Ok(manifest)
    }

    /// The status of a collection, `skipped` when the manifest does not list it.
    pub fn status(&self, name: &str) -> (Status, Option<&str>) {
        match self.collections.get(name) {
            Some(e) => (e.status, e.reason.as_deref()),
            None => (Status::Skipped, Some("not in the snapshot")),
        }
    }

    pub fn file(&self, dir: &Path, name: &str) -> Option<CollectionFile> {
        let entry = self.collections.get(name)?;
        if entry.status != Status::Ok {
            return None;
        }
        let file = entry.file.as_deref()?;
        Some(CollectionFile {
            name: name.to_owned(),
            path: dir.join(file),
            zstd: file.ends_with(".zst"),
            count: entry.count.unwrap_or(0),
            sha256: entry.sha256.clone().unwrap_or_default(),
        })
    }
}

/// The collections of a manifest, refusing a name given twice (JSON would let the last win,
/// and the two entries could disagree about the file).
fn unique_collections<'de, D>(d: D) -> Result<BTreeMap<String, CollectionEntry>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Unique;
    impl<'de> serde::de::Visitor<'de> for Unique {
        type Value = BTreeMap<String, CollectionEntry>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of collections")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((name, entry)) = map.next_entry::<String, CollectionEntry>()? {
                if out.contains_key(&name) {
                    return Err(serde::de::Error::custom(format!(
                        "the collection {name:?} is listed twice"
                    )));
                }
                out.insert(name, entry);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique)
}

/// A manifest lists at most a few dozen collections; more than this is not one.
const MANIFEST_LIMIT: u64 = 4 * crate::files::MIB;

/// Collection files live in the snapshot folder itself: a manifest from elsewhere must not
/// make the scan read `../../etc/passwd`.
fn check_file_name(file: &str) -> Result<(), String> {
    let plain = !file.is_empty()
        && !file.starts_with('.')
        && !file.contains(['/', '\\', ':'])
        && (file.ends_with(".jsonl") || file.ends_with(".jsonl.zst"));
    if plain {
        Ok(())
    } else {
        Err(format!(
            "file {file:?} must be a plain NAME.jsonl or NAME.jsonl.zst inside the snapshot folder"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_file_names_cannot_leave_the_folder() {
        assert!(check_file_name("users.jsonl").is_ok());
        assert!(check_file_name("users.jsonl.zst").is_ok());
        assert!(check_file_name("../users.jsonl").is_err());
        assert!(check_file_name("/etc/users.jsonl").is_err());
        assert!(check_file_name("users.json").is_err());
        assert!(check_file_name("..jsonl").is_err());
    }
}

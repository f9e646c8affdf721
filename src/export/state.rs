//! The checkpoint of an export in progress: per collection, the next link to ask for and how
//! many bytes of its partial file are good. Written atomically after every page, so a killed
//! export resumes from its last good page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::snapshot::manifest::CollectionEntry;

pub const STATE_FILE: &str = ".b2bready-export.json";
const FORMAT: &str = "b2bready-export-state/1";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The next page to fetch; `None` before the first page.
    pub next_link: Option<String>,
    /// Bytes of the partial file that hold whole, checkpointed pages.
    pub offset: u64,
    pub count: u64,
    pub restarts: u32,
    /// For per-user collections: how many users are done.
    #[serde(default)]
    pub users_done: u64,
    /// Set once the collection is finished (whatever its status).
    pub entry: Option<CollectionEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub format: String,
    pub tenant_id: Option<String>,
    pub cloud: String,
    pub graph: String,
    pub started_at: String,
    pub collections: BTreeMap<String, Progress>,
    /// The users delta link taken before users were read (`export --since` follows it).
    #[serde(default)]
    pub users_delta_link: Option<String>,
}

impl State {
    pub fn new(tenant_id: Option<String>, cloud: &str, graph: &str) -> Self {
        Self {
            format: FORMAT.into(),
            tenant_id,
            cloud: cloud.into(),
            graph: graph.into(),
            started_at: crate::snapshot::writer::now_rfc3339(),
            collections: BTreeMap::new(),
            users_delta_link: None,
        }
    }

    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    pub fn load(dir: &Path) -> Result<Option<Self>, String> {
        let path = Self::path(dir);
        let text = match crate::files::read_text(&path, 64 * crate::files::MIB) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let state: State =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if state.format != FORMAT {
            return Err(format!(
                "{}: unknown format {}",
                path.display(),
                state.format
            ));
        }
        Ok(Some(state))
    }

    /// Replaces the checkpoint by renaming a whole new file over it. No fsync: a checkpoint
    /// must survive the process being killed, which the rename ensures; after a power loss
    /// the export simply resumes from an earlier page.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::output::replace_file(&Self::path(dir), &text, false)
    }

    pub fn progress(&mut self, name: &str) -> &mut Progress {
        self.collections.entry(name.to_owned()).or_default()
    }
}

//! Helpers: the binary under test, the fixtures folder, and tenants built in a temp folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use b2bready::snapshot::writer::SnapshotWriter;

pub fn bin() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("b2bready").expect("the binary is built");
    cmd.env("SOURCE_DATE_EPOCH", "1790000000");
    cmd
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn contoso() -> PathBuf {
    fixtures().join("contoso")
}

/// A tenant as JSON-lines text per collection, written as a sealed snapshot on demand.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub tenant_id: String,
    pub collections: BTreeMap<String, String>,
}

impl Tenant {
    /// Reads every collection of a snapshot folder as text.
    pub fn from_dir(dir: &Path) -> Self {
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
        )
        .expect("manifest is JSON");
        let mut collections = BTreeMap::new();
        for (name, entry) in manifest["collections"].as_object().expect("collections") {
            if let Some(file) = entry["file"].as_str() {
                let text = std::fs::read_to_string(dir.join(file)).expect("collection file");
                collections.insert(name.clone(), text);
            }
        }
        Tenant {
            tenant_id: manifest["tenantId"].as_str().unwrap_or_default().to_owned(),
            collections,
        }
    }

    pub fn base() -> Self {
        Self::from_dir(&fixtures().join("rules").join("base"))
    }

    pub fn set(&mut self, name: &str, text: &str) -> &mut Self {
        self.collections.insert(name.to_owned(), text.to_owned());
        self
    }

    pub fn add_users(&mut self, text: &str) -> &mut Self {
        let users = self.collections.entry("users".into()).or_default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            users.push_str(line.trim());
            users.push('\n');
        }
        self
    }

    pub fn write(&self, dir: &Path) -> PathBuf {
        let mut w = SnapshotWriter::create(dir, &self.tenant_id, false).expect("writer");
        w.set_exported_at("2026-11-20T08:00:00Z");
        for (name, text) in &self.collections {
            let mut sink = w.collection(name).expect("collection");
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                sink.write_line(line.as_bytes()).expect("line");
            }
            w.add(sink).expect("add");
        }
        w.finish(true).expect("manifest")
    }
}

/// A local guest that no rule blocks.
pub fn clean_guest(id: &str, upn: &str, mail: &str) -> String {
    serde_json::json!({
        "id": id, "displayName": "Ana Costa (Adatum)", "userPrincipalName": upn, "mail": mail,
        "otherMails": [], "proxyAddresses": [], "userType": "Guest", "accountEnabled": true,
        "creationType": null, "externalUserState": null, "onPremisesUserPrincipalName": null,
        "onPremisesSyncEnabled": null, "assignedPlans": []
    })
    .to_string()
}

pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Scans with `--format json` (and `--fail-on never`) and returns findings.json.
pub fn scan_json(snapshot: &Path, extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("temp dir");
    bin()
        .args(["scan", "-q", "--fail-on", "never", "-f", "json", "-o"])
        .arg(dir.path())
        .args(extra)
        .arg(snapshot)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(dir.path().join("findings.json")).expect("findings.json");
    serde_json::from_str(&text).expect("findings.json is JSON")
}

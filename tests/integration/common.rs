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

/// Seconds since the Unix epoch, as token expiries count them.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
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
    let file = scan_json_into(dir.path(), snapshot, extra);
    let text = std::fs::read_to_string(file).expect("findings.json");
    serde_json::from_str(&text).expect("findings.json is JSON")
}

/// Scans with `--format json` (and `--fail-on never`) into `out`; the path of findings.json.
pub fn scan_json_into(out: &Path, snapshot: &Path, extra: &[&str]) -> PathBuf {
    bin()
        .args(["scan", "-q", "--fail-on", "never", "-f", "json", "-o"])
        .arg(out)
        .args(extra)
        .arg(snapshot)
        .assert()
        .code(0);
    out.join("findings.json")
}

/// A running `b2bready simulate`, stopped when dropped.
pub struct Simulator {
    child: std::process::Child,
    pub url: String,
}

pub const SIM_CLIENT: &str = "b2bready-simulator";
pub const SIM_SECRET: &str = "simulator-secret";

impl Simulator {
    pub fn start(snapshot: &Path, faults: &[&str]) -> Self {
        use std::io::BufRead;
        let exe = assert_cmd::cargo::cargo_bin("b2bready");
        let mut child = std::process::Command::new(exe)
            .arg("simulate")
            .arg(snapshot)
            .args(faults)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the simulator");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the simulator prints its address");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("address line")
            .to_owned();
        Simulator { child, url }
    }

    /// `b2bready export` pointed at this simulator, signed in with the client secret.
    /// An export of everything, the opt-in `convertedUsers` included, so that it scans as the
    /// served snapshot does.
    pub fn export(&self, tenant: &str) -> assert_cmd::Command {
        let mut cmd = self.export_default(tenant);
        cmd.arg("--converted-users");
        cmd
    }

    /// An export with the default collections only.
    pub fn export_default(&self, tenant: &str) -> assert_cmd::Command {
        let mut cmd = bin();
        cmd.arg("export")
            .args([
                "--graph-url",
                &self.url,
                "--login-url",
                &self.url,
                "--arm-url",
                &self.url,
            ])
            .args(["--retry-base-ms", "5"])
            .env("AZURE_TENANT_ID", tenant)
            .env("AZURE_CLIENT_ID", SIM_CLIENT)
            .env("AZURE_CLIENT_SECRET", SIM_SECRET)
            .env_remove("B2BREADY_ACCESS_TOKEN")
            .env_remove("AZURE_AUTHORITY_HOST");
        cmd
    }

    /// A token from the simulator's token endpoint, as `az account get-access-token` gives one.
    pub fn token(&self, tenant: &str) -> String {
        let response: serde_json::Value = reqwest::blocking::Client::new()
            .post(format!("{}/{tenant}/oauth2/v2.0/token", self.url))
            .form(&[
                ("client_id", SIM_CLIENT),
                ("client_secret", SIM_SECRET),
                ("scope", &format!("{}/.default", self.url)),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .expect("token request")
            .json()
            .expect("token JSON");
        response["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The verdicts of a snapshot, as verdicts.csv text.
pub fn verdicts_csv(snapshot: &Path, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    bin()
        .args(["scan", "-q", "--fail-on", "never", "-f", "csv", "-o"])
        .arg(dir.path())
        .args(extra)
        .arg(snapshot)
        .assert()
        .code(0);
    std::fs::read_to_string(dir.path().join("verdicts.csv")).expect("verdicts.csv")
}

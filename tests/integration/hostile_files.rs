//! Hostile files and folders, as they arrive in pull requests or from customers: no secret
//! printed, nothing read or written outside what the user named, nothing deleted, bounded time
//! and memory. Each test reproduces one attack and shows the safe behaviour.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{Tenant, bin, clean_guest, contoso, stderr_of};

const SECRET: &str = "Zq8-hunter2-CLIENT-SECRET-do-not-print";

/// A small valid snapshot with one ready account.
fn snapshot(dir: &Path) -> PathBuf {
    let mut t = Tenant::base();
    t.add_users(&clean_guest(
        "6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
        "ana.costa@contoso.com",
        "ana.costa@adatum.com",
    ));
    t.write(&dir.join("snapshot"))
}

/// A file outside every folder the user names (beside the working folder `dir`), holding a
/// secret.
fn foreign_secret(dir: &Path) -> PathBuf {
    let path = dir
        .parent()
        .expect("parent")
        .join("outside")
        .join("secret.txt");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(
        &path,
        format!("root:x:0:0:{SECRET}:/root:/bin/sh\nAZURE_CLIENT_SECRET={SECRET}\n"),
    )
    .expect("write");
    path
}

/// Runs b2bready in `dir` with the secret in its environment; returns (exit code, stdout +
/// stderr), after checking the secret appears in neither nor in any file under `dir` that is
/// not the foreign file itself.
fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = bin()
        .current_dir(dir)
        .env("AZURE_CLIENT_SECRET", SECRET)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
    assert!(!text.contains(SECRET), "the secret was printed: {text}");
    assert_no_secret_in_files(dir);
    (out.status.code(), text)
}

fn assert_no_secret_in_files(dir: &Path) {
    for entry in walk(dir) {
        if let Ok(bytes) = std::fs::read(&entry) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(SECRET),
                "the secret was written to {}",
                entry.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => out.extend(walk(&p)),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out
}

/// The working folder of a test: a folder of its own, so that `../outside` is outside it.
fn work(root: &Path) -> PathBuf {
    let d = root.join("work");
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

#[test]
fn a_config_cannot_name_files_outside_its_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = &work(dir.path());
    snapshot(d);
    let secret = foreign_secret(d);
    let cases = [
        format!("scope-file = {:?}\n", secret.display().to_string()),
        "scope-file = \"/proc/self/environ\"\n".to_owned(),
        "scope-file = \"outside/../../../../etc/passwd\"\n".to_owned(),
        "external-identities = \"../outside/secret.txt\"\n".to_owned(),
        "rule-folders = [\"/etc\"]\n".to_owned(),
    ];
    for case in cases {
        std::fs::write(d.join("b2bready.toml"), &case).expect("write");
        let (code, text) = run(d, &["scan", "snapshot"]);
        assert_eq!(code, Some(2), "{case}: {text}");
        assert!(text.contains("b2bready.toml:1: "), "{case}: {text}");
        assert!(
            text.contains("inside the config file's folder"),
            "{case}: {text}"
        );
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&secret, d.join("scope.csv")).expect("link");
        std::fs::write(d.join("b2bready.toml"), "scope-file = \"scope.csv\"\n").expect("write");
        let (code, text) = run(d, &["scan", "snapshot"]);
        assert_eq!(code, Some(2), "{text}");
        assert!(
            text.contains("leads outside the config file's folder"),
            "{text}"
        );
    }
}

#[test]
fn a_list_that_is_some_other_file_is_refused_without_quoting_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = &work(dir.path());
    snapshot(d);
    let secret = foreign_secret(d);
    let secret = secret.to_str().expect("utf-8");
    for flag in ["--scope-file", "--external-identities", "--baseline"] {
        let (code, text) = run(d, &["scan", "snapshot", "--no-config", flag, secret]);
        assert_eq!(code, Some(2), "{flag}: {text}");
        assert!(
            text.contains("secret.txt"),
            "{flag}: names the file: {text}"
        );
    }
}

/// Devices and FIFOs: Unix special files.
#[cfg(unix)]
#[test]
fn special_files_are_refused_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = &work(dir.path());
    let snap = snapshot(d);
    let fifo = d.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let specials = [PathBuf::from("/dev/zero"), fifo];
    for special in &specials {
        let s = special.to_str().expect("utf-8");
        for args in [
            vec!["scan", "snapshot", "--no-config", "--scope-file", s],
            vec!["scan", "snapshot", "--no-config", "--baseline", s],
            vec!["scan", "snapshot", "--config", s],
            vec!["export", "--out", "new", "--access-token-file", s],
        ] {
            let (code, text) = run(d, &args);
            assert_eq!(code, Some(2), "{args:?}: {text}");
            assert!(text.contains("not a regular file"), "{args:?}: {text}");
        }
    }
    for name in ["manifest.json", "users.jsonl"] {
        let target = snap.join(name);
        std::fs::remove_file(&target).expect("remove");
        std::os::unix::fs::symlink(&specials[1], &target).expect("link");
        let (code, text) = run(d, &["scan", "snapshot", "--no-config"]);
        assert_eq!(code, Some(2), "{name}: {text}");
        std::fs::remove_file(&target).expect("remove");
        snapshot(&d.join("fresh"));
        std::fs::copy(d.join("fresh/snapshot").join(name), &target).expect("restore");
        std::fs::remove_dir_all(d.join("fresh")).expect("clean");
    }
}

#[test]
fn collection_files_are_not_read_through_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = &work(dir.path());
    let snap = snapshot(d);
    let secret = foreign_secret(d);
    #[cfg(unix)]
    {
        std::fs::remove_file(snap.join("domains.jsonl")).expect("remove");
        std::os::unix::fs::symlink(&secret, snap.join("domains.jsonl")).expect("link");
        let (code, text) = run(d, &["scan", "snapshot", "--no-config"]);
        assert_eq!(code, Some(2), "{text}");
        assert!(text.contains("symbolic link"), "{text}");
    }
    let _ = (snap, secret);
}

#[test]
fn planted_links_in_the_output_folder_redirect_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = &work(dir.path());
    snapshot(d);
    let out = d.join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let victim = d.join("victim.txt");
    std::fs::write(&victim, "keep me").expect("write");
    #[cfg(unix)]
    for name in [
        ".findings.json.partial",
        "findings.json",
        ".report.html.partial",
    ] {
        std::os::unix::fs::symlink(&victim, out.join(name)).expect("link");
    }
    let (code, text) = run(
        d,
        &[
            "scan",
            "snapshot",
            "--no-config",
            "-f",
            "json,html",
            "-o",
            "out",
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "keep me");
    let meta = std::fs::symlink_metadata(out.join("findings.json")).expect("findings");
    assert!(
        meta.is_file(),
        "the link was replaced by the report, not followed"
    );
}

#[test]
fn plan_and_export_refuse_a_folder_that_is_not_theirs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = &work(dir.path());
    snapshot(d);
    let foreign = d.join("work");
    std::fs::create_dir_all(foreign.join("batches")).expect("mkdir");
    std::fs::write(foreign.join("invite.ps1"), "my own script").expect("write");
    std::fs::write(foreign.join("batches").join("notes.txt"), "my notes").expect("write");
    let (code, text) = run(d, &["plan", "snapshot", "--no-config", "--out", "work"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("holds no b2bready plan"), "{text}");
    assert_eq!(
        std::fs::read_to_string(foreign.join("invite.ps1")).expect("kept"),
        "my own script"
    );

    // An earlier plan is replaced; what b2bready did not write stays.
    let (code, text) = run(d, &["plan", "snapshot", "--no-config", "--out", "plan"]);
    assert_eq!(code, Some(0), "{text}");
    std::fs::write(d.join("plan/batches/notes.txt"), "my notes").expect("write");
    let (code, text) = run(d, &["plan", "snapshot", "--no-config", "--out", "plan"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        std::fs::read_to_string(d.join("plan/batches/notes.txt")).expect("kept"),
        "my notes"
    );

    let (code, text) = run(
        d,
        &[
            "export",
            "--out",
            "work",
            "--access-token-file",
            "work/invite.ps1",
        ],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("not empty"), "{text}");
    let (code, text) = run(d, &["generate", "--out", "snapshot", "--users", "5"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("not empty"), "{text}");
    assert!(
        d.join("snapshot/users.jsonl").exists(),
        "the snapshot is untouched"
    );
}

#[test]
fn plan_check_verifies_every_file_and_the_signature() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = &work(dir.path());
    let contoso = contoso();
    let contoso = contoso.to_str().expect("utf-8");
    std::fs::write(d.join("plan.key"), "k".repeat(48)).expect("key");
    std::fs::write(d.join("other.key"), "o".repeat(48)).expect("key");
    let plan = |extra: &[&str]| {
        let mut args = vec!["plan", contoso, "--no-config", "--out", "p"];
        args.extend(extra);
        run(d, &args)
    };
    let check = |extra: &[&str]| {
        let mut args = vec!["plan", contoso, "--no-config", "--check", "p"];
        args.extend(extra);
        run(d, &args)
    };
    assert_eq!(plan(&["--sign-key-file", "plan.key"]).0, Some(0));
    assert_eq!(check(&["--sign-key-file", "plan.key"]).0, Some(0));
    let (code, text) = check(&[]);
    assert_eq!(code, Some(0));
    assert!(text.contains("signature was not checked"), "{text}");
    let (code, text) = check(&["--sign-key-file", "other.key"]);
    assert_eq!(code, Some(2));
    assert!(text.contains("signature does not match"), "{text}");

    let script = d.join("p/invite.ps1");
    let original = std::fs::read_to_string(&script).expect("script");
    std::fs::write(&script, original.replace("-WhatIf", "-Confirm:$false")).expect("edit");
    let (code, text) = check(&[]);
    assert_eq!(code, Some(2));
    assert!(text.contains("invite.ps1: was edited"), "{text}");
    std::fs::write(&script, &original).expect("restore");

    let batch = walk(&d.join("p/batches"))
        .into_iter()
        .next()
        .expect("a batch file");
    std::fs::copy(&batch, d.join("p/batches/wave-999-batch-001.json")).expect("copy");
    let (code, text) = check(&[]);
    assert_eq!(code, Some(2));
    assert!(
        text.contains("wave-999-batch-001.json: was added"),
        "{text}"
    );
    std::fs::remove_file(d.join("p/batches/wave-999-batch-001.json")).expect("remove");

    // A deliberate editor recomputes every digest: only the signature stands against it.
    let list_path = d.join("p/plan-files.json");
    let plan_json = d.join("p/plan.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_json).expect("plan")).expect("json");
    value["accounts"][0]["request"]["invitedUserEmailAddress"] = "attacker@evil.example".into();
    value.as_object_mut().expect("object").remove("planDigest");
    let digest = sha256_hex(&serde_json::to_vec(&value).expect("bytes"));
    value["planDigest"] = digest.into();
    let mut bytes = serde_json::to_vec_pretty(&value).expect("bytes");
    bytes.push(b'\n');
    std::fs::write(&plan_json, &bytes).expect("write");
    let mut list: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&list_path).expect("list")).expect("json");
    list["files"]["plan.json"] = sha256_hex(&bytes).into();
    std::fs::write(&list_path, serde_json::to_vec_pretty(&list).expect("bytes")).expect("write");
    assert_eq!(check(&[]).0, Some(0), "digests alone cannot tell");
    let (code, text) = check(&["--sign-key-file", "plan.key"]);
    assert_eq!(code, Some(2));
    assert!(text.contains("signature does not match"), "{text}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A manifest entry for `file` claiming `count` records.
fn point_users_at(snap: &Path, file: &str, count: u64) {
    let path = snap.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("manifest")).expect("json");
    m["collections"]["users"] = serde_json::json!({
        "file": file, "count": count, "sha256": "00", "status": "ok"
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&m).expect("bytes")).expect("write");
}

#[test]
fn a_compressed_bomb_stops_early() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = &work(dir.path());
    let snap = snapshot(d);
    std::fs::remove_file(snap.join("users.jsonl")).expect("remove");
    for (filler, expect) in [
        (b'a', "a line longer than 16 MiB"),
        (b'\n', "far more data"),
    ] {
        let data = vec![filler; 64 << 20];
        let packed = zstd::encode_all(&data[..], 19).expect("compress");
        assert!(packed.len() < 64 << 10, "a bomb: {} bytes", packed.len());
        std::fs::write(snap.join("users.jsonl.zst"), packed).expect("write");
        point_users_at(&snap, "users.jsonl.zst", 1);
        let (code, text) = run(d, &["scan", "snapshot", "--no-config"]);
        assert_eq!(code, Some(2), "{text}");
        assert!(text.contains(expect), "{text}");
    }
}

#[test]
fn a_config_of_the_most_exceptions_allowed_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = &work(dir.path());
    let mut text = String::new();
    for i in 0..65_535 {
        text.push_str(&format!(
            "[[exception]]\nrule = \"mail-missing\"\nsubject = \"user{i}@contoso.com\"\nreason = \"reviewed\"\n\n"
        ));
    }
    std::fs::write(d.join("b2bready.toml"), text).expect("write");
    let (code, out) = run(d, &["config", "check"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("65535 exceptions"), "{out}");
}

#[test]
fn smaller_hostile_inputs_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = &work(dir.path());
    let snap = snapshot(d);
    let users = std::fs::read(snap.join("users.jsonl")).expect("users");

    // Invalid UTF-8 in a property the scan never reads.
    let mut bad = users.clone();
    bad.extend_from_slice(
        b"{\"id\":\"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d\",\"jobTitle\":\"\xff\xfe\"}\n",
    );
    std::fs::write(snap.join("users.jsonl"), &bad).expect("write");
    b2bready::snapshot::writer::seal(&snap).expect("seal");
    let (code, text) = run(d, &["scan", "snapshot", "--no-config"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("invalid UTF-8"), "{text}");

    // Two ids that differ only in case.
    let line = String::from_utf8_lossy(&users)
        .lines()
        .last()
        .expect("a user")
        .to_owned();
    let upper = line.replace(
        "6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
        "6F1D2A3B-4C5D-4E6F-8A9B-0C1D2E3F4A5B",
    );
    let mut twice = users.clone();
    twice.extend_from_slice(format!("{upper}\n").as_bytes());
    std::fs::write(snap.join("users.jsonl"), &twice).expect("write");
    b2bready::snapshot::writer::seal(&snap).expect("seal");
    let (code, text) = run(d, &["scan", "snapshot", "--no-config"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.to_lowercase()
            .contains("6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"),
        "{text}"
    );

    // A collection listed twice in the manifest.
    std::fs::write(snap.join("users.jsonl"), &users).expect("write");
    b2bready::snapshot::writer::seal(&snap).expect("seal");
    let manifest = std::fs::read_to_string(snap.join("manifest.json")).expect("manifest");
    let doubled = manifest.replacen(
        "\"collections\": {",
        "\"collections\": {\n    \"users\": {\"status\": \"skipped\"},",
        1,
    );
    assert_ne!(doubled, manifest);
    std::fs::write(snap.join("manifest.json"), doubled).expect("write");
    let (code, text) = run(d, &["scan", "snapshot", "--no-config"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("listed twice"), "{text}");
    std::fs::write(snap.join("manifest.json"), manifest).expect("restore");

    for url in [
        "https://",
        "https://example.com/\nSet-Content x",
        "javascript:alert(1)",
    ] {
        let (code, text) = run(
            d,
            &[
                "plan",
                "snapshot",
                "--no-config",
                "--out",
                "p",
                "--redirect-url",
                url,
            ],
        );
        assert_eq!(code, Some(2), "{url:?}: {text}");
        assert!(text.contains("--redirect-url"), "{text}");
        assert!(!d.join("p").exists(), "nothing written for {url:?}");
    }

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let token = d.join("graph.token");
        std::fs::write(&token, "not-a-real-token").expect("write");
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let (_, text) = run(
            d,
            &[
                "export",
                "--out",
                "x",
                "--access-token-file",
                "graph.token",
                "--graph-url",
                "http://127.0.0.1:9",
                "--max-attempts",
                "1",
            ],
        );
        assert!(
            text.contains("can be read or written by other users"),
            "{text}"
        );
        assert!(!text.contains("not-a-real-token"), "{text}");
    }
}

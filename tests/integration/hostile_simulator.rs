//! The simulator facing a hostile client or a hostile snapshot: each test replays one attack
//! against a real `b2bready simulate` over loopback and checks the safe behaviour. Every loop
//! here is bounded in count and time, and nothing listens beyond loopback.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{SIM_CLIENT, SIM_SECRET, Simulator, Tenant, bin, contoso, stderr_of};

const CONTOSO: &str = "2f6a3b1c-8d4e-4f5a-9b7c-1e2d3c4b5a69";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// A form POST; the status and the JSON body.
fn post_form(url: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http().post(url).form(form).send().expect("request");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn get(url: &str, token: &str) -> u16 {
    http()
        .get(url)
        .bearer_auth(token)
        .send()
        .expect("request")
        .status()
        .as_u16()
}

/// `host:port` of a simulator's `http://host:port`.
fn host_port(sim: &Simulator) -> String {
    sim.url.trim_start_matches("http://").to_owned()
}

/// Sends `raw` on a new connection and reads the answer until the server closes or stops
/// sending: the status and the body.
fn exchange(addr: &str, raw: &[u8]) -> (u16, String) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    (&stream).write_all(raw).expect("send");
    let mut answer = Vec::new();
    let _ = (&stream).take(1 << 20).read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Runs `b2bready simulate ARGS` for at most a few seconds: its exit code (None when it was
/// still running and was stopped) and its stderr.
fn run_briefly(args: &[&str]) -> (Option<i32>, String) {
    let exe = assert_cmd::cargo::cargo_bin("b2bready");
    let mut child = Command::new(exe)
        .arg("simulate")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the simulator");
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut err);
    }
    (code, err)
}

#[test]
fn a_non_loopback_listen_address_is_refused_unless_allow_remote_is_given() {
    let snapshot = contoso();
    let snapshot = snapshot.to_str().expect("utf-8 path");
    // Every interface, IPv4 and IPv6: refused before anything listens.
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let (code, err) = run_briefly(&[snapshot, "--listen", listen]);
        assert_eq!(code, Some(2), "{listen}: {err}");
        assert!(err.contains("is not a loopback address"), "{err}");
        assert!(
            err.contains("help:") && err.contains("--allow-remote"),
            "{err}"
        );
    }
    // With --allow-remote the refusal is lifted and a warning says what it means. The address
    // belongs to a documentation range no machine has, so nothing is served to any network.
    let (_, err) = run_briefly(&[snapshot, "--listen", "192.0.2.1:0", "--allow-remote"]);
    assert!(!err.contains("is not a loopback address"), "{err}");
    assert!(
        err.contains("warning: --allow-remote")
            && err.contains("Anyone who can reach this port gets the tenant's data and tokens"),
        "{err}"
    );
    // Loopback by name is served as before.
    let sim = Simulator::start(&contoso(), &["--listen", "localhost:0"]);
    let token = sim.token(CONTOSO);
    assert_eq!(get(&format!("{}/v1.0/organization", sim.url), &token), 200);
    assert!(simulate_help().contains("--allow-remote"));
}

fn simulate_help() -> String {
    let help = bin().args(["simulate", "--help"]).output().expect("help");
    String::from_utf8_lossy(&help.stdout).into_owned()
}

/// The access token the simulator used to issue as its `serial`th, from a counter.
fn counter_token(serial: u64) -> String {
    format!(
        "sim.{serial:08x}.{:016x}",
        (serial + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    )
}

/// 32 random bytes, base64url: what every token and device code must be.
fn is_random_token(token: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .is_ok_and(|b| b.len() == 32)
}

#[test]
fn tokens_cannot_be_predicted_from_a_counter() {
    let sim = Simulator::start(&contoso(), &[]);
    let tokens: Vec<String> = (0..5).map(|_| sim.token(CONTOSO)).collect();
    let organization = format!("{}/v1.0/organization", sim.url);
    // The tokens the counter would have given, in the order they were asked for, open nothing.
    for serial in 0..8 {
        assert_eq!(get(&organization, &counter_token(serial)), 401, "{serial}");
    }
    for t in &tokens {
        assert!(is_random_token(t), "{t}");
        assert_eq!(get(&organization, t), 200);
    }
    let mut unique = tokens.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), tokens.len(), "{tokens:?}");
    // Device codes, user codes and refresh tokens are random too.
    let devicecode = format!("{}/{CONTOSO}/oauth2/v2.0/devicecode", sim.url);
    let scope = format!("{}/.default offline_access", sim.url);
    let form = [("client_id", SIM_CLIENT), ("scope", scope.as_str())];
    let (_, first) = post_form(&devicecode, &form);
    let (_, second) = post_form(&devicecode, &form);
    for code in [&first, &second] {
        assert!(
            is_random_token(code["device_code"].as_str().unwrap_or("")),
            "{code}"
        );
        assert_ne!(code["user_code"], "SIMU-LATE", "{code}");
    }
    assert_ne!(first["device_code"], second["device_code"]);
    assert_ne!(first["user_code"], second["user_code"]);
    let token_url = format!("{}/{CONTOSO}/oauth2/v2.0/token", sim.url);
    let code = first["device_code"].as_str().unwrap_or("");
    let poll = [
        ("grant_type", DEVICE_CODE_GRANT),
        ("client_id", SIM_CLIENT),
        ("device_code", code),
    ];
    let signed_in = (0..3)
        .map(|_| post_form(&token_url, &poll))
        .find(|(status, _)| *status == 200)
        .expect("signed in after two polls")
        .1;
    assert!(
        is_random_token(signed_in["refresh_token"].as_str().unwrap_or("")),
        "{signed_in}"
    );
}

#[test]
fn a_device_code_gives_tokens_once_and_only_to_the_client_that_asked_for_it() {
    let sim = Simulator::start(&contoso(), &[]);
    let token_url = format!("{}/{CONTOSO}/oauth2/v2.0/token", sim.url);
    // The codes the counter used to give are not codes.
    for serial in 0..4 {
        let guess = format!("dc{serial:08x}");
        let poll = [
            ("grant_type", DEVICE_CODE_GRANT),
            ("client_id", SIM_CLIENT),
            ("device_code", guess.as_str()),
        ];
        let (status, body) = post_form(&token_url, &poll);
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("expired_token"))
        );
    }
    let scope = format!("{}/.default offline_access", sim.url);
    let (status, code) = post_form(
        &format!("{}/{CONTOSO}/oauth2/v2.0/devicecode", sim.url),
        &[("client_id", SIM_CLIENT), ("scope", &scope)],
    );
    assert_eq!(status, 200, "{code}");
    let device_code = code["device_code"].as_str().expect("device_code");
    let poll_as = |client: &str| {
        post_form(
            &token_url,
            &[
                ("grant_type", DEVICE_CODE_GRANT),
                ("client_id", client),
                ("device_code", device_code),
            ],
        )
    };
    // Another application polls with the code, more often than it takes to approve: it never
    // gets a token, and its polls do not count.
    for _ in 0..5 {
        let (status, body) = poll_as("another-application");
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        assert!(body.get("access_token").is_none(), "{body}");
    }
    // The documented behaviour for the client that asked: approved after two polls.
    for _ in 0..2 {
        let (status, body) = poll_as(SIM_CLIENT);
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("authorization_pending"))
        );
    }
    let (status, tokens) = poll_as(SIM_CLIENT);
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        get(
            &format!("{}/v1.0/organization", sim.url),
            tokens["access_token"].as_str().expect("access_token")
        ),
        200
    );
    // Used once, the code is gone.
    let (status, body) = poll_as(SIM_CLIENT);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("expired_token"))
    );
    // The refresh token works for its client only.
    let refresh = tokens["refresh_token"].as_str().expect("refresh_token");
    let refresh_as = |client: &str| {
        post_form(
            &token_url,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", client),
                ("refresh_token", refresh),
                ("scope", &scope),
            ],
        )
    };
    let (status, body) = refresh_as("another-application");
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(refresh_as(SIM_CLIENT).0, 200);
    // The help says what this sign-in is worth.
    let help = simulate_help();
    assert!(
        help.contains("test double, not a security boundary"),
        "{help}"
    );
}

/// A sealed snapshot of the base tenant in `dir`.
fn snapshot(dir: &Path) -> PathBuf {
    Tenant::base().write(&dir.join("snapshot"))
}

/// `simulate` on a snapshot it must refuse: exit code 2 and its stderr.
fn refused(snapshot: &Path) -> String {
    let o = bin()
        .arg("simulate")
        .arg(snapshot)
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run");
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    err
}

#[test]
fn a_collection_that_does_not_match_the_manifest_is_not_served() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = snapshot(dir.path());
    let users = snap.join("users.jsonl");
    let original = std::fs::read_to_string(&users).expect("users");
    // One more account than the manifest counts.
    let first = original.lines().next().expect("a user").to_owned();
    let extra = first.replacen("\"id\":\"", "\"id\":\"f", 1);
    std::fs::write(&users, format!("{original}{extra}\n")).expect("write");
    let err = refused(&snap);
    assert!(err.contains("users.jsonl"), "{err}");
    assert!(err.contains("the manifest counts"), "{err}");
    // As many accounts, one of them edited.
    std::fs::write(&users, original.replacen("\"id\":\"", "\"id\":\"f", 1)).expect("write");
    let err = refused(&snap);
    assert!(err.contains("users.jsonl"), "{err}");
    assert!(err.contains("sha256"), "{err}");
    std::fs::write(&users, &original).expect("write");
    // Any other served collection, the same: a domain the tenant does not have.
    let domains = snap.join("domains.jsonl");
    let text = std::fs::read_to_string(&domains).expect("domains");
    assert!(text.contains("\"id\":\"contoso.com\""), "{text}");
    std::fs::write(&domains, text.replacen("contoso.com", "fabrikam.com", 1)).expect("write");
    let err = refused(&snap);
    assert!(
        err.contains("domains.jsonl") && err.contains("sha256"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn a_collection_file_that_is_a_symbolic_link_is_refused() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = snapshot(dir.path());
    // The link leads out of the snapshot to a file with exactly the content the manifest
    // vouches for: only the link itself is wrong.
    let outside = dir.path().join("outside.jsonl");
    std::fs::rename(snap.join("users.jsonl"), &outside).expect("move");
    std::os::unix::fs::symlink(&outside, snap.join("users.jsonl")).expect("symlink");
    let err = refused(&snap);
    assert!(err.contains("users.jsonl"), "{err}");
    assert!(err.contains("not a symbolic link"), "{err}");
    assert!(err.contains("help:"), "{err}");
}

#[test]
fn an_oversized_request_is_refused_with_413_before_anything_is_allocated_for_it() {
    let sim = Simulator::start(&contoso(), &[]);
    let addr = host_port(&sim);
    // Declares 93 GiB, sends three bytes: refused at once, before authentication.
    for path in [
        format!("/{CONTOSO}/oauth2/v2.0/token"),
        "/v1.0/$batch".to_owned(),
    ] {
        let raw = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: 99999999999\r\n\r\nabc"
        );
        let (status, body) = exchange(&addr, raw.as_bytes());
        assert_eq!(status, 413, "{path}: {body}");
        let body: Value = serde_json::from_str(&body).expect("JSON body");
        assert_eq!(body["error"]["code"], "RequestEntityTooLarge", "{body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    // One byte over 4 MiB is refused, and so is a chunked body that says it is bigger; a
    // header section without end is refused too.
    let raw = format!(
        "POST /v1.0/$batch HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n",
        (4 << 20) + 1
    );
    assert_eq!(exchange(&addr, raw.as_bytes()).0, 413);
    let raw = format!(
        "POST /v1.0/$batch HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\n\r\n\
         FFFFFFFFFF\r\nabc"
    );
    assert_eq!(exchange(&addr, raw.as_bytes()).0, 413);
    let mut raw = format!("GET /v1.0/users HTTP/1.1\r\nHost: {addr}\r\nX-Filler: ").into_bytes();
    raw.extend(std::iter::repeat_n(b'a', 128 << 10));
    assert_eq!(exchange(&addr, &raw).0, 431);
    // The simulator is still there, and a body of exactly 4 MiB is read and answered.
    let token = sim.token(CONTOSO);
    let batch = r#"{"requests":[{"id":"1","method":"GET","url":"/users/nobody/memberOf"}]}"#;
    let mut body = batch.as_bytes().to_vec();
    body.resize(4 << 20, b' ');
    let r = http()
        .post(format!("{}/v1.0/$batch", sim.url))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .expect("batch");
    assert_eq!(r.status().as_u16(), 200);
    let answer: Value = r.json().expect("JSON");
    assert_eq!(answer["responses"][0]["status"], 404, "{answer}");
}

/// A simulator of our own, to read its process's thread count.
struct Process {
    child: Child,
    addr: String,
}

impl Process {
    fn start(snapshot: &Path) -> Self {
        let exe = assert_cmd::cargo::cargo_bin("b2bready");
        let mut child = Command::new(exe)
            .arg("simulate")
            .arg(snapshot)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the simulator");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the simulator prints its address");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .expect("address line")
            .to_owned();
        Process { child, addr }
    }

    #[cfg(target_os = "linux")]
    fn threads(&self) -> usize {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("Threads: line")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn idle_connections_neither_multiply_threads_nor_starve_a_client() {
    let sim = Process::start(&contoso());
    let url = format!("http://{}", sim.addr);
    // 200 connections that never send a byte, held open for the whole test.
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(&sim.addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    #[cfg(target_os = "linux")]
    let during = sim.threads();
    // A client with something to ask is answered promptly.
    let started = Instant::now();
    let (status, body) = post_form(
        &format!("{url}/{CONTOSO}/oauth2/v2.0/token"),
        &[
            ("client_id", SIM_CLIENT),
            ("client_secret", SIM_SECRET),
            ("scope", &format!("{url}/.default")),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("access_token");
    assert_eq!(get(&format!("{url}/v1.0/users"), token), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The workers (32 by default) and the accepting thread, whatever the clients do.
    #[cfg(target_os = "linux")]
    {
        let after = sim.threads();
        assert!(during <= 40 && after <= 40, "{during} then {after} threads");
    }
    drop(idle);
}

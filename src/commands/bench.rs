//! `b2bready bench`: the scan against the cost of merely parsing `users.jsonl`.
//!
//! Each measurement runs in its own process so wall time and peak memory (the kernel's
//! high-water mark for waited-for children) belong to that process alone. The scan is
//! measured first, because the children's high-water mark only ever grows.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::cli::{BenchArgs, BenchExportArgs, ScopeArg};
use crate::error::Error;

fn io(what: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        what: what.to_owned(),
        source,
    }
}

fn peak_children_kib() -> u64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map_or(0, |u| u.max_rss().max(0) as u64)
}

/// Runs a measured command; exit code 1 (findings fail the build) is a normal outcome.
fn timed(cmd: &mut Command) -> Result<Duration, Error> {
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(io("cannot start the measured process"))?;
    let took = start.elapsed();
    if !matches!(status.code(), Some(0 | 1)) {
        return Err(Error::Usage(format!(
            "the measured command failed: {cmd:?}"
        )));
    }
    Ok(took)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The generated tenant of `args`, made on first use.
fn tenant(args: &BenchArgs) -> Result<std::path::PathBuf, Error> {
    let tenant = args
        .dir
        .join(format!("tenant-{}-seed{}", args.users, args.seed));
    if !tenant.join("manifest.json").exists() {
        eprintln!(
            "generating {} accounts in {} ...",
            args.users,
            tenant.display()
        );
        crate::synth::generate(&tenant, args.users, args.seed, false)?;
    }
    Ok(tenant)
}

pub fn run(args: BenchArgs) -> Result<u8, Error> {
    let exe = std::env::current_exe().map_err(io("cannot find the running program"))?;
    let tenant = tenant(&args)?;
    let users = tenant.join("users.jsonl");
    let size = std::fs::metadata(&users)
        .map_err(io("cannot read users.jsonl"))?
        .len();
    let out = args.dir.join(format!("out-{}", args.users));
    let scope = match args.scope {
        ScopeArg::LikelyGuests => "likely-guests",
        ScopeArg::All => "all",
    };
    let scan = || {
        let mut c = Command::new(&exe);
        c.args([
            "scan",
            "--format",
            "json,csv,html",
            "--fail-on",
            "never",
            "--quiet",
            "--no-config",
            "--scope",
            scope,
        ])
        .arg("--out")
        .arg(&out)
        .arg(&tenant);
        c
    };
    let baseline = |typed: bool| {
        let mut c = Command::new(&exe);
        c.arg("bench-baseline").arg(&users);
        if typed {
            c.env("B2BREADY_BASELINE_TYPED", "1");
        }
        c
    };
    const RUNS: usize = 3;
    let first = timed(&mut scan())?;
    let scan_peak = peak_children_kib();
    let mut scans = vec![first];
    let mut plain = Vec::new();
    let mut typed = Vec::new();
    for _ in 0..RUNS {
        plain.push(timed(&mut baseline(false))?);
        typed.push(timed(&mut baseline(true))?);
    }
    for _ in 1..RUNS {
        scans.push(timed(&mut scan())?);
    }
    let (scan_t, plain_t, typed_t) = (median(scans), median(plain), median(typed));
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!("accounts:                     {}", args.users);
    println!("users.jsonl:                  {:.1} MiB", mib(size));
    println!(
        "baseline, serde_json Value:   {:.2} s (median of {RUNS})",
        plain_t.as_secs_f64()
    );
    println!(
        "baseline, typed user struct:  {:.2} s (median of {RUNS})",
        typed_t.as_secs_f64()
    );
    println!(
        "scan to JSON + CSV + HTML:    {:.2} s (median of {RUNS}, scope {scope})",
        scan_t.as_secs_f64()
    );
    println!(
        "scan / Value baseline:        {:.2}x (target <= 1.5x)",
        scan_t.as_secs_f64() / plain_t.as_secs_f64()
    );
    println!(
        "scan / typed baseline:        {:.2}x",
        scan_t.as_secs_f64() / typed_t.as_secs_f64()
    );
    println!(
        "scan peak memory:             {:.1} MiB = {:.2}x the size of users.jsonl (target < 1x)",
        mib(scan_peak * 1024),
        (scan_peak * 1024) as f64 / size as f64
    );
    Ok(0)
}

/// Reads the file and parses every line in parallel, keeping nothing.
pub fn baseline(file: &Path) -> Result<u8, Error> {
    let typed = std::env::var_os("B2BREADY_BASELINE_TYPED").is_some();
    let data = std::fs::read(file).map_err(io("cannot read the baseline file"))?;
    let parsed = data
        .par_split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .filter(|l| {
            if typed {
                crate::snapshot::users::parse_only(l)
            } else {
                serde_json::from_slice::<serde_json::Value>(l).is_ok()
            }
        })
        .count();
    eprintln!("parsed {parsed} lines");
    Ok(0)
}

/// Exports a generated tenant from the simulator with latency on every request.
pub fn export(args: BenchExportArgs) -> Result<u8, Error> {
    use std::io::BufRead;
    let exe = std::env::current_exe().map_err(io("cannot find the running program"))?;
    let tenant = args.dir.join(format!("tenant-{}-seed1", args.users));
    if !tenant.join("manifest.json").exists() {
        eprintln!(
            "generating {} accounts in {} ...",
            args.users,
            tenant.display()
        );
        crate::synth::generate(&tenant, args.users, 1, false)?;
    }
    let out = args.dir.join(format!("export-{}", args.users));
    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(io("cannot clear the previous export"))?;
    }
    let mut sim = Command::new(&exe)
        .args(["simulate", "--latency-ms", &args.latency_ms.to_string()])
        .arg(&tenant)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(io("cannot start the simulator"))?;
    let mut line = String::new();
    if let Some(stdout) = sim.stdout.take() {
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
    }
    let url = line.trim().trim_start_matches("listening on ").to_owned();
    let mut cmd = Command::new(&exe);
    cmd.args([
        "export",
        "--quiet",
        "--graph-url",
        &url,
        "--login-url",
        &url,
        "--arm-url",
        &url,
    ])
    .arg("--out")
    .arg(&out)
    .env("AZURE_TENANT_ID", crate::synth::TENANT_ID)
    .env("AZURE_CLIENT_ID", "b2bready-simulator")
    .env("AZURE_CLIENT_SECRET", "simulator-secret");
    let took = timed(&mut cmd);
    let peak = peak_children_kib();
    let _ = sim.kill();
    let _ = sim.wait();
    let took = took?;
    // Every Graph and ARM request waits out the latency: users pages, eight tenant
    // collections, the subscription list and one guestUsages list.
    let user_pages = args.users.div_ceil(999).max(1);
    let requests = user_pages + 8 + 2;
    let floor = Duration::from_millis(args.latency_ms) * requests as u32;
    let users_floor = Duration::from_millis(args.latency_ms) * user_pages as u32;
    println!("accounts:                     {}", args.users);
    println!("latency per request:          {} ms", args.latency_ms);
    println!("requests:                     {requests} ({user_pages} pages of users)");
    println!("export wall time:             {:.2} s", took.as_secs_f64());
    println!(
        "floor (requests x latency):   {:.2} s -> {:.2}x (target <= 1.2x)",
        floor.as_secs_f64(),
        took.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "floor (user pages x latency): {:.2} s -> {:.2}x",
        users_floor.as_secs_f64(),
        took.as_secs_f64() / users_floor.as_secs_f64()
    );
    println!(
        "exporter peak memory:         {:.1} MiB (target < 150 MB)",
        peak as f64 / 1024.0
    );
    Ok(0)
}

/// Exceptions written for `bench review`, one in ten of them expired.
const REVIEW_EXCEPTIONS: usize = 1_000;

/// The nightly CI scan: the same scan to every output, without and then with a config of
/// a thousand exceptions and a baseline that lacks one finding in twenty (so those are new).
pub fn review(args: BenchArgs) -> Result<u8, Error> {
    let exe = std::env::current_exe().map_err(io("cannot find the running program"))?;
    let tenant = tenant(&args)?;
    let dir = args.dir.join(format!("review-{}", args.users));
    let scan = |extra: &[&str], out: &str| {
        let mut c = Command::new(&exe);
        c.args(["scan", "--quiet"])
            .args(extra)
            .arg("--out")
            .arg(dir.join(out))
            .arg(&tenant)
            .stdout(std::process::Stdio::null());
        c
    };
    timed(&mut scan(&["--no-config", "--format", "json"], "previous"))?;
    let after_previous = peak_children_kib();
    let (exceptions, findings) = review_inputs(&dir)?;
    const ALL: &str = "json,csv,html,sarif,junit,markdown,github";
    let config = dir.join("b2bready.toml").to_string_lossy().into_owned();
    let baseline = dir.join("baseline.json").to_string_lossy().into_owned();
    const RUNS: usize = 3;
    let mut plain = Vec::new();
    for _ in 0..RUNS {
        plain.push(timed(&mut scan(
            &["--no-config", "--format", ALL],
            "plain",
        ))?);
    }
    let after_plain = peak_children_kib();
    let reviewed = [
        "--format",
        ALL,
        "--config",
        &config,
        "--baseline",
        &baseline,
    ];
    let mut review = Vec::new();
    for _ in 0..RUNS {
        review.push(timed(&mut scan(&reviewed, "review"))?);
    }
    let after_review = peak_children_kib();
    let (plain_t, review_t) = (median(plain), median(review));
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("accounts:                     {}", args.users);
    println!("findings:                     {findings}");
    println!(
        "exceptions / baseline:        {exceptions} (one in ten expired) / all findings but one in twenty"
    );
    println!(
        "scan to all 7 outputs:        {:.2} s (median of {RUNS})",
        plain_t.as_secs_f64()
    );
    println!(
        "same with config + baseline:  {:.2} s (median of {RUNS}) = {:.2}x",
        review_t.as_secs_f64(),
        review_t.as_secs_f64() / plain_t.as_secs_f64()
    );
    println!(
        "peak memory:                  {:.1} MiB plain, {:.1} MiB with the review{}",
        mib(after_plain.max(after_previous)),
        mib(after_review),
        if after_review > after_plain {
            ""
        } else {
            " (at most: no higher than the plain scans)"
        }
    );
    Ok(0)
}

/// Writes `b2bready.toml` (exceptions for the first blockers) and `baseline.json` (the
/// previous findings less one in twenty) from `previous/findings.json`.
fn review_inputs(dir: &Path) -> Result<(usize, usize), Error> {
    use std::fmt::Write as _;
    let path = dir.join("previous").join("findings.json");
    let text = std::fs::read(&path).map_err(io("cannot read the previous findings.json"))?;
    let mut v: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    let findings = v["findings"]
        .as_array_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let total = findings.len();
    let mut toml = String::new();
    let blockers = findings
        .iter()
        .filter(|f| f["severity"] == "blocker" && f["subject"]["type"] == "user");
    let mut written = 0;
    for (i, f) in blockers.take(REVIEW_EXCEPTIONS).enumerate() {
        let subject = if i % 2 == 0 {
            &f["subject"]["id"]
        } else {
            &f["subject"]["userPrincipalName"]
        };
        let expires = if i % 10 == 0 {
            "2020-01-31"
        } else {
            "2099-12-31"
        };
        let _ = write!(
            toml,
            "[[exception]]\nrule = {}\nsubject = {}\nreason = \"reviewed\"\nowner = \"identity team\"\nexpires = {expires}\n\n",
            f["rule"], subject
        );
        written += 1;
    }
    std::fs::write(dir.join("b2bready.toml"), toml).map_err(io("cannot write b2bready.toml"))?;
    v["findings"] = findings
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % 20 != 0)
        .map(|(_, f)| f)
        .collect();
    let out = serde_json::to_vec(&v).map_err(|e| Error::Usage(e.to_string()))?;
    std::fs::write(dir.join("baseline.json"), out).map_err(io("cannot write baseline.json"))?;
    Ok((written, total))
}

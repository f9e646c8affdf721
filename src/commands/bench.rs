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

fn timed(cmd: &mut Command) -> Result<Duration, Error> {
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(io("cannot start the measured process"))?;
    let took = start.elapsed();
    if !status.success() {
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

pub fn run(args: BenchArgs) -> Result<u8, Error> {
    let exe = std::env::current_exe().map_err(io("cannot find the running program"))?;
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

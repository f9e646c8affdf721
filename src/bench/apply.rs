//! `bench apply`: a plan of many ready accounts applied to the simulator with latency on
//! every request, against the floor of two requests per account (read back, invite) times
//! the latency, divided by the accounts in flight.

use std::process::Command;
use std::time::Duration;

use super::{BenchApplyArgs, io};
use crate::error::Error;

/// Generates a tenant with at least `accounts` ready accounts, plans it, and applies the
/// first `accounts` of the plan.
pub fn apply(args: BenchApplyArgs) -> Result<u8, Error> {
    let exe = std::env::current_exe().map_err(io("cannot find the running program"))?;
    let (tenant, plan) = prepare(&args, &exe)?;
    let (mut sim, url) = super::start_simulator(&exe, &tenant, args.latency_ms)?;
    let started = std::time::Instant::now();
    let output = Command::new(&exe)
        .args(["apply", "--yes", "--graph-url", &url, "--login-url", &url])
        .args(["--parallel", &args.parallel.to_string()])
        .args(["--limit", &args.accounts.to_string()])
        .arg(&plan)
        .arg("--snapshot")
        .arg(&tenant)
        .env("AZURE_TENANT_ID", crate::synth::TENANT_ID)
        .env("AZURE_CLIENT_ID", "b2bready-simulator")
        .env("AZURE_CLIENT_SECRET", "simulator-secret")
        .output();
    let took = started.elapsed();
    let _ = sim.kill();
    let _ = sim.wait();
    let output = output.map_err(io("cannot run apply"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let requests: u64 = stderr
        .lines()
        .rev()
        .find_map(|l| {
            l.split_once(" requests, ")
                .and_then(|(n, _)| n.trim().parse().ok())
        })
        .unwrap_or(0);
    let sent = stderr.lines().filter(|l| l.starts_with("sent ")).count();
    let floor = Duration::from_millis(args.latency_ms) * (2 * args.accounts as u32)
        / u32::from(args.parallel);
    println!(
        "planned accounts applied:     {} ({sent} sent)",
        args.accounts
    );
    println!("latency per request:          {} ms", args.latency_ms);
    println!("accounts in flight:           {}", args.parallel);
    println!(
        "requests:                     {requests} ({:.2} per account)",
        requests as f64 / sent.max(1) as f64
    );
    println!("apply wall time:              {:.1} s", took.as_secs_f64());
    println!(
        "floor (2 x accounts x latency / parallel): {:.1} s -> {:.2}x",
        floor.as_secs_f64(),
        took.as_secs_f64() / floor.as_secs_f64()
    );
    if !output.status.success() {
        eprintln!("{stdout}");
    }
    Ok(0)
}

/// The generated tenant (made once, then reused) and a fresh plan of it.
fn prepare(
    args: &BenchApplyArgs,
    exe: &std::path::Path,
) -> Result<(std::path::PathBuf, std::path::PathBuf), Error> {
    // About one generated account in eleven is planned (ready, in the default scope).
    let users = args.accounts * 12;
    let tenant = args.dir.join(format!("apply-tenant-{users}"));
    if !tenant.join("manifest.json").exists() {
        eprintln!("generating {users} accounts in {} ...", tenant.display());
        crate::synth::generate(&tenant, users, 1, false, &Default::default())?;
    }
    let plan = args.dir.join(format!("apply-plan-{users}"));
    if plan.exists() {
        std::fs::remove_dir_all(&plan).map_err(io("cannot clear the previous plan"))?;
    }
    let status = Command::new(exe)
        .arg("plan")
        .arg(&tenant)
        .arg("--out")
        .arg(&plan)
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(io("cannot run plan"))?;
    if !status.success() {
        return Err(Error::Usage(
            "the plan of the generated tenant failed".into(),
        ));
    }
    Ok((tenant, plan))
}

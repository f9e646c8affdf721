//! `bench export`: the export from the simulator, with latency on every request, against the
//! floor of requests × latency.

use std::process::Command;
use std::time::Duration;

use super::{BenchExportArgs, io, peak_children_kib, timed};
use crate::error::Error;

/// Exports a generated tenant from the simulator with latency on every request.
pub fn export(args: BenchExportArgs) -> Result<u8, Error> {
    let exe = std::env::current_exe().map_err(io("cannot find the running program"))?;
    let tenant = args.dir.join(format!("tenant-{}-seed1", args.users));
    if !tenant.join("manifest.json").exists() {
        eprintln!(
            "generating {} accounts in {} ...",
            args.users,
            tenant.display()
        );
        crate::synth::generate(&tenant, args.users, 1, false, &Default::default())?;
    }
    let out = args.dir.join(format!("export-{}", args.users));
    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(io("cannot clear the previous export"))?;
    }
    let (mut sim, url) = super::start_simulator(&exe, &tenant, args.latency_ms)?;
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

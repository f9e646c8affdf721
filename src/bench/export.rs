//! `bench export`: the export from the simulator, with latency on every request, against the
//! floor of requests × latency.

use std::path::Path;
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
    let took = timed(&mut export_command(&exe, &url, &out));
    let peak = peak_children_kib();
    let since = match (&took, args.changed_pct) {
        (Ok(_), Some(pct)) => Some(since(&exe, &url, &tenant, &out, &args.dir, pct)),
        _ => None,
    };
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
    if let Some(since) = since {
        let (changed, delta) = since?;
        println!("changed in the simulator:     {changed} accounts");
        println!(
            "export --since the first:     {:.2} s ({:.1}% of the full export's time)",
            delta.as_secs_f64(),
            delta.as_secs_f64() * 100.0 / took.as_secs_f64()
        );
    }
    Ok(0)
}

fn export_command(exe: &Path, url: &str, out: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args([
        "export",
        "--quiet",
        "--graph-url",
        url,
        "--login-url",
        url,
        "--arm-url",
        url,
    ])
    .arg("--out")
    .arg(out)
    .env("AZURE_TENANT_ID", crate::synth::TENANT_ID)
    .env("AZURE_CLIENT_ID", "b2bready-simulator")
    .env("AZURE_CLIENT_SECRET", "simulator-secret");
    cmd
}

/// Changes `pct` per cent of the accounts (their companyName, through the simulator's test
/// route, which draws no latency), then times `export --since` the first export.
fn since(
    exe: &Path,
    url: &str,
    tenant: &Path,
    first: &Path,
    dir: &Path,
    pct: f64,
) -> Result<(usize, Duration), Error> {
    let users = std::fs::read_to_string(tenant.join("users.jsonl"))
        .map_err(io("cannot read the generated users"))?;
    let ids: Vec<String> = users
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["id"].as_str().map(str::to_owned))
        .collect();
    let every = (100.0 / pct.clamp(0.001, 100.0)).round().max(1.0) as usize;
    let http = reqwest::blocking::Client::new();
    let token = simulator_token(&http, url)?;
    let mut changed = 0;
    for id in ids.iter().step_by(every) {
        http.patch(format!("{url}/_simulator/users/{id}"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"companyName": "Changed Overnight Ltd"}))
            .send()
            .and_then(reqwest::blocking::Response::error_for_status)
            .map_err(|e| Error::Usage(format!("the simulator refused a change: {e}")))?;
        changed += 1;
    }
    let out = dir.join("export-since");
    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(io("cannot clear the previous export"))?;
    }
    let mut cmd = export_command(exe, url, &out);
    cmd.arg("--since").arg(first);
    Ok((changed, timed(&mut cmd)?))
}

fn simulator_token(http: &reqwest::blocking::Client, url: &str) -> Result<String, Error> {
    let response: serde_json::Value = http
        .post(format!(
            "{url}/{}/oauth2/v2.0/token",
            crate::synth::TENANT_ID
        ))
        .form(&[
            ("client_id", "b2bready-simulator"),
            ("client_secret", "simulator-secret"),
            ("scope", &format!("{url}/.default")),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .and_then(reqwest::blocking::Response::json)
        .map_err(|e| Error::Usage(format!("no token from the simulator: {e}")))?;
    response["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::Usage("no token from the simulator".into()))
}

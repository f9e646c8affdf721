//! `bench scan`: the scan to JSON, CSV and HTML against a plain parallel parse of
//! `users.jsonl`.

use std::path::Path;
use std::process::Command;

use rayon::prelude::*;

use super::{BenchArgs, io, median, peak_children_kib, tenant, timed};
use crate::error::Error;
use crate::model::ScopeChoice;

pub fn run(args: BenchArgs) -> Result<u8, Error> {
    let exe = std::env::current_exe().map_err(io("cannot find the running program"))?;
    let tenant = tenant(&args)?;
    let users = tenant.join("users.jsonl");
    let size = std::fs::metadata(&users)
        .map_err(io("cannot read users.jsonl"))?
        .len();
    let out = args.dir.join(format!("out-{}", args.users));
    let scope = match args.scope {
        ScopeChoice::LikelyGuests => "likely-guests",
        ScopeChoice::All => "all",
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
    // The first scan warms the caches; its peak memory is the figure (the baselines, which
    // hold the whole file, would set the children's peak afterwards).
    timed(&mut scan())?;
    let scan_peak = peak_children_kib();
    // Each round runs both baselines and then the scan, so that a slow spell of the machine
    // weighs on a scan and the baseline it is compared with alike.
    let (mut plain, mut typed, mut scans, mut ratios) = (vec![], vec![], vec![], vec![]);
    for _ in 0..RUNS {
        let p = timed(&mut baseline(false))?;
        typed.push(timed(&mut baseline(true))?);
        let s = timed(&mut scan())?;
        ratios.push(s.as_secs_f64() / p.as_secs_f64());
        plain.push(p);
        scans.push(s);
    }
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[RUNS / 2];
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
        "scan / Value baseline:        {ratio:.2}x (target <= 1.5x; median of the rounds, {:.2}x to {:.2}x)",
        ratios[0],
        ratios[RUNS - 1]
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
    // Where the time goes: one more scan with the timings switch on.
    super::settle();
    let timings = scan()
        .env("B2BREADY_TIMINGS", "1")
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(io("cannot start the measured process"))?;
    println!("phases of one scan:");
    for line in String::from_utf8_lossy(&timings.stderr)
        .lines()
        .filter(|l| l.starts_with("timing:"))
    {
        println!("  {}", line.trim_start_matches("timing: "));
    }
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

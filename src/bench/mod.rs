//! The benchmarks behind the figures in the README: the scan against the cost of merely
//! parsing `users.jsonl`, the CI review scan, and the export from the simulator.
//!
//! Each measurement runs in its own process so wall time and peak memory (the kernel's
//! high-water mark for waited-for children) belong to that process alone. The scan is
//! measured first, because the children's high-water mark only ever grows.

mod apply;
mod export;
mod review;
mod scan;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Args;

pub use apply::apply;
pub use export::export;
pub use review::review;
pub use scan::{baseline, run};

use crate::error::Error;
use crate::model::ScopeChoice;

#[derive(Debug, Clone, Args)]
pub struct BenchExportArgs {
    /// Number of generated accounts.
    #[arg(long, default_value_t = 100_000)]
    pub users: usize,
    /// Latency the simulator adds to every request.
    #[arg(long, default_value_t = 100)]
    pub latency_ms: u64,
    /// Where to keep the generated tenant and the exported snapshot.
    #[arg(long, default_value = "target/bench")]
    pub dir: PathBuf,
    /// Then change this per cent of the accounts in the simulator and time `export --since`
    /// the first export against it.
    #[arg(long, value_name = "PERCENT")]
    pub changed_pct: Option<f64>,
}

#[derive(Debug, Clone, Args)]
pub struct BenchApplyArgs {
    /// Planned accounts to apply.
    #[arg(long, default_value_t = 10_000)]
    pub accounts: usize,
    /// Latency the simulator adds to every request.
    #[arg(long, default_value_t = 100)]
    pub latency_ms: u64,
    /// Accounts in flight at once.
    #[arg(long, default_value_t = 4)]
    pub parallel: u16,
    /// Where to keep the generated tenant and the plan.
    #[arg(long, default_value = "target/bench")]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Number of generated accounts.
    #[arg(long, default_value_t = 1_000_000)]
    pub users: usize,
    /// Seed of the generated tenant.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to keep the generated tenant and the reports (reused when present).
    #[arg(long, default_value = "target/bench")]
    pub dir: PathBuf,
    /// Scope of the measured scan.
    #[arg(long, value_enum, default_value = "likely-guests")]
    pub scope: ScopeChoice,
    #[command(flatten)]
    pub shape: crate::synth::Shape,
}

pub(crate) fn io(what: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        what: what.to_owned(),
        source,
    }
}

/// Starts `b2bready simulate` on `tenant` with `latency_ms` on every request; the child and
/// the address it listens on.
pub(crate) fn start_simulator(
    exe: &std::path::Path,
    tenant: &std::path::Path,
    latency_ms: u64,
) -> Result<(std::process::Child, String), Error> {
    use std::io::BufRead;
    let mut sim = Command::new(exe)
        .args(["simulate", "--latency-ms", &latency_ms.to_string()])
        .arg(tenant)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(io("cannot start the simulator"))?;
    let mut line = String::new();
    if let Some(stdout) = sim.stdout.take() {
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
    }
    let url = line.trim().trim_start_matches("listening on ").to_owned();
    Ok((sim, url))
}

/// The largest resident size of any child process waited for, in KiB (the kernel's
/// high-water mark); 0 where the platform does not keep one.
#[cfg(unix)]
pub(crate) fn peak_children_kib() -> u64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map_or(0, |u| u.max_rss().max(0) as u64)
}

#[cfg(not(unix))]
pub(crate) fn peak_children_kib() -> u64 {
    0
}

/// Runs a measured command; exit code 1 (findings fail the build) is a normal outcome.
pub(crate) fn timed(cmd: &mut Command) -> Result<Duration, Error> {
    settle();
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

/// Writes the files earlier runs left in the page cache to disk first, so that their
/// writeback is not charged to the run measured next.
pub(crate) fn settle() {
    #[cfg(unix)]
    let _ = Command::new("sync").status();
}

pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The generated tenant of `args`, made on first use.
pub(crate) fn tenant(args: &BenchArgs) -> Result<PathBuf, Error> {
    let tenant = args.dir.join(format!(
        "tenant-{}-seed{}{}",
        args.users,
        args.seed,
        args.shape.label()
    ));
    if !tenant.join("manifest.json").exists() {
        eprintln!(
            "generating {} accounts in {} ...",
            args.users,
            tenant.display()
        );
        crate::synth::generate(&tenant, args.users, args.seed, false, &args.shape)?;
    }
    Ok(tenant)
}

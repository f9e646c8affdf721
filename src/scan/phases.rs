//! `B2BREADY_TIMINGS`: how long each phase of a scan took, the processor time it used, and
//! the memory it held.

/// Phase timings on standard error when `B2BREADY_TIMINGS` is set: where a slow scan spends
/// its time and its memory, without a profiler.
pub struct Phases {
    start: Option<std::time::Instant>,
    last: std::cell::Cell<Option<std::time::Instant>>,
    /// The process's processor time (user and system, all threads) at the last mark.
    last_cpu: std::cell::Cell<Option<f64>>,
}

impl Phases {
    pub fn start() -> Self {
        let now = std::env::var_os("B2BREADY_TIMINGS").map(|_| std::time::Instant::now());
        Self {
            start: now,
            last: std::cell::Cell::new(now),
            last_cpu: std::cell::Cell::new(now.and_then(|_| cpu_seconds())),
        }
    }

    pub fn mark(&self, phase: &str) {
        if let (Some(start), Some(last)) = (self.start, self.last.get()) {
            let now = std::time::Instant::now();
            let cpu = cpu_seconds();
            // Phases that run side by side share the process: each sees all their time.
            let used = match (cpu, self.last_cpu.get()) {
                (Some(c), Some(l)) => format!(", cpu {:.2} s", c - l),
                _ => String::new(),
            };
            eprintln!(
                "timing: {phase:<19} {:>7.3} s (total {:.3} s){used}{}",
                (now - last).as_secs_f64(),
                (now - start).as_secs_f64(),
                memory()
            );
            self.last.set(Some(now));
            self.last_cpu.set(cpu);
        }
    }
}

/// The processor time the process has used so far, user and system, where the system tells it.
fn cpu_seconds() -> Option<f64> {
    #[cfg(unix)]
    {
        use nix::sys::resource::{UsageWho, getrusage};
        let usage = getrusage(UsageWho::RUSAGE_SELF).ok()?;
        let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        Some(seconds(usage.user_time()) + seconds(usage.system_time()))
    }
    #[cfg(not(unix))]
    None
}

/// The process's resident memory now and at its peak so far, where the system tells it.
fn memory() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    match (kib("VmRSS:"), kib("VmHWM:")) {
        (Some(now), Some(peak)) => format!(", memory {} MiB, peak {} MiB", now / 1024, peak / 1024),
        _ => String::new(),
    }
}

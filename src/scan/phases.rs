//! `B2BREADY_TIMINGS`: how long each phase of a scan took, and the memory it held.

/// Phase timings on standard error when `B2BREADY_TIMINGS` is set: where a slow scan spends
/// its time and its memory, without a profiler.
pub struct Phases {
    start: Option<std::time::Instant>,
    last: std::cell::Cell<Option<std::time::Instant>>,
}

impl Phases {
    pub fn start() -> Self {
        let now = std::env::var_os("B2BREADY_TIMINGS").map(|_| std::time::Instant::now());
        Self {
            start: now,
            last: std::cell::Cell::new(now),
        }
    }

    pub fn mark(&self, phase: &str) {
        if let (Some(start), Some(last)) = (self.start, self.last.get()) {
            let now = std::time::Instant::now();
            eprintln!(
                "timing: {phase:<19} {:>7.3} s (total {:.3} s){}",
                (now - last).as_secs_f64(),
                (now - start).as_secs_f64(),
                memory()
            );
            self.last.set(Some(now));
        }
    }
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

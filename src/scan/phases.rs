//! `B2BREADY_TIMINGS`: how long each phase of a scan took.

/// Phase timings on standard error when `B2BREADY_TIMINGS` is set: where a slow scan spends
/// its time, without a profiler.
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
                "timing: {phase:<14} {:>8.3} s (total {:.3} s)",
                (now - last).as_secs_f64(),
                (now - start).as_secs_f64()
            );
            self.last.set(Some(now));
        }
    }
}

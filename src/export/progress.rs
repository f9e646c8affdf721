//! How an export shows its progress while it runs, one collection at a time.

use std::time::{Duration, Instant};

use crate::snapshot::manifest::CollectionEntry;

/// Progress on standard error: a bar per collection (count and rate) on a terminal, plain
/// log lines otherwise, nothing with `--quiet`.
pub(super) enum Reporter {
    Quiet,
    Lines { last: Instant },
    Bar(indicatif::ProgressBar),
}

impl Reporter {
    pub(super) fn start(enabled: bool, name: &str) -> Self {
        use std::io::IsTerminal;
        if !enabled {
            return Reporter::Quiet;
        }
        if !std::io::stderr().is_terminal() {
            return Reporter::Lines {
                last: Instant::now(),
            };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} {prefix:<40} {human_pos:>10} records  {msg:>10}  {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(name.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        Reporter::Bar(bar)
    }

    pub(super) fn update(&mut self, name: &str, count: u64) {
        match self {
            Reporter::Quiet => {}
            Reporter::Lines { last } => {
                if last.elapsed() > Duration::from_secs(5) {
                    eprintln!("{name}: {count} records so far");
                    *last = Instant::now();
                }
            }
            Reporter::Bar(bar) => {
                bar.set_position(count);
                let secs = bar.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!("{:.0}/s", count as f64 / secs));
            }
        }
    }

    pub(super) fn note(&self, message: &str) {
        match self {
            Reporter::Quiet => {}
            Reporter::Lines { .. } => eprintln!("{message}"),
            Reporter::Bar(bar) => bar.println(message),
        }
    }

    pub(super) fn finish(self, name: &str, entry: &CollectionEntry, took: Duration) {
        let line = format!(
            "{name}: {} ({} records, {:.1} s)",
            entry.status.as_str(),
            entry.count.unwrap_or(0),
            took.as_secs_f64()
        );
        match self {
            Reporter::Quiet => {}
            Reporter::Lines { .. } => eprintln!("{line}"),
            Reporter::Bar(bar) => bar.finish_with_message(line.clone()),
        }
    }
}

//! A file written front to back that, once large, lets the operating system drop the pages it
//! has written from its cache as they reach the disk.
//!
//! A report of a large tenant runs to gigabytes. Kept whole in the page cache, it takes as many
//! fresh pages, and fresh pages are the dear part of writing: on a virtual machine whose free
//! memory goes back to the host, filling them costs several times the copy itself (2.6 GB: 7 s
//! of system time, against 1 s when the same pages are reused). Past [`WriteBehind::START`],
//! every [`WriteBehind::WINDOW`] written, the kernel is asked to write back the latest stretch
//! and drop what of it is on disk already (`POSIX_FADV_DONTNEED`), so the file streams through a
//! bounded set of pages that are reused while warm. The asking is done on a thread of its own
//! (starting the write-back is work too), and nothing waits on the disk: a slow disk only means
//! fewer pages are dropped. Smaller files are written exactly as before.

use std::io::Write;

pub(super) struct WriteBehind {
    file: std::fs::File,
    written: u64,
    advised: u64,
    #[cfg(target_os = "linux")]
    advisor: Option<advisor::Advisor>,
}

impl WriteBehind {
    pub(super) const START: u64 = 64 << 20;
    pub(super) const WINDOW: u64 = 32 << 20;
    /// How far back each piece of advice reaches: pages still being written back when first
    /// advised are dropped by a later one.
    #[cfg(target_os = "linux")]
    const TRAIL: u64 = 256 << 20;

    pub(super) fn new(file: std::fs::File) -> Self {
        WriteBehind {
            file,
            written: 0,
            advised: 0,
            #[cfg(target_os = "linux")]
            advisor: None,
        }
    }

    fn advise(&mut self) {
        if self.written < Self::START || self.written - self.advised < Self::WINDOW {
            return;
        }
        self.advised = self.written;
        #[cfg(target_os = "linux")]
        {
            let from = self.written.saturating_sub(Self::TRAIL);
            if self.advisor.is_none() {
                self.advisor = advisor::Advisor::start(&self.file);
            }
            if let Some(a) = &self.advisor {
                a.advise(from, self.written - from);
            }
        }
    }
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        self.advise();
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

#[cfg(target_os = "linux")]
mod advisor {
    use std::sync::mpsc::{Sender, channel};
    use std::thread::JoinHandle;

    /// A thread giving the kernel advice about stretches of one file; dropped, it finishes
    /// the advice asked for and stops.
    pub(super) struct Advisor {
        to: Option<Sender<(u64, u64)>>,
        thread: Option<JoinHandle<()>>,
    }

    impl Advisor {
        /// `None` when the file cannot be shared or no thread started: the file is then written
        /// as any other.
        pub(super) fn start(file: &std::fs::File) -> Option<Self> {
            use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
            let file = file.try_clone().ok()?;
            let (to, stretches) = channel::<(u64, u64)>();
            let thread = std::thread::Builder::new()
                .name("write-behind".into())
                .spawn(move || {
                    for (from, len) in stretches {
                        let (Ok(offset), Ok(len)) = (i64::try_from(from), i64::try_from(len))
                        else {
                            continue;
                        };
                        // Advice only: a file system that ignores it is written as any other.
                        let dontneed = PosixFadviseAdvice::POSIX_FADV_DONTNEED;
                        let _ = posix_fadvise(&file, offset, len, dontneed);
                    }
                })
                .ok()?;
            Some(Advisor {
                to: Some(to),
                thread: Some(thread),
            })
        }

        pub(super) fn advise(&self, from: u64, len: u64) {
            if let Some(to) = &self.to {
                let _ = to.send((from, len));
            }
        }
    }

    impl Drop for Advisor {
        fn drop(&mut self) {
            drop(self.to.take());
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

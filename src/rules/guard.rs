//! Polars is a large library and rule conditions come from files anyone can propose; a panic
//! inside polars while it compiles or evaluates a condition must end as an error that names
//! the rule file, not as the binary's "internal error" report.
//!
//! `main` installs a panic hook that prints that report. [`quietly`] swaps it for a silent
//! hook while polars runs and puts it back afterwards, so a caught panic prints nothing and
//! every other panic is still reported as before.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, PoisonError};

/// One caller at a time swaps the process-wide hook.
static HOOK: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether this thread is already inside [`quietly`] (the hook is silent then).
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` and returns its result, or `None` if it panicked. Panics in the meantime print
/// nothing, on any thread (polars runs work on its own pool); they still unwind as usual.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    if INSIDE.with(Cell::get) {
        return panic::catch_unwind(AssertUnwindSafe(f)).ok();
    }
    let _one_at_a_time = HOOK.lock().unwrap_or_else(PoisonError::into_inner);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    INSIDE.with(|i| i.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    INSIDE.with(|i| i.set(false));
    panic::set_hook(previous);
    result.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_none_and_the_hook_comes_back() {
        let out: Option<()> = quietly(|| panic!("inside polars"));
        assert_eq!(out, None);
        assert_eq!(quietly(|| quietly(|| 7)), Some(Some(7)));
        let nested: Option<Option<()>> = quietly(|| quietly(|| panic!("nested")));
        assert_eq!(nested, Some(None));
        // A panic on another thread while the hook is silent still reaches its joiner.
        let joined = quietly(|| std::thread::spawn(|| panic!("worker")).join().is_err());
        assert_eq!(joined, Some(true));
    }
}

//! The `b2bready` binary: parse flags, run, map the outcome to an exit code
//! (0 nothing at or above --fail-on, 1 findings at or above it, 2 errors).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error: {info}");
        eprintln!("  help: this is a bug in b2bready; please report it with the command you ran");
    }));
    let cli = b2bready::cli::Cli::parse();
    match std::panic::catch_unwind(|| b2bready::commands::run(cli)) {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                eprintln!("  cause: {cause}");
                source = cause.source();
            }
            if let Some(help) = e.help() {
                eprintln!("  help: {help}");
            }
            ExitCode::from(2)
        }
        Err(_) => ExitCode::from(2),
    }
}

//! `b2bready completions` and `b2bready man`: shell completions and manual pages, generated
//! from the same declarations as `--help`, so they cannot drift from the flags.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::Error;

fn stdout_error(source: std::io::Error) -> Error {
    Error::Io {
        what: "cannot write to standard output".into(),
        source,
    }
}

pub fn completions(shell: clap_complete::Shell) -> Result<u8, Error> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "b2bready", &mut out);
    std::io::stdout().write_all(&out).map_err(stdout_error)?;
    Ok(0)
}

/// One page as roff.
fn page(cmd: clap::Command) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    Ok(out)
}

/// Every visible command with its page name: `b2bready`, `b2bready-scan`,
/// `b2bready-rules-list`, …
fn pages(cmd: &clap::Command, name: &str, into: &mut Vec<(String, clap::Command)>) {
    let named = cmd
        .clone()
        .name(name.to_owned())
        .bin_name(name.replace('-', " "));
    into.push((name.to_owned(), named));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        pages(sub, &format!("{name}-{}", sub.get_name()), into);
    }
}

/// The main page on standard output, or with `out` every page (`b2bready-scan.1`, …) there.
pub fn man(out: Option<&Path>) -> Result<u8, Error> {
    let mut cmd = Cli::command();
    cmd.build();
    let Some(dir) = out else {
        let bytes = page(cmd).map_err(stdout_error)?;
        std::io::stdout().write_all(&bytes).map_err(stdout_error)?;
        return Ok(0);
    };
    let mut all = Vec::new();
    pages(&cmd, "b2bready", &mut all);
    for (name, cmd) in &all {
        let file = format!("{name}.1");
        crate::output::write_file(dir, &file, |w| Ok(w.write_all(&page(cmd.clone())?)?))?;
    }
    eprintln!("wrote {} manual pages to {}", all.len(), dir.display());
    Ok(0)
}

//! One function per subcommand: read flags, call the library, choose where output goes.

pub mod apply;
mod apply_status;
pub mod config;
mod diff;
mod docs;
pub mod export;
pub mod generate;
pub mod plan;
mod query;
pub mod rules;
pub mod scan;
pub mod snapshot;

use crate::cli::{BenchCommand, Cli, Command, ConfigCommand, RulesCommand, SnapshotCommand};
use crate::error::Error;

/// Runs a command and returns the process exit code (0 or 1); errors map to 2 in `main`.
pub fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Query(args) => query::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Export(args) => export::run(args),
        Command::Simulate(args) => export::simulate(args),
        Command::Rules(RulesCommand::List { rules }) => rules::list(&rules),
        Command::Rules(RulesCommand::Explain { id, rules }) => rules::explain(&id, &rules),
        Command::Rules(RulesCommand::Columns) => rules::columns(),
        Command::Config(ConfigCommand::Check { file, rules }) => {
            config::check(file.as_deref(), &rules)
        }
        Command::Generate(args) => generate::run(args),
        Command::Snapshot(SnapshotCommand::Seal { dir }) => snapshot::seal(&dir),
        Command::Bench(BenchCommand::Scan(args)) => crate::bench::run(args),
        Command::Bench(BenchCommand::Export(args)) => crate::bench::export(args),
        Command::Bench(BenchCommand::Review(args)) => crate::bench::review(args),
        Command::Bench(BenchCommand::Apply(args)) => crate::bench::apply(args),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { out } => docs::man(out.as_deref()),
        Command::BenchBaseline { file } => crate::bench::baseline(&file),
    }
}

/// The config a scan used and the warnings it raised, on standard error.
pub(crate) fn say_config_and_warnings(
    result: &crate::scan::ScanResult,
    err: &mut dyn std::io::Write,
) {
    if let Some(c) = &result.review.config {
        let _ = writeln!(err, "config: {}", c.display());
    }
    for w in &result.warnings {
        let _ = writeln!(err, "warning: {w}");
    }
}

/// A renderer that wrote to standard output failed.
pub(crate) fn stdout_output(e: crate::output::OutputError) -> Error {
    match e {
        crate::output::OutputError::Write(source) => stdout_error(source),
        other => Error::Report(other),
    }
}

pub(crate) fn stdout_error(source: std::io::Error) -> Error {
    Error::Io {
        what: "cannot write to standard output".into(),
        source,
    }
}

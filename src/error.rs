//! The one error `main` prints: a headline, the cause, and a line of help.

use crate::output::OutputError;
use crate::rules::RuleLoadError;
use crate::scan::ScanError;
use crate::scan::inputs::InputError;
use crate::snapshot::SnapshotError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Rules(#[from] RuleLoadError),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Report(#[from] OutputError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Baseline(#[from] crate::scan::baseline::BaselineError),
    #[error("rule evaluation failed: {0}")]
    Engine(polars::prelude::PolarsError),
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    #[error(transparent)]
    Diff(#[from] crate::diff::DiffError),
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
    #[error(transparent)]
    Redact(#[from] crate::redact::RedactError),
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    #[error(transparent)]
    Apply(#[from] crate::apply::ApplyError),
    #[error(transparent)]
    Graph(#[from] crate::graph::GraphError),
    #[error(transparent)]
    Simulator(#[from] crate::simulator::SimulatorError),
    #[error("{0}")]
    Usage(String),
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<crate::pipeline::settings::SettingsError> for Error {
    fn from(e: crate::pipeline::settings::SettingsError) -> Self {
        use crate::pipeline::settings::SettingsError as S;
        match e {
            S::Config(e) => Error::Config(e),
            S::Rules(e) => Error::Rules(e),
            S::Input(e) => Error::Input(e),
        }
    }
}

impl From<ScanError> for Error {
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::Snapshot(e) => Error::Snapshot(e),
            ScanError::Input(e) => Error::Input(e),
            ScanError::Engine(e) => Error::Engine(e),
        }
    }
}

impl Error {
    pub fn help(&self) -> Option<String> {
        match self {
            Error::Snapshot(e) => e.help(),
            Error::Export(e) => e.help(),
            Error::Apply(e) => e.help(),
            Error::Simulator(e) => e.help(),
            Error::Config(e) => e.help(),
            Error::Baseline(crate::scan::baseline::BaselineError::OtherTenant { .. }) => Some(
                "use a findings.json of this tenant as the baseline, or scan without --baseline once to start one".into(),
            ),
            Error::Baseline(_) => Some(
                "give the findings.json an earlier `b2bready scan --format json` wrote".into(),
            ),
            Error::Graph(crate::graph::GraphError::Auth(_)) => Some(
                "check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or the token file".into(),
            ),
            Error::Rules(_) => Some(
                "fix the file, or check it with `b2bready rules list --rules DIR`; `b2bready rules columns` lists the columns".into(),
            ),
            _ => None,
        }
    }

    /// A closed pipe (`b2bready scan … | head`) is not an error worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        let io = match self {
            Error::Io { source, .. } => Some(source),
            Error::Report(OutputError::Io { source, .. }) => Some(source),
            _ => None,
        };
        io.is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

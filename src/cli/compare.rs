//! The flags of the commands that compare and question scans: `diff` and `query`.

use std::path::PathBuf;

use clap::Args;

use crate::pipeline::{ReviewFlags, ScanFlags};

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier side: a snapshot folder or a findings.json.
    pub old: PathBuf,
    /// The later side: a snapshot folder or a findings.json.
    pub new: PathBuf,
    /// Outputs, comma-separated or repeated: table (standard output), json (diff.json), csv
    /// (diff.csv), markdown (diff.md).
    #[arg(
        long,
        short,
        value_enum,
        value_delimiter = ',',
        default_value = "table"
    )]
    pub format: Vec<DiffFormat>,
    /// Folder for diff.json, diff.csv and diff.md.
    #[arg(long, short, default_value = "b2bready-diff")]
    pub out: PathBuf,
    /// Exit 1 when an account that was ready is blocked now.
    #[arg(long)]
    pub fail_on_new_blockers: bool,
    #[command(flatten)]
    pub inputs: ScanFlags,
    #[command(flatten)]
    pub redact: crate::redact::RedactFlags,
    /// Print nothing but errors (files are still written).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The snapshot folder (with manifest.json).
    pub snapshot: PathBuf,
    /// The query: one SELECT over users, tenant, findings and verdicts.
    pub sql: String,
    /// table (default), csv or json (an array of objects), on standard output.
    #[arg(long, short, value_enum, default_value = "table")]
    pub format: QueryFormat,
    #[command(flatten)]
    pub inputs: ScanFlags,
    #[command(flatten)]
    pub review: ReviewFlags,
}

/// How `query` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QueryFormat {
    Table,
    Csv,
    Json,
}

/// An output of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum DiffFormat {
    Table,
    Json,
    Csv,
    Markdown,
}

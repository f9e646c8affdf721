//! Command-line flags, declared as data with their documentation next to them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::bench::{BenchApplyArgs, BenchArgs, BenchExportArgs};
use crate::pipeline::{ReviewFlags, ScanFlags};
use crate::report::Format;

mod compare;
pub use compare::{DiffArgs, DiffFormat, QueryArgs, QueryFormat};

/// The version and the commit it was built from (`unknown` from a source archive).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("B2BREADY_COMMIT"),
    ")"
);

/// Decides, account by account, whether a Microsoft Entra tenant's internal accounts used by
/// outside people can be converted to B2B collaboration through the invitation API.
#[derive(Debug, Parser)]
#[command(name = "b2bready", version = VERSION, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a snapshot: verdict per account, findings per rule, reports.
    Scan(ScanArgs),
    /// Turn the ready accounts of a scan into a reviewable invitation plan, or re-check one.
    Plan(PlanArgs),
    /// What changed between two scans of one tenant, account by account: each side a snapshot
    /// folder (scanned with the same settings) or a findings.json.
    Diff(DiffArgs),
    /// SQL over a scan: tables users, tenant, findings and verdicts, in the dialect of rule
    /// conditions (polars SQL), e.g. "SELECT mail_domain, COUNT(*) AS n FROM users GROUP BY
    /// mail_domain ORDER BY n DESC".
    Query(QueryArgs),
    /// Carry out a reviewed plan on the live tenant: re-check each account, invite it once,
    /// journal every step (or, with --status, report where each planned account stands).
    Apply(ApplyArgs),
    /// Read a tenant through Microsoft Graph and Azure Resource Manager into a snapshot.
    Export(ExportArgs),
    /// Serve a snapshot as a Graph-compatible tenant on loopback, to rehearse an export.
    ///
    /// The simulator is a test double, not a security boundary: whoever can reach its port can
    /// read the snapshot's data and get tokens for it (its device code sign-in approves itself
    /// after two polls). It therefore listens on loopback only unless --allow-remote is given.
    /// Its tokens and device codes are random, a device code only answers the client id that
    /// asked for it, it serves only collection files that match the manifest's counts and
    /// sha256, and it bounds what a client can make it spend: request line and headers 64 KiB,
    /// bodies 4 MiB (413 beyond), 30 s idle, 10 s per request, --workers connections at once.
    Simulate(SimulateArgs),
    /// List and explain the rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Check a b2bready.toml config file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a synthetic tenant snapshot (deterministic by seed), for demos and benchmarks.
    Generate(GenerateArgs),
    /// Snapshot utilities.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Measure the scan or the export on a generated tenant: wall time and peak memory.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Shell completions on standard output (e.g. `b2bready completions bash >
    /// /etc/bash_completion.d/b2bready`, or for PowerShell add the output to $PROFILE).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Manual pages (roff) from the same declarations as --help: the main page on standard
    /// output, or with --out a page per command (b2bready-scan.1, …).
    Man {
        /// Folder to write every page to.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// The benchmark's baseline: parse users.jsonl with serde_json and rayon, nothing else.
    #[command(hide = true)]
    BenchBaseline { file: PathBuf },
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The snapshot folder (with manifest.json).
    pub snapshot: PathBuf,
    /// Outputs to produce, comma-separated or repeated.
    #[arg(
        long,
        short,
        value_enum,
        value_delimiter = ',',
        default_value = "table"
    )]
    pub format: Vec<Format>,
    /// Folder for findings.json, findings.csv, verdicts.csv and report.html.
    #[arg(long, short, default_value = "b2bready-out")]
    pub out: PathBuf,
    #[command(flatten)]
    pub inputs: ScanFlags,
    #[command(flatten)]
    pub review: ReviewFlags,
    #[command(flatten)]
    pub redact: crate::redact::RedactFlags,
    /// Most accounts report.html holds (blocked first); it names by verdict how many it left
    /// out, and every account is in verdicts.csv and findings.json.
    #[arg(long, default_value_t = crate::report::html::DEFAULT_MAX_ACCOUNTS, value_name = "N")]
    pub html_max_accounts: usize,
    /// Most workflow annotations printed by --format github, per level.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub annotations: usize,
    /// Print nothing but errors (files are still written).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The snapshot folder (with manifest.json).
    pub snapshot: PathBuf,
    /// Folder to write the plan to (plan.json, batches/, invite.ps1, review.csv,
    /// communication.csv).
    #[arg(long, short, required_unless_present = "check")]
    pub out: Option<PathBuf>,
    /// Re-validate an existing plan folder against the snapshot instead of writing one:
    /// exit 1 when a planned account is no longer ready.
    #[arg(long, value_name = "PLAN_DIR", conflicts_with = "out")]
    pub check: Option<PathBuf>,
    #[command(flatten)]
    pub inputs: ScanFlags,
    /// Where the invitation sends people after they redeem it [default:
    /// https://myapps.microsoft.com/?tenantId=<tenant id>].
    #[arg(long, value_name = "URL")]
    pub redirect_url: Option<String>,
    /// Let Graph email the invitation (the default).
    #[arg(long, overrides_with = "no_invitation_message")]
    pub send_invitation_message: bool,
    /// Do not let Graph email the invitation: send your own (see communication.csv).
    #[arg(long)]
    pub no_invitation_message: bool,
    /// Language of Graph's invitation email, e.g. de-DE (Graph's default is en-US).
    #[arg(long, value_name = "LANG")]
    pub message_language: Option<String>,
    /// One extra recipient of the invitation email (Graph takes at most one).
    #[arg(long, value_name = "ADDRESS")]
    pub cc: Option<String>,
    /// A minijinja template for the message, with the account's fields (display_name, mail,
    /// user_principal_name, id) and tenant_name, teams_url, redirect_url.
    #[arg(long, value_name = "FILE")]
    pub message_file: Option<PathBuf>,
    /// Accounts per wave.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub wave_size: u32,
    /// Add the post-conversion step that switches userType to Guest, for MAU billing.
    #[arg(long)]
    pub set_guest_usertype: bool,
    /// Plan --set-guest-usertype even though the snapshot shows no linked subscription.
    #[arg(long)]
    pub force: bool,
    /// Also plan accounts already invited and not yet redeemed (verdict pending) that no
    /// blocker stops: their invitation is sent again, with a new redemption link.
    #[arg(long)]
    pub resend_pending: bool,
    /// Sign the plan's file list with this key (HMAC-SHA256; at least 32 bytes), or with
    /// --check, verify the signature: binds a reviewer's approval to the exact files.
    #[arg(long, value_name = "FILE")]
    pub sign_key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan folder `b2bready plan --out` wrote (plan.json, plan-files.json, ...).
    pub plan: PathBuf,
    /// The snapshot the plan was made from: its tenant facts and other accounts' addresses
    /// judge the live accounts again (checked against the plan's manifest digest).
    #[arg(long, value_name = "DIR", required_unless_present = "status")]
    pub snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub inputs: ScanFlags,
    #[command(flatten)]
    pub sign_in: crate::graph::signin::SignInFlags,
    /// Send without asking. Without it, apply shows what it would do and asks for the tenant
    /// id to be typed on a terminal; with no terminal it refuses.
    #[arg(long)]
    pub yes: bool,
    /// Re-check every planned account live and report; send nothing, journal nothing.
    #[arg(long, conflicts_with = "status")]
    pub dry_run: bool,
    /// Continue a run its journal records: accounts sent are not sent again, and an
    /// invitation whose outcome is unknown is read back first.
    #[arg(long)]
    pub resume: bool,
    /// Report where each planned account stands (journal and live externalUserState);
    /// sends nothing.
    #[arg(long)]
    pub status: bool,
    /// With --status: table (default), json or csv, on standard output.
    #[arg(long, value_enum, default_value = "table", requires = "status")]
    pub format: StatusFormat,
    /// With --status: only the accounts whose invitation has been pending at least N days
    /// (the CSV's first column then feeds `plan --resend-pending --scope-file`).
    #[arg(long, value_name = "N", requires = "status")]
    pub pending_days: Option<i64>,
    /// Only these waves (e.g. --wave 1,2).
    #[arg(long, value_name = "N[,M...]", value_delimiter = ',')]
    pub wave: Vec<u32>,
    /// Act on at most this many accounts not sent yet.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Accounts in flight at once (throttling slows the run down; 429 and Retry-After are
    /// honoured).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// The journal [default: PLAN/journal.jsonl].
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// The key the plan was signed with: its signature is checked before anything is sent.
    #[arg(long, value_name = "FILE")]
    pub sign_key_file: Option<PathBuf>,
    /// How long to wait before reading an account back after an invitation's answer was
    /// lost (the directory needs a moment to show a change everywhere).
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub read_back_delay_ms: u64,
    /// No progress, no closing table.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Folder to write the snapshot to (must be empty or new).
    #[arg(long, short, value_name = "DIR", required_unless_present = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the interrupted export in this folder.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub resume: Option<PathBuf>,
    /// An earlier snapshot of the same tenant (left unchanged): read only the users changed
    /// since it (Graph's users delta) and everything else in full, into a complete new
    /// snapshot; an expired delta token falls back to reading all users.
    #[arg(long, value_name = "OLD_SNAPSHOT", conflicts_with = "resume")]
    pub since: Option<PathBuf>,
    #[command(flatten)]
    pub sign_in: crate::graph::signin::SignInFlags,
    /// Users per page (Graph allows at most 999).
    #[arg(long, default_value_t = 999, value_parser = clap::value_parser!(u32).range(1..=999))]
    pub page_size: u32,
    /// Also read each user's group memberships (memberOf), 20 users per $batch request.
    #[arg(long)]
    pub memberships: bool,
    /// Also read each user's authentication methods, 20 users per $batch request.
    #[arg(long)]
    pub authentication_methods: bool,
    /// Also read externalUserConvertedOn, which only Graph beta has: a second pass over every
    /// user (two properties each). Without it, converted-from-external is not evaluated.
    #[arg(long)]
    pub converted_users: bool,
    /// A collection not to read, e.g. guestUsages. Repeatable.
    #[arg(long, value_name = "COLLECTION")]
    pub skip: Vec<String>,
    /// No progress lines and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The snapshot to serve as a tenant.
    pub snapshot: PathBuf,
    /// Address to listen on; port 0 picks a free port (printed on the first line). Loopback
    /// only (127.0.0.0/8, ::1, localhost) unless --allow-remote is given.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Allow --listen on an address other than loopback. Anyone who can reach the port then
    /// gets the tenant's data and tokens.
    #[arg(long)]
    pub allow_remote: bool,
    /// Connections served at once, one worker thread each; an idle connection gives its
    /// worker up when another connection waits.
    #[arg(long, value_name = "N", default_value_t = 32,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: u16,
    /// The client id the token endpoint accepts (the secret comes from
    /// B2BREADY_SIMULATOR_SECRET, default "simulator-secret").
    #[arg(long, default_value = "b2bready-simulator")]
    pub client_id: String,
    /// The issuer of the federated credential the client id trusts (workload identity).
    #[arg(long, default_value = "https://token.actions.githubusercontent.com")]
    pub federated_issuer: String,
    /// A PEM certificate whose key signs client assertions the token endpoint accepts.
    #[arg(long, value_name = "FILE")]
    pub client_certificate: Option<PathBuf>,
    /// The subject of that federated credential.
    #[arg(long, default_value = "repo:contoso/identity:ref:refs/heads/main")]
    pub federated_subject: String,
    /// An invitation pending this many milliseconds reads as accepted from then on (its
    /// externalUserState turns Accepted). Without it, invitations stay pending.
    #[arg(long, value_name = "MS")]
    pub accept_after_ms: Option<u64>,
    #[command(flatten)]
    pub faults: crate::simulator::Faults,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// One line per rule: id, severity, target, title.
    List {
        /// A folder of extra rule files. Repeatable.
        #[arg(long = "rules", value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
    /// Everything about one rule: condition, message, inputs and documentation.
    Explain {
        /// The rule id, e.g. onprem-upn-present.
        id: String,
        /// A folder of extra rule files. Repeatable.
        #[arg(long = "rules", value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
    /// The columns rule conditions and messages can use.
    Columns,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file: keys, values, rule ids, exceptions and the files it names.
    Check {
        /// The file [default: b2bready.toml in the working directory].
        file: Option<PathBuf>,
        /// A folder of extra rule files the scan will be given with --rules. Repeatable.
        #[arg(long = "rules", value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Recompute the counts and sha256 of every collection and rewrite manifest.json, after
    /// editing a snapshot by hand.
    Seal {
        /// The snapshot folder.
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write the snapshot to.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Number of accounts.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Seed: the same seed and size give the same snapshot.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Compress collection files with zstd.
    #[arg(long)]
    pub zstd: bool,
    #[command(flatten)]
    pub shape: crate::synth::Shape,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The scan to JSON, CSV and HTML against a plain parallel JSON parse of users.jsonl.
    Scan(BenchArgs),
    /// The export from the simulator, with latency on every request, against the floor of
    /// requests × latency; and the exporter's peak memory.
    Export(BenchExportArgs),
    /// The nightly CI scan: every output, without and with a config of a thousand exceptions
    /// and a baseline; wall time and peak memory.
    Review(BenchArgs),
    /// Apply a plan of many accounts to the simulator with latency: wall time and requests
    /// per account against the floor of two requests per account.
    Apply(BenchApplyArgs),
}

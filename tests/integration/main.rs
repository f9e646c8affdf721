//! The integration tests: one binary (polars is linked once), one module per concern.

mod apply;
mod apply_faults;
mod apply_runs;
mod bad_input;
mod browser;
mod certificates;
mod ci_outputs;
mod cli;
mod common;
mod delta;
mod diff;
mod export;
mod fidelity;
mod generator;
mod hostile_files;
mod hostile_rules;
mod hostile_simulator;
mod plan;
mod powershell;
mod query;
mod recheck;
mod redact;
mod reports;
mod review;
mod rule_fixtures;
mod signin;

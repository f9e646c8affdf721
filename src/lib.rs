//! b2bready decides, account by account, whether a Microsoft Entra tenant's internal accounts
//! used by outside people can be converted to B2B collaboration through the invitation API.
//!
//! Pipeline: `snapshot` (read) → `scan` (facts, rules, verdicts) → `report` (renderers).
//! `cli` and `commands` sit on top; `model` is shared by all.

pub mod apply;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diff;
pub mod error;
pub mod export;
pub mod files;
pub mod graph;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod query;
pub mod redact;
pub mod report;
pub mod rules;
pub mod scan;
pub mod simulator;
pub mod snapshot;
pub mod synth;

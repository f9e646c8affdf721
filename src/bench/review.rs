//! `bench review`: the nightly CI scan to every output, without and with a config of a
//! thousand exceptions and a baseline.

use std::path::Path;
use std::process::Command;

use serde_json::value::RawValue;

use super::{BenchArgs, io, median, peak_children_kib, tenant, timed};
use crate::error::Error;

/// Exceptions written for `bench review`, one in ten of them expired.
const REVIEW_EXCEPTIONS: usize = 1_000;

/// The nightly CI scan: the same scan to every output, without and then with a config of
/// a thousand exceptions and a baseline that lacks one finding in twenty (so those are new).
pub fn review(args: BenchArgs) -> Result<u8, Error> {
    let exe = std::env::current_exe().map_err(io("cannot find the running program"))?;
    let tenant = tenant(&args)?;
    let dir = args.dir.join(format!("review-{}", args.users));
    let scan = |extra: &[&str], out: &str| {
        let mut c = Command::new(&exe);
        c.args(["scan", "--quiet"])
            .args(extra)
            .arg("--out")
            .arg(dir.join(out))
            .arg(&tenant)
            .stdout(std::process::Stdio::null());
        c
    };
    timed(&mut scan(&["--no-config", "--format", "json"], "previous"))?;
    let after_previous = peak_children_kib();
    let (exceptions, findings) = review_inputs(&dir)?;
    const ALL: &str = "json,csv,html,sarif,junit,markdown,github";
    let config = dir.join("b2bready.toml").to_string_lossy().into_owned();
    let baseline = dir.join("baseline.json").to_string_lossy().into_owned();
    const RUNS: usize = 3;
    let mut plain = Vec::new();
    for _ in 0..RUNS {
        plain.push(timed(&mut scan(
            &["--no-config", "--format", ALL],
            "plain",
        ))?);
    }
    let after_plain = peak_children_kib();
    let reviewed = [
        "--format",
        ALL,
        "--config",
        &config,
        "--baseline",
        &baseline,
    ];
    let mut review = Vec::new();
    for _ in 0..RUNS {
        review.push(timed(&mut scan(&reviewed, "review"))?);
    }
    let after_review = peak_children_kib();
    let (plain_t, review_t) = (median(plain), median(review));
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("accounts:                     {}", args.users);
    println!("findings:                     {findings}");
    println!(
        "exceptions / baseline:        {exceptions} (one in ten expired) / all findings but one in twenty"
    );
    println!(
        "scan to all 7 outputs:        {:.2} s (median of {RUNS})",
        plain_t.as_secs_f64()
    );
    println!(
        "same with config + baseline:  {:.2} s (median of {RUNS}) = {:.2}x",
        review_t.as_secs_f64(),
        review_t.as_secs_f64() / plain_t.as_secs_f64()
    );
    println!(
        "peak memory:                  {:.1} MiB plain, {:.1} MiB with the review{}",
        mib(after_plain.max(after_previous)),
        mib(after_review),
        if after_review > after_plain {
            ""
        } else {
            " (at most: no higher than the plain scans)"
        }
    );
    Ok(0)
}

/// The parts of the previous findings.json a baseline needs, the findings left as their text.
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Previous<'a> {
    #[serde(borrow)]
    schema: &'a RawValue,
    #[serde(borrow)]
    generated_at: &'a RawValue,
    #[serde(borrow)]
    tenant: &'a RawValue,
    #[serde(borrow)]
    findings: Vec<&'a RawValue>,
}

/// What an exception is written from.
#[derive(serde::Deserialize)]
struct Brief {
    rule: serde_json::Value,
    severity: serde_json::Value,
    subject: serde_json::Value,
}

/// Writes `b2bready.toml` (exceptions for the first blockers) and `baseline.json` (the
/// previous findings less one in twenty) from `previous/findings.json`.
///
/// The findings stay text: this process starts the measured scans, and a child's peak memory
/// as the kernel reports it is at least what its parent held when it started it.
fn review_inputs(dir: &Path) -> Result<(usize, usize), Error> {
    use std::fmt::Write as _;
    let path = dir.join("previous").join("findings.json");
    let bad = |e: serde_json::Error| Error::Usage(format!("{}: {e}", path.display()));
    let text =
        std::fs::read_to_string(&path).map_err(io("cannot read the previous findings.json"))?;
    let mut previous: Previous = serde_json::from_str(&text).map_err(bad)?;
    let total = previous.findings.len();
    let mut toml = String::new();
    let mut written = 0;
    for f in &previous.findings {
        if written == REVIEW_EXCEPTIONS {
            break;
        }
        let f: Brief = serde_json::from_str(f.get()).map_err(bad)?;
        if f.severity != "blocker" || f.subject["type"] != "user" {
            continue;
        }
        let subject = if written % 2 == 0 {
            &f.subject["id"]
        } else {
            &f.subject["userPrincipalName"]
        };
        let expires = if written % 10 == 0 {
            "2020-01-31"
        } else {
            "2099-12-31"
        };
        let _ = write!(
            toml,
            "[[exception]]\nrule = {}\nsubject = {}\nreason = \"reviewed\"\nowner = \"identity team\"\nexpires = {expires}\n\n",
            f.rule, subject
        );
        written += 1;
    }
    std::fs::write(dir.join("b2bready.toml"), toml).map_err(io("cannot write b2bready.toml"))?;
    let mut i = 0;
    previous.findings.retain(|_| {
        i += 1;
        (i - 1) % 20 != 0
    });
    let out = serde_json::to_vec(&previous).map_err(|e| Error::Usage(e.to_string()))?;
    std::fs::write(dir.join("baseline.json"), out).map_err(io("cannot write baseline.json"))?;
    Ok((written, total))
}

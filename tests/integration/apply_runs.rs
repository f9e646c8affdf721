//! Which accounts a run of `b2bready apply` takes up and how it is confirmed: waves, limits
//! and resumes that finish the rest, the prompt for the tenant id on a terminal, and the
//! follow-up list of invitations pending for days.

#[cfg(target_os = "linux")]
use std::path::Path;

#[cfg(target_os = "linux")]
use crate::apply::invitations;
use crate::apply::{CONTOSO, apply, events, make_plan, planned, planned_ids, recorded_once};
#[cfg(target_os = "linux")]
use crate::common::{SIM_CLIENT, SIM_SECRET};
use crate::common::{Simulator, contoso, stderr_of};

#[test]
fn waves_and_limits_choose_what_a_run_sends_and_resume_finishes_the_rest() {
    let sim = Simulator::start(&contoso(), &[]);
    let (_dir, plan) = make_plan(&contoso(), &["--wave-size", "4"]);
    let accounts = planned(&plan);
    let wave = |w: u64| -> Vec<String> {
        accounts
            .iter()
            .filter(|a| a["wave"] == w)
            .map(|a| a["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let sent = || -> Vec<String> { events(&plan, "sent").into_keys().collect() };
    let run = |extra: &[&str]| {
        let o = apply(&sim, &plan, &contoso(), CONTOSO)
            .arg("--yes")
            .args(extra)
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    };
    run(&["--wave", "2"]);
    let mut expected = wave(2);
    expected.sort();
    assert_eq!(sent(), expected);
    run(&["--resume", "--limit", "2"]);
    expected.extend(wave(1).into_iter().take(2));
    expected.sort();
    assert_eq!(sent(), expected);
    run(&["--resume"]);
    recorded_once(&sim, &planned_ids(&plan));
    let status = |days: &str| {
        let o = apply(&sim, &plan, &contoso(), CONTOSO)
            .args(["--status", "--format", "csv", "--pending-days", days])
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
        String::from_utf8_lossy(&o.stdout).lines().count()
    };
    assert_eq!(
        status("0"),
        accounts.len() + 1,
        "every account, after the header"
    );
    assert_eq!(status("1"), 1, "none pending for a day yet");
}

/// Runs apply on a terminal (util-linux `script` gives it one), typing `typed` at the prompt.
#[cfg(target_os = "linux")]
fn apply_on_terminal(sim: &Simulator, plan: &Path, typed: &str) -> std::process::Output {
    use std::io::Write;
    let exe = assert_cmd::cargo::cargo_bin("b2bready");
    let command = format!(
        "{} apply {} --snapshot {} --graph-url {} --login-url {} -q",
        exe.display(),
        plan.display(),
        contoso().display(),
        sim.url,
        sim.url
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("AZURE_TENANT_ID", CONTOSO)
        .env("AZURE_CLIENT_ID", SIM_CLIENT)
        .env("AZURE_CLIENT_SECRET", SIM_SECRET)
        .env_remove("B2BREADY_ACCESS_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(format!("{typed}\n").as_bytes())
            .expect("type");
    }
    child.wait_with_output().expect("wait")
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_apply_shows_the_run_and_sends_only_when_the_tenant_id_is_typed() {
    let sim = Simulator::start(&contoso(), &[]);
    let (_dir, plan) = make_plan(&contoso(), &[]);
    let o = apply_on_terminal(&sim, &plan, "contoso");
    let shown = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("apply will invite 11 account(s)") && shown.contains("cannot be undone"),
        "{shown}"
    );
    assert!(shown.contains("nothing was sent"), "{shown}");
    assert_eq!(invitations(&sim, CONTOSO)["total"].as_u64(), Some(0));
    assert!(!plan.join("journal.jsonl").exists());
    let o = apply_on_terminal(&sim, &plan, CONTOSO);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    recorded_once(&sim, &planned_ids(&plan));
}

#[test]
fn pending_invitations_planned_for_a_resend_are_sent_again_once() {
    let sim = Simulator::start(&contoso(), &[]);
    let (_dir, plan) = make_plan(&contoso(), &["--resend-pending"]);
    let resend: Vec<String> = planned(&plan)
        .iter()
        .filter(|a| a["resend"] == true)
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(resend.len(), 2, "contoso has two pending invitations");
    let o = apply(&sim, &plan, &contoso(), CONTOSO)
        .arg("--yes")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    recorded_once(&sim, &planned_ids(&plan));
    let sent = events(&plan, "sent");
    assert!(resend.iter().all(|id| sent.get(id) == Some(&1)), "{sent:?}");
}

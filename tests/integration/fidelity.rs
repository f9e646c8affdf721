//! The evidence around the accounts (contacts, deleted users, roles, units, conditional access,
//! the tenants behind mail domains, converted accounts) through export, the simulator and the
//! scan; pending invitations; and scopes chosen by a condition.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::{Simulator, Tenant, bin, contoso, scan_json, stderr_of};

const CONTOSO: &str = "2f6a3b1c-8d4e-4f5a-9b7c-1e2d3c4b5a69";

/// The new directory collections, read by an export of the example tenant.
const DIRECTORY: [&str; 7] = [
    "contacts",
    "deletedUsers",
    "directoryRoles",
    "administrativeUnits",
    "conditionalAccessPolicies",
    "domainTenants",
    "convertedUsers",
];

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"))
        .expect("json")
}

/// A collection's records, each as compact JSON with sorted keys, in a set.
fn records(dir: &Path, name: &str) -> BTreeSet<String> {
    std::fs::read_to_string(dir.join(format!("{name}.jsonl")))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            // serde_json's maps are sorted: this is a canonical form.
            v.to_string()
        })
        .collect()
}

/// Exports the simulator's tenant (every collection) to `out` and checks it succeeded.
fn export_ok(sim: &Simulator, out: &Path) {
    let o = sim
        .export(CONTOSO)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
}

/// Checks that the manifest marks `name` denied and names the permission to grant.
fn denied_naming(m: &serde_json::Value, name: &str, permission: &str) {
    let entry = &m["collections"][name];
    assert_eq!(entry["status"], "denied", "{name}");
    assert!(
        entry["reason"]
            .as_str()
            .is_some_and(|r| r.contains(permission)),
        "{entry}"
    );
}

fn rule<'a>(scan: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    scan["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["id"] == id)
        .expect("rule")
}

#[test]
fn every_directory_collection_round_trips_through_export() {
    let sim = Simulator::start(&contoso(), &[]);
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("snapshot");
    export_ok(&sim, &out);
    let m = manifest(&out);
    for name in DIRECTORY {
        assert_eq!(m["collections"][name]["status"], "ok", "{name}");
        assert_eq!(
            records(&out, name),
            records(&contoso(), name),
            "{name} differs after the round trip"
        );
    }
    // The same verdicts, blockers and warnings as the fixture itself.
    let (a, b) = (scan_json(&out, &[]), scan_json(&contoso(), &[]));
    assert_eq!(a["verdicts"], b["verdicts"]);
    assert_eq!(a["summary"], b["summary"]);
}

#[test]
fn without_converted_users_the_rule_is_not_evaluated_and_says_how_to_get_it() {
    let sim = Simulator::start(&contoso(), &[]);
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("snapshot");
    sim.export_default(CONTOSO)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    assert_eq!(
        manifest(&out)["collections"]["convertedUsers"]["status"],
        "skipped"
    );
    let scan = scan_json(&out, &[]);
    let r = rule(&scan, "converted-from-external");
    assert_eq!(r["status"], "not-evaluated");
    assert!(
        r["reason"]
            .as_str()
            .is_some_and(|n| n.contains("convertedUsers is skipped")),
        "{r}"
    );
}

#[test]
fn denied_and_unavailable_directory_collections_name_the_permission_and_stop_only_their_rules() {
    // Contacts denied (403); the roles' beta endpoint missing (404).
    let mut tenant = Tenant::from_dir(&contoso());
    tenant.collections.remove("directoryRoles");
    let dir = tempfile::tempdir().expect("temp");
    let served = tenant.write(&dir.path().join("served"));
    let sim = Simulator::start(&served, &["--deny", "contacts", "--deny", "domainTenants"]);
    let out = dir.path().join("snapshot");
    export_ok(&sim, &out);
    let m = manifest(&out);
    denied_naming(&m, "contacts", "OrgContact.Read.All");
    denied_naming(&m, "domainTenants", "CrossTenantInformation.ReadBasic.All");
    assert_eq!(m["collections"]["directoryRoles"]["status"], "unavailable");
    let scan = scan_json(&out, &[]);
    for id in [
        "mail-collision",
        "privileged-role-holder",
        "cross-tenant-inbound-blocked",
        "cross-tenant-inbound-restricted",
        "mfa-not-trusted-after-conversion",
    ] {
        assert_eq!(rule(&scan, id)["status"], "not-evaluated", "{id}");
    }
    for id in ["restricted-management-unit", "onprem-upn-present"] {
        assert_eq!(rule(&scan, id)["status"], "evaluated", "{id}");
    }
    // --skip leaves a directory collection out like any other.
    let skipped = dir.path().join("skipped");
    sim.export(CONTOSO)
        .arg("--out")
        .arg(&skipped)
        .args(["--skip", "administrativeUnits"])
        .assert()
        .code(0);
    assert_eq!(
        manifest(&skipped)["collections"]["administrativeUnits"]["status"],
        "skipped"
    );
}

#[test]
fn only_plain_domain_names_are_looked_up_and_a_failed_lookup_is_recorded() {
    let mut tenant = Tenant::from_dir(&contoso());
    let hostile = crate::common::clean_guest(
        "0e3b8f6c-1a2d-4e5f-9a0b-7c8d9e0f1a2b",
        "mallory@contoso.com",
        "mallory@evil.example')?$x=1",
    );
    let failing = crate::common::clean_guest(
        "0e3b8f6c-1a2d-4e5f-9a0b-7c8d9e0f1a2c",
        "flaky@contoso.com",
        "flaky@flaky.example",
    );
    tenant.add_users(&format!("{hostile}\n{failing}"));
    let mut domains = tenant.collections["domainTenants"].clone();
    domains.push_str("{\"domain\":\"flaky.example\",\"status\":\"unknown\"}\n");
    tenant.set("domainTenants", &domains);
    let dir = tempfile::tempdir().expect("temp");
    let served = tenant.write(&dir.path().join("served"));
    let sim = Simulator::start(&served, &[]);
    let out = dir.path().join("snapshot");
    export_ok(&sim, &out);
    let found: Vec<serde_json::Value> = records(&out, "domainTenants")
        .iter()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let of = |d: &str| {
        found
            .iter()
            .find(|r| r["domain"] == d)
            .cloned()
            .unwrap_or_else(|| panic!("{d} missing from {found:?}"))
    };
    assert_eq!(of("evil.example')?$x=1")["status"], "unknown");
    assert!(
        of("evil.example')?$x=1")["error"]
            .as_str()
            .is_some_and(|e| e.contains("not a domain name"))
    );
    assert_eq!(of("flaky.example")["status"], "unknown");
    assert_eq!(of("gmail.com")["status"], "none");
    assert_eq!(of("litwareinc.com")["status"], "entra");
}

#[test]
fn a_pending_invitation_is_its_own_verdict_and_is_resent_only_when_asked() {
    let scan = scan_json(&contoso(), &[]);
    let pending: BTreeSet<String> = scan["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .filter(|v| v["verdict"] == "pending")
        .map(|v| v["userPrincipalName"].as_str().expect("upn").to_owned())
        .collect();
    assert_eq!(
        pending,
        BTreeSet::from([
            "nadia.haddad@contoso.com".to_owned(),
            "samuel.okafor@contoso.onmicrosoft.com".to_owned()
        ])
    );
    assert_eq!(scan["summary"]["pending"], 2);

    let dir = tempfile::tempdir().expect("temp");
    let plan = |out: &str, extra: &[&str]| -> serde_json::Value {
        bin()
            .args(["plan", "--out"])
            .arg(dir.path().join(out))
            .args(extra)
            .arg(contoso())
            .assert()
            .code(0);
        serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(out).join("plan.json")).expect("plan"),
        )
        .expect("json")
    };
    let upns = |p: &serde_json::Value, resend: bool| -> BTreeSet<String> {
        p["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .filter(|a| a["resend"].as_bool().unwrap_or(false) == resend)
            .map(|a| a["userPrincipalName"].as_str().expect("upn").to_owned())
            .collect()
    };
    let plain = plan("plain", &[]);
    assert!(upns(&plain, true).is_empty());
    assert!(upns(&plain, false).is_disjoint(&pending));
    let left: BTreeSet<&str> = plain["leftOut"]
        .as_array()
        .expect("left out")
        .iter()
        .filter(|l| l["verdict"] == "pending")
        .filter_map(|l| l["userPrincipalName"].as_str())
        .collect();
    assert_eq!(left.len(), 2);

    let resend = plan("resend", &["--resend-pending"]);
    assert_eq!(upns(&resend, true), pending);
    assert_eq!(upns(&resend, false), upns(&plain, false));
    bin()
        .args(["plan", "--check"])
        .arg(dir.path().join("resend"))
        .arg(contoso())
        .args(["--resend-pending"])
        .assert()
        .code(0);
}

#[test]
fn a_scope_condition_chooses_the_accounts_and_a_bad_one_is_refused() {
    let vendors = scan_json(&contoso(), &["--scope-where", "employee_type = 'Vendor'"]);
    let judged: Vec<&serde_json::Value> = vendors["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .filter(|v| v["verdict"] != "excluded")
        .collect();
    assert!(!judged.is_empty());
    let users: Vec<serde_json::Value> = std::fs::read_to_string(contoso().join("users.jsonl"))
        .expect("users")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let vendor_ids: BTreeSet<&str> = users
        .iter()
        .filter(|u| u["employeeType"] == "Vendor" && u["creationType"].is_null())
        .filter_map(|u| u["id"].as_str())
        .collect();
    let judged_ids: BTreeSet<&str> = judged.iter().filter_map(|v| v["id"].as_str()).collect();
    assert_eq!(judged_ids, vendor_ids);

    let by_domain = scan_json(
        &contoso(),
        &["--scope-where", "mail_domain = 'litwareinc.com'"],
    );
    assert_eq!(by_domain["summary"]["inScope"], 2);

    let o = bin()
        .args(["scan", "-q", "--scope-where", "mail_collision_count > 0"])
        .arg(contoso())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr_of(&o).contains("--scope-where: condition:")
            && stderr_of(&o).contains("mail_collision_count"),
        "{}",
        stderr_of(&o)
    );

    // The config key does the same, and cannot be combined with another scope key.
    let dir = tempfile::tempdir().expect("temp");
    std::fs::write(
        dir.path().join("b2bready.toml"),
        "scope-where = \"employee_type = 'Vendor'\"\n",
    )
    .expect("config");
    let o = bin()
        .current_dir(dir.path())
        .args([
            "scan",
            "-q",
            "--fail-on",
            "never",
            "-f",
            "json",
            "-o",
            "out",
        ])
        .arg(contoso())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/findings.json")).expect("findings"),
    )
    .expect("json");
    assert_eq!(v["summary"], vendors["summary"]);
    std::fs::write(
        dir.path().join("b2bready.toml"),
        "scope = \"all\"\nscope-where = \"employee_type = 'Vendor'\"\n",
    )
    .expect("config");
    let o = bin()
        .current_dir(dir.path())
        .args(["config", "check"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr_of(&o).contains("b2bready.toml:2: scope-where cannot be set with scope"),
        "{}",
        stderr_of(&o)
    );
}

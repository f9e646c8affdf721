//! `b2bready query`: SQL over a scan's tables, printed as a table, CSV or JSON.

use serde_json::Value;

use crate::common::{Tenant, bin, contoso, stderr_of};

fn query(snapshot: &std::path::Path, sql: &str, format: &str) -> std::process::Output {
    bin()
        .args(["query", "--no-config", "-f", format])
        .arg(snapshot)
        .arg(sql)
        .output()
        .expect("query runs")
}

fn json(out: &std::process::Output) -> Vec<Value> {
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(out));
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("an array of objects")
}

#[test]
fn blocked_accounts_by_first_blocker_agree_with_the_scan() {
    let dir = tempfile::tempdir().expect("temp");
    let scan = bin()
        .args([
            "scan",
            "-q",
            "--no-config",
            "--fail-on",
            "never",
            "-f",
            "json",
            "-o",
        ])
        .arg(dir.path())
        .arg(contoso())
        .output()
        .expect("scan runs");
    assert_eq!(scan.status.code(), Some(0), "{}", stderr_of(&scan));
    let findings: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("findings.json")).expect("read"))
            .expect("json");
    let mut expected = std::collections::BTreeMap::<String, i64>::new();
    for v in findings["verdicts"].as_array().expect("verdicts") {
        if v["verdict"] == "blocked" {
            *expected
                .entry(v["blockers"][0].as_str().expect("a blocker").to_owned())
                .or_default() += 1;
        }
    }
    let out = query(
        &contoso(),
        "SELECT SPLIT_PART(blockers, ';', 1) AS first_blocker, COUNT(*) AS accounts \
         FROM verdicts WHERE verdict = 'blocked' GROUP BY first_blocker ORDER BY first_blocker",
        "json",
    );
    // Keys in the order of the query's columns.
    assert!(String::from_utf8_lossy(&out.stdout).contains("\n  {\"first_blocker\":"));
    let got: std::collections::BTreeMap<String, i64> = json(&out)
        .iter()
        .map(|r| {
            let blocker = r["first_blocker"].as_str().expect("text").to_owned();
            (blocker, r["accounts"].as_i64().expect("number"))
        })
        .collect();
    assert_eq!(got, expected);
    // Without ORDER BY, users lists the judged accounts first, in the order of the verdicts,
    // then every other account, each once.
    let verdict_ids: Vec<&str> = findings["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .map(|v| v["id"].as_str().expect("id"))
        .collect();
    let users = json(&query(&contoso(), "SELECT id FROM users", "json"));
    let user_ids: Vec<&str> = users
        .iter()
        .map(|u| u["id"].as_str().expect("id"))
        .collect();
    assert_eq!(user_ids[..verdict_ids.len()], verdict_ids[..]);
    let lines = std::fs::read_to_string(contoso().join("users.jsonl")).expect("users");
    assert_eq!(user_ids.len(), lines.lines().count());
    let distinct: std::collections::HashSet<&str> = user_ids.iter().copied().collect();
    assert_eq!(distinct.len(), user_ids.len());
}

#[test]
fn every_table_answers_with_its_documented_columns() {
    let rows = json(&query(
        &contoso(),
        "SELECT v.verdict, COUNT(*) AS n FROM users u JOIN verdicts v ON u.id = v.id \
         WHERE u.mail_domain_verified = false GROUP BY v.verdict ORDER BY v.verdict",
        "json",
    ));
    assert!(!rows.is_empty());
    let rows = json(&query(
        &contoso(),
        "SELECT rule, severity, subject_type, fails, accepted, baseline FROM findings \
         WHERE subject_type = 'tenant' ORDER BY rule",
        "json",
    ));
    assert_eq!(rows[0]["rule"], "conversion-one-way");
    assert_eq!(rows[0]["fails"], false);
    assert_eq!(rows[0]["baseline"], Value::Null);
    let rows = json(&query(
        &contoso(),
        "SELECT COUNT(*) AS n FROM tenant",
        "json",
    ));
    assert_eq!(rows[0]["n"], 1);

    let table = query(
        &contoso(),
        "SELECT mail_domain, COUNT(*) AS accounts FROM users WHERE user_type = 'Guest' \
         GROUP BY mail_domain ORDER BY accounts DESC, mail_domain",
        "table",
    );
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("│ mail_domain") && text.contains("│ gmail.com"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("13 rows"), "{text}");
}

#[test]
fn csv_cells_of_a_query_never_start_a_formula() {
    let dir = tempfile::tempdir().expect("temp");
    let mut t = Tenant::base();
    t.add_users(
        &serde_json::json!({
            "id": "4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b",
            "displayName": "=HYPERLINK(\"http://evil.example\")",
            "userPrincipalName": "x@contoso.com",
            "mail": "x@evil.example",
            "userType": "Guest",
        })
        .to_string(),
    );
    let snapshot = t.write(&dir.path().join("s"));
    let out = query(
        &snapshot,
        "SELECT display_name FROM users WHERE id LIKE '4e5f%'",
        "csv",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "display_name\n\"'=HYPERLINK(\"\"http://evil.example\"\")\"\n"
    );
}

#[test]
fn an_unknown_column_or_table_is_named() {
    let out = query(&contoso(), "SELECT nickname FROM users", "table");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("unable to find column \"nickname\""),
        "{}",
        stderr_of(&out)
    );
    let out = query(&contoso(), "SELECT * FROM accounts", "table");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("relation 'accounts' was not found"),
        "{}",
        stderr_of(&out)
    );
    assert!(out.stdout.is_empty());
}

//! Tenant data is hostile: the HTML escapes it, the CSV never starts a formula, and the
//! terminal never receives control characters. The example tenant's JSON is pinned.

use crate::common::{Tenant, bin, contoso, fixtures, scan_json};

const HOSTILE_NAME: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&";

fn hostile_tenant(dir: &std::path::Path) -> std::path::PathBuf {
    let mut t = Tenant::base();
    let user = serde_json::json!({
        "id": "4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b",
        "displayName": HOSTILE_NAME,
        "userPrincipalName": "=HYPERLINK(\"http://evil.example\")@contoso.com",
        "mail": "+cmd|'/c calc'!A0@evil.example",
        "userType": "Guest",
        "accountEnabled": true,
    });
    let other = serde_json::json!({
        "id": "5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c",
        "displayName": "-2+3",
        "userPrincipalName": "\u{1b}[2J@sum@contoso.com",
        "mail": "\u{1b}[2Jterm@adatum.com",
        "userType": "Guest",
    });
    t.add_users(&format!("{user}\n{other}"));
    t.write(&dir.join("snapshot"))
}

#[test]
fn html_report_escapes_tenant_data_and_loads_nothing() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = hostile_tenant(dir.path());
    bin()
        .args(["scan", "-q", "--fail-on", "never", "-f", "html", "-o"])
        .arg(dir.path())
        .arg(&snap)
        .assert()
        .code(0);
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    assert!(!html.contains("<script>alert(1)"));
    assert!(!html.contains("<img src=x"));
    // The accounts are data for the page's script: inside a JSON script element, with every
    // character that could end it or open a tag written as an escape.
    assert!(html.contains(r"\u003cscript\u003ealert(1)\u003c/script\u003e\u003cimg src=x"));
    // Two script elements: the data and the page's own script, which the policy allows by hash.
    assert_eq!(html.matches("<script").count(), 2);
    assert!(html.contains(r#"<script type="application/json" id="report-data">{"#));
    assert!(html.contains("script-src &#x27;sha256-"));
    assert!(!html.contains("unsafe-inline"));
    for remote in ["src=\"http", "href=\"//", "@import", "url(http"] {
        assert!(!html.contains(remote), "report.html loads {remote}");
    }
}

#[test]
fn csv_cells_never_start_a_formula() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = hostile_tenant(dir.path());
    bin()
        .args(["scan", "-q", "--fail-on", "never", "-f", "csv", "-o"])
        .arg(dir.path())
        .arg(&snap)
        .assert()
        .code(0);
    for file in ["findings.csv", "verdicts.csv"] {
        let mut reader = csv::Reader::from_path(dir.path().join(file)).expect("csv");
        let mut cells = 0;
        for record in reader.records() {
            for cell in record.expect("record").iter() {
                cells += 1;
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{file}: {cell:?} would run as a formula"
                );
            }
        }
        assert!(cells > 0, "{file} is empty");
    }
    let verdicts = std::fs::read_to_string(dir.path().join("verdicts.csv")).expect("csv");
    assert!(verdicts.contains("'=HYPERLINK"));
    assert!(verdicts.contains("'-2+3"));
}

#[test]
fn terminal_table_replaces_control_characters() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = hostile_tenant(dir.path());
    let out = bin()
        .args(["scan", "--fail-on", "never", "--scope", "all"])
        .arg(&snap)
        .output()
        .expect("run");
    assert!(
        !out.stdout.contains(&0x1b),
        "escape sequence reached the terminal"
    );
}

#[test]
fn example_tenant_findings_json_is_pinned() {
    let identities = fixtures().join("contoso-identities.csv");
    let mut v = scan_json(
        &contoso(),
        &["--external-identities", identities.to_str().expect("utf-8")],
    );
    // Paths differ between machines.
    v["snapshot"]["path"] = "fixtures/contoso".into();
    insta::assert_json_snapshot!("contoso_findings", v);
}

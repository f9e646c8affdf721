//! `invite.ps1`: tenant data stays inside its literals however the script is read (UTF-8, or
//! Windows PowerShell 5.1's ANSI code page), and sign-in follows the snapshot's cloud.

use crate::common::{Tenant, clean_guest, contoso};
use crate::plan::plan;

#[test]
fn invite_ps1_signs_in_to_the_cloud_the_snapshot_came_from() {
    let dir = tempfile::tempdir().expect("temp");
    let snap = Tenant::from_dir(&contoso()).write(&dir.path().join("s"));
    let connect_line = |out: &str| {
        plan(&snap, &dir.path().join(out), &[]);
        let script = std::fs::read_to_string(dir.path().join(out).join("invite.ps1")).expect("ps1");
        script
            .lines()
            .find(|l| l.starts_with("Connect-MgGraph"))
            .expect("a Connect-MgGraph line")
            .to_owned()
    };
    assert!(!connect_line("global").contains("-Environment"));
    let manifest = snap.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    assert!(text.contains(r#""cloud": "global""#), "{text}");
    std::fs::write(
        &manifest,
        text.replace(r#""cloud": "global""#, r#""cloud": "usgov""#),
    )
    .expect("write");
    assert!(connect_line("usgov").contains(" -Environment USGov -Scopes"));
}

/// Bytes decoded as Windows-1252, the ANSI code page of western Windows: 0x80 to 0x9F are the
/// code page's own characters (the five it leaves undefined pass through as C1 controls, as
/// Windows does), the rest are Latin-1.
fn windows_1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

/// Splits a PowerShell script into what runs and what is data: single- and double-quoted
/// strings and comments, following the tokenizer's quoting rules. Returns the code only.
fn code_outside_strings_and_comments(script: &str) -> String {
    const SQ: &[char] = &['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];
    let chars: Vec<char> = script.chars().collect();
    let mut code = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '<' && chars.get(i + 1) == Some(&'#') {
            while i + 1 < chars.len() && !(chars[i] == '#' && chars[i + 1] == '>') {
                i += 1;
            }
            i += 2;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if SQ.contains(&c) {
            i += 1;
            loop {
                assert!(i < chars.len(), "unterminated string");
                if SQ.contains(&chars[i]) {
                    if chars.get(i + 1).is_some_and(|n| SQ.contains(n)) {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            code.push_str("''");
        } else if c == '"' {
            // Our own double-quoted strings hold no tenant data; keep them as code.
            code.push(c);
            i += 1;
        } else {
            code.push(c);
            i += 1;
        }
    }
    code
}

#[test]
fn powershell_keeps_hostile_tenant_data_inside_literals() {
    let dir = tempfile::tempdir().expect("temp");
    let mut t = Tenant::base();
    let payload = "Remove-MgUser -UserId everyone";
    let mut user: serde_json::Value = serde_json::from_str(&clean_guest(
        "7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e",
        "x",
        "mallory.o-brien@adatum.com",
    ))
    .expect("json");
    user["userPrincipalName"] = format!("o'brien\u{2019}$(calc)`\n{payload} #>@contoso.com").into();
    // т is D1 82 and ё is D1 91 in UTF-8: read in Windows-1252, as Windows PowerShell 5.1
    // reads a script without a byte order mark, 0x82 and 0x91 are typographic quotes.
    user["displayName"] = format!(
        "=\"Mallory\" '; {payload}; ' \u{201B}$(whoami)`n\r\n{payload} Дмитрий т; {payload} #ёђ"
    )
    .into();
    t.add_users(&user.to_string());
    let snap = t.write(&dir.path().join("s"));
    let template = dir.path().join("m.txt");
    std::fs::write(
        &template,
        "Hello {{ display_name }} ({{ user_principal_name }})",
    )
    .expect("write");
    let out = dir.path().join("plan");
    let p = plan(
        &snap,
        &out,
        &["--message-file", template.to_str().expect("utf-8")],
    );
    assert_eq!(p["accounts"].as_array().expect("accounts").len(), 1);
    let bytes = std::fs::read(out.join("invite.ps1")).expect("ps1");
    let body = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("invite.ps1 starts with a UTF-8 byte order mark");
    let as_utf8 = std::str::from_utf8(body).expect("UTF-8").to_owned();
    let as_ansi = windows_1252(body);
    for script in [as_utf8, as_ansi] {
        assert!(
            script.contains(payload),
            "the payload should be in the script, as data"
        );
        let code = code_outside_strings_and_comments(&script);
        assert!(
            !code.contains("Remove-MgUser"),
            "tenant data escaped into code:\n{code}"
        );
        assert!(!code.contains("calc") && !code.contains("whoami"));
    }
    // A literal holding the raw UTF-8 of such a name does break out when read as
    // Windows-1252, so the check above can tell.
    let raw = format!("$name = 'т; {payload} #'\n");
    let code = code_outside_strings_and_comments(&windows_1252(raw.as_bytes()));
    assert!(code.contains("Remove-MgUser"), "{code}");
    // Both CSVs stay formula-safe with the same hostile names.
    for file in ["review.csv", "communication.csv"] {
        let mut reader = csv::Reader::from_path(out.join(file)).expect("csv");
        for record in reader.records() {
            for cell in record.expect("row").iter() {
                assert!(!cell.starts_with(['=', '+', '-', '@']), "{file}: {cell:?}");
            }
        }
    }
}

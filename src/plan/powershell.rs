//! PowerShell literals for `invite.ps1`. Tenant data only ever enters the script as a
//! single-quoted string, where nothing expands (`$(…)`, backticks, `"` are plain text) and the
//! only special characters are the single quotes, which PowerShell escapes by doubling.
//!
//! A literal holds ASCII only: every other character is written as `[char]0xNNNN` and joined
//! to its neighbours with `+`. Windows PowerShell 5.1 reads a script without a byte order mark
//! in the ANSI code page, where the UTF-8 bytes of ordinary letters (`т` is `D1 82`, `ё` is
//! `D1 91`) decode to typographic quotes (`‚`, `‘`) that PowerShell takes for the end of a
//! literal. The script does carry a byte order mark, but an editor or a copy through the
//! clipboard can drop it; ASCII reads the same in every code page. Comments lose their line
//! breaks so a value cannot end one.

use serde_json::Value;

/// The byte order mark `invite.ps1` starts with, so both PowerShell 5.1 and 7 read it as UTF-8.
pub const BOM: &str = "\u{FEFF}";

/// A single-quoted literal of ASCII text.
fn ascii_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A PowerShell expression whose value is exactly `s`, written in ASCII: a single-quoted
/// literal, or for text outside ASCII a parenthesised concatenation of literals and
/// `[char]` code units (starting with a string, so `+` concatenates).
pub fn quote(s: &str) -> String {
    if s.is_ascii() {
        return ascii_literal(s);
    }
    let mut parts: Vec<String> = Vec::new();
    let mut run = String::new();
    for c in s.chars() {
        if c.is_ascii() {
            run.push(c);
            continue;
        }
        if !run.is_empty() || parts.is_empty() {
            parts.push(ascii_literal(&run));
            run.clear();
        }
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            parts.push(format!("[char]0x{unit:04X}"));
        }
    }
    if !run.is_empty() {
        parts.push(ascii_literal(&run));
    }
    format!("({})", parts.join(" + "))
}

/// Text safe to put in a comment: no character that could end a `#` line, and no `#>` that
/// could end a `<# … #>` block.
pub fn comment(s: &str) -> String {
    s.replace("#>", "# >")
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// A JSON value as a PowerShell literal: objects become hashtables, arrays `@(…)`.
pub fn literal(value: &Value, indent: usize) -> String {
    let pad = "    ".repeat(indent + 1);
    let end = "    ".repeat(indent);
    match value {
        Value::Null => "$null".into(),
        Value::Bool(true) => "$true".into(),
        Value::Bool(false) => "$false".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(|v| literal(v, indent + 1)).collect();
            format!("@({})", inner.join(", "))
        }
        Value::Object(map) => {
            let mut out = String::from("@{\n");
            for (k, v) in map {
                out.push_str(&format!("{pad}{} = {}\n", quote(k), literal(v, indent + 1)));
            }
            out.push_str(&end);
            out.push('}');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character PowerShell's tokenizer reads as a single quote.
    const SINGLE_QUOTES: &[char] = &['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

    /// Reads a single-quoted literal back the way PowerShell's tokenizer does, returning the
    /// value and what follows the closing quote.
    fn literal_at(script: &str) -> (String, &str) {
        let mut chars = script.char_indices();
        let (_, first) = chars.next().expect("a literal");
        assert!(SINGLE_QUOTES.contains(&first), "{script:?}");
        let mut value = String::new();
        let mut pending_quote = false;
        for (i, c) in chars {
            if pending_quote {
                if SINGLE_QUOTES.contains(&c) {
                    value.push(c);
                    pending_quote = false;
                    continue;
                }
                return (value, &script[i..]);
            }
            if SINGLE_QUOTES.contains(&c) {
                pending_quote = true;
            } else {
                value.push(c);
            }
        }
        assert!(pending_quote, "unterminated literal");
        (value, "")
    }

    /// Evaluates what `quote` writes: a literal, or `(` literals and `[char]0xNNNN` joined by
    /// ` + ` `)`. Returns the value and what follows.
    fn eval(script: &str) -> (String, &str) {
        let Some(mut rest) = script.strip_prefix('(') else {
            return literal_at(script);
        };
        let mut units: Vec<u16> = Vec::new();
        loop {
            if let Some(r) = rest.strip_prefix("[char]0x") {
                let (hex, r) = r.split_at(4);
                units.push(u16::from_str_radix(hex, 16).expect("hex"));
                rest = r;
            } else {
                let (text, r) = literal_at(rest);
                units.extend(text.encode_utf16());
                rest = r;
            }
            match rest.strip_prefix(" + ") {
                Some(r) => rest = r,
                None => {
                    let r = rest.strip_prefix(')').expect("a closing parenthesis");
                    return (String::from_utf16(&units).expect("utf-16"), r);
                }
            }
        }
    }

    #[test]
    fn hostile_values_survive_quoting_exactly_in_ascii() {
        for hostile in [
            "O'Brien",
            "'; Remove-Item -Recurse C:\\ ; '",
            "$(Invoke-Expression 'calc')",
            "`$env:PATH`n",
            "\"double\" and \u{2019}typographic\u{2018} quotes \u{201A}\u{201B}",
            "line one\nline two\r\n'; exit",
            "Zoë Ünal 山田 🙂",
            "Дмитрий Ђорђевић",
            "",
        ] {
            let q = quote(hostile);
            assert!(q.is_ascii(), "{q}");
            let script = format!("{q} -UserType x");
            let (back, rest) = eval(&script);
            assert_eq!(back, hostile);
            assert_eq!(rest, " -UserType x", "{hostile:?} broke out of its literal");
        }
    }

    #[test]
    fn text_outside_ascii_is_written_as_code_units() {
        assert_eq!(quote("Zoë"), "('Zo' + [char]0x00EB)");
        assert_eq!(quote("ё'"), "('' + [char]0x0451 + '''')");
        assert_eq!(quote("🙂"), "('' + [char]0xD83D + [char]0xDE42)");
        assert_eq!(quote("O'Brien"), "'O''Brien'");
    }

    #[test]
    fn comments_cannot_be_ended_by_a_value() {
        let c = comment("mallory@contoso.com\nRemove-MgUser -UserId x\r\u{2028}y #> z");
        assert!(!c.contains(['\n', '\r', '\u{2028}']));
        assert!(!c.contains("#>"));
    }

    #[test]
    fn json_becomes_a_hashtable_literal() {
        let v = serde_json::json!({"a": true, "b": [1, "x'y"], "c": null});
        let lit = literal(&v, 0);
        assert_eq!(
            lit,
            "@{\n    'a' = $true\n    'b' = @(1, 'x''y')\n    'c' = $null\n}"
        );
    }
}

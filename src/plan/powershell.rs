//! PowerShell literals for `invite.ps1`. Tenant data only ever enters the script as a
//! single-quoted string, where nothing expands (`$(…)`, backticks, `"` are plain text) and the
//! only special characters are the single quotes, ASCII and typographic alike, which PowerShell
//! escapes by doubling. Comments lose their line breaks so a value cannot end one.

use serde_json::Value;

/// Every character PowerShell reads as a single quote.
const SINGLE_QUOTES: &[char] = &['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// A single-quoted PowerShell string holding exactly `s`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if SINGLE_QUOTES.contains(&c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
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

    /// Reads a single-quoted literal back the way PowerShell's tokenizer does, returning the
    /// value and what follows the closing quote.
    fn unquote(script: &str) -> (String, &str) {
        let mut chars = script.char_indices();
        let (_, first) = chars.next().expect("a literal");
        assert!(SINGLE_QUOTES.contains(&first));
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

    #[test]
    fn hostile_values_survive_quoting_exactly() {
        for hostile in [
            "O'Brien",
            "'; Remove-Item -Recurse C:\\ ; '",
            "$(Invoke-Expression 'calc')",
            "`$env:PATH`n",
            "\"double\" and \u{2019}typographic\u{2018} quotes \u{201A}\u{201B}",
            "line one\nline two\r\n'; exit",
            "Zoë Ünal 山田 🙂",
            "",
        ] {
            let q = quote(hostile);
            let script = format!("{q} -UserType x");
            let (back, rest) = unquote(&script);
            assert_eq!(back, hostile);
            assert_eq!(rest, " -UserType x", "{hostile:?} broke out of its literal");
        }
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

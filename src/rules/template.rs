//! Finding messages: literal text with `{column}` holes, checked against the schema when the
//! rule loads and filled by plain concatenation (a million findings cost milliseconds).
//! There is no other syntax: no loops, no conditions, no filters. `{{` and `}}` are literal
//! braces. A template is at most [`MAX_TEMPLATE_CHARS`] long and a rendered message at most
//! [`MAX_MESSAGE_BYTES`], cut with an ellipsis: column values come from the tenant and can be
//! long, and a template can repeat them.

use std::borrow::Cow;

use crate::model::{ColumnDef, Table};

/// The longest message template, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 1024;
/// The longest rendered message, in bytes, ellipsis included.
pub const MAX_MESSAGE_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Column(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    pub fn parse(text: &str, schema: &[ColumnDef]) -> Result<Self, String> {
        let chars = text.chars().count();
        if chars > MAX_TEMPLATE_CHARS {
            return Err(format!(
                "{chars} characters; a message may have at most {MAX_TEMPLATE_CHARS}"
            ));
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err("a '{' is never closed (write '{{' for a literal brace)".into());
                    }
                    let name = name.trim();
                    let index = schema.iter().position(|d| d.name == name).ok_or_else(|| {
                        format!("unknown column {{{}}}", super::condition::cut(name, 60))
                    })?;
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Column(index));
                }
                '}' => return Err("a lone '}' (write '}}' for a literal brace)".into()),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self { pieces })
    }

    /// The message of `row`: the template's own text, not copied, when it names no column.
    pub fn render(&self, table: &Table, row: usize) -> Cow<'_, str> {
        match self.pieces.as_slice() {
            [] => Cow::Borrowed(""),
            [Piece::Text(t)] if t.len() <= MAX_MESSAGE_BYTES => Cow::Borrowed(t),
            _ => Cow::Owned(self.render_owned(table, row)),
        }
    }

    fn render_owned(&self, table: &Table, row: usize) -> String {
        // Room for the text and a typical value per column: one allocation, not one per piece.
        let room = self.pieces.iter().map(|p| match p {
            Piece::Text(t) => t.len(),
            Piece::Column(_) => 64,
        });
        let mut out = String::with_capacity(room.sum::<usize>().min(MAX_MESSAGE_BYTES));
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Column(c) => table.cell(*c, row).write_display(&mut out),
            }
            if out.len() > MAX_MESSAGE_BYTES {
                cut_message(&mut out);
                break;
            }
        }
        out
    }
}

/// Cuts `out` to [`MAX_MESSAGE_BYTES`] on a character boundary, ending in an ellipsis.
fn cut_message(out: &mut String) {
    const ELLIPSIS: char = '…';
    let mut end = MAX_MESSAGE_BYTES - ELLIPSIS.len_utf8();
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out.push(ELLIPSIS);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::user;

    #[test]
    fn template_rejects_unknown_columns_and_keeps_escaped_braces() {
        assert!(Template::parse("mail is {nope}", user::COLUMNS).is_err());
        let t = Template::parse("{{literal}} {mail}", user::COLUMNS).expect("valid template");
        assert_eq!(t.pieces.len(), 2);
        assert_eq!(t.pieces[0], Piece::Text("{literal} ".into()));
    }

    #[test]
    fn template_refuses_an_unclosed_brace_and_a_long_text() {
        let e = Template::parse("mail is {mail", user::COLUMNS).expect_err("unclosed");
        assert!(e.contains("never closed"), "{e}");
        assert!(Template::parse("x}", user::COLUMNS).is_err());
        let long = "a".repeat(MAX_TEMPLATE_CHARS + 1);
        assert!(Template::parse(&long, user::COLUMNS).is_err());
        let e = Template::parse(&format!("{{{}}}", "n".repeat(300)), user::COLUMNS)
            .expect_err("unknown");
        assert!(e.len() < 100, "{e}");
    }

    #[test]
    fn rendered_messages_are_cut_at_the_limit() {
        let mut table = Table::new(user::COLUMNS, 1);
        let mut names = crate::model::StrColumn::default();
        names.push(Some(&"é".repeat(3000)));
        table.columns[user::DISPLAY_NAME] = crate::model::Column::Text(names);
        let t = Template::parse(&"{display_name}".repeat(50), user::COLUMNS).expect("valid");
        let out = t.render(&table, 0);
        assert!(out.len() <= MAX_MESSAGE_BYTES, "{}", out.len());
        assert!(out.len() > MAX_MESSAGE_BYTES - 8, "{}", out.len());
        assert!(out.ends_with('…'));
        let short = Template::parse("x {display_name}", user::COLUMNS).expect("valid");
        let mut table = Table::new(user::COLUMNS, 1);
        let mut names = crate::model::StrColumn::default();
        names.push(Some("Ana"));
        table.columns[user::DISPLAY_NAME] = crate::model::Column::Text(names);
        assert_eq!(short.render(&table, 0), "x Ana");
        assert!(matches!(short.render(&table, 0), Cow::Owned(_)));
        // A message that names no column is the template's own text, not a copy.
        let plain = Template::parse("{{no}} column", user::COLUMNS).expect("valid");
        assert!(matches!(
            plain.render(&table, 0),
            Cow::Borrowed("{no} column")
        ));
        let empty = Template::parse("", user::COLUMNS).expect("valid");
        assert_eq!(empty.render(&table, 0), "");
    }
}

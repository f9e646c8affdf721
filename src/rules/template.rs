//! Finding messages: literal text with `{column}` holes, checked against the schema when the
//! rule loads and filled by plain concatenation (a million findings cost milliseconds).

use crate::model::{ColumnDef, Table};

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
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    let name = name.trim();
                    let index = schema
                        .iter()
                        .position(|d| d.name == name)
                        .ok_or_else(|| format!("unknown column {{{name}}}"))?;
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

    pub fn render(&self, table: &Table, row: usize) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Column(c) => table.cell(*c, row).write_display(&mut out),
            }
        }
        out
    }
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
}

//! Rule conditions arrive in rule files anyone can propose in a pull request, and polars' SQL
//! can do far more than test a row: subqueries and table functions read local files. So a
//! condition is parsed here first, with the parser and settings polars uses, and its syntax
//! tree is checked against an allowlist: columns of the rule's target, literals, operators,
//! `IS [NOT] NULL`, `[NOT] IN (values)`, `BETWEEN`, `[I]LIKE`, `CASE`, `CAST` and a short list
//! of scalar functions. Size, nesting and the number of terms are bounded, so no condition can
//! make polars recurse or allocate without limit. Polars only sees conditions that pass.
//!
//! This module owns the entry point, the limits and the parse; `walk` checks the syntax tree,
//! `functions` the scalar functions a condition may call, and `allowed` the values, operators
//! and types.

mod allowed;
mod functions;
mod walk;

use sqlparser::ast::SelectItem;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError, ParserOptions};
use sqlparser::tokenizer::Token;

use crate::model::ColumnDef;
use walk::Walk;

/// The longest condition, in characters.
pub const MAX_CHARS: usize = 4096;
/// How deeply a condition may nest (parentheses, `NOT`, function calls), as the parser counts.
/// Below the parser's default of 50, which polars uses, so polars never refuses what passed here.
pub const MAX_NESTING: usize = 32;
/// The most terms (columns, values, operators, function calls) a condition may hold.
pub const MAX_TERMS: usize = 256;

/// Checks `condition` for a rule whose target has `schema`. The error says what is not
/// allowed, quoting at most the offending name, cut to 60 characters.
pub fn check(condition: &str, schema: &[ColumnDef]) -> Result<(), String> {
    let chars = condition.chars().count();
    if chars > MAX_CHARS {
        return Err(format!(
            "{chars} characters; a condition may have at most {MAX_CHARS}"
        ));
    }
    let item = parse(condition)?;
    let expr = match &item {
        SelectItem::UnnamedExpr(expr) => expr,
        SelectItem::ExprWithAlias { .. } | SelectItem::ExprWithAliases { .. } => {
            return Err("an alias (AS …) is not allowed".into());
        }
        SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
            return Err("a wildcard (*) is not allowed".into());
        }
    };
    Walk::new(schema).expr(expr)
}

/// Parses as `polars::sql::sql_expr` does (same dialect, options and entry point), so the tree
/// checked here is the tree polars translates; only the nesting limit is lower.
fn parse(condition: &str) -> Result<SelectItem, String> {
    let mut parser = Parser::new(&GenericDialect)
        .with_recursion_limit(MAX_NESTING)
        .with_options(ParserOptions {
            trailing_commas: true,
            ..Default::default()
        })
        .try_with_sql(condition)
        .map_err(parser_error)?;
    let item = parser.parse_select_item().map_err(parser_error)?;
    let next = parser.peek_token().token;
    if next != Token::EOF {
        return Err(format!(
            "unexpected {} after the expression",
            cut(&next.to_string(), 60)
        ));
    }
    Ok(item)
}

/// The parser's message with the token it quotes cut to 60 characters.
fn parser_error(e: ParserError) -> String {
    let message = match e {
        ParserError::RecursionLimitExceeded => {
            return format!("nested more than {MAX_NESTING} levels deep");
        }
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => super::one_line(&m),
    };
    match message.split_once(", found: ") {
        Some((expected, rest)) => {
            let (token, place) = match rest.rfind(" at Line: ") {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            format!("{}, found: {}{place}", cut(expected, 120), cut(token, 60))
        }
        None => cut(&message, 160),
    }
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
pub(crate) fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{tenant, user};

    fn refused(condition: &str) -> String {
        check(condition, user::COLUMNS).expect_err(condition)
    }

    #[test]
    fn the_built_in_shapes_pass() {
        for c in [
            "COALESCE(user_type, 'Member') = 'Member'",
            "on_premises_user_principal_name IS NOT NULL AND TRIM(on_premises_user_principal_name) <> ''",
            "STRPOS(user_principal_name, '#') > 0",
            "external_email IS NOT NULL AND LOWER(TRIM(external_email)) <> LOWER(TRIM(mail))",
            "user_type = 'Guest' AND display_name LIKE '%(%'",
            "mail_domain NOT IN ('contoso.com', 'fabrikam.com') OR mail_collision_count BETWEEN 1 AND -2",
            "CASE WHEN mail IS NULL THEN false ELSE STARTS_WITH(LOWER(mail), 'a') END",
            "CAST(mail_collision_count AS VARCHAR) ILIKE '1%' OR regexp_like(mail, '^a', 'i')",
            "SUBSTRING(mail FROM 1 FOR 3) = 'abc' OR substr(mail, 2) = 'b' OR POSITION('@' IN mail) > 1",
        ] {
            assert_eq!(check(c, user::COLUMNS), Ok(()), "{c}");
        }
        assert_eq!(check("linked_subscriptions = 0", tenant::COLUMNS), Ok(()));
    }

    #[test]
    fn file_access_and_anything_but_columns_is_refused() {
        assert!(refused("1 IN (SELECT n FROM read_csv('/etc/shadow'))").contains("subquery"));
        assert!(refused("EXISTS (SELECT 1)").contains("subquery"));
        assert!(refused("(SELECT 1) = 1").contains("subquery"));
        let e = refused("read_csv('/etc/shadow') IS NULL");
        assert!(e.starts_with("the function read_csv is not allowed"), "{e}");
        assert!(!e.contains("shadow"), "{e}");
        assert!(refused("columns('.*') IS NULL").contains("columns"));
        assert!(refused("*").contains("wildcard"));
        assert!(refused("mail AS x").contains("alias"));
        assert!(refused("t.mail IS NULL").contains("qualified name t.mail"));
        assert!(refused("password IS NULL").contains("unknown column password"));
        assert!(refused("linked_subscriptions = 0").contains("unknown column"));
        assert!(refused("mail IN (mail_domain)").contains("literal"));
        assert!(refused("mail LIKE mail_domain").contains("quoted string"));
        assert!(refused("regexp_like(mail, mail_domain)").contains("quoted string"));
        assert!(refused("COUNT(mail) > 1").contains("function count"));
        assert!(refused("LOWER(mail) OVER () = 'a'").contains("plain arguments"));
        assert!(refused("CAST(mail AS DATE) IS NULL").contains("CAST to DATE"));
        assert!(refused("mail ~ 'a'").contains("operator"));
        assert!(refused("mail = $1").contains("placeholder"));
        assert!(refused("mail = 'a'; DROP TABLE x").contains("unexpected ;"));
    }

    #[test]
    fn names_in_errors_are_cut() {
        let long = "x".repeat(500);
        let e = refused(&format!("{long} IS NULL"));
        assert!(e.len() < 200, "{e}");
        assert!(e.contains(&format!("{}…", "x".repeat(60))), "{e}");
        let e = refused(&format!("{long}(mail)"));
        assert!(e.len() < 400, "{e}");
        let e = refused(&format!("mail = '{long}"));
        assert!(e.len() < 200, "{e}");
    }

    #[test]
    fn size_nesting_and_terms_are_bounded() {
        let e = refused(&"a".repeat(MAX_CHARS + 1));
        assert!(e.contains("at most 4096"), "{e}");
        let nested = format!("{}mail IS NULL{}", "(".repeat(40), ")".repeat(40));
        assert!(refused(&nested).contains("nested more than"));
        let chain = vec!["mail = 'a'"; 200].join(" OR ");
        assert!(refused(&chain).contains("more than 256 terms"));
        let concat = format!("{} = 'a'", vec!["id"; 1000].join("||"));
        assert!(concat.len() <= MAX_CHARS);
        assert!(refused(&concat).contains("more than 256 terms"));
        let fine = vec!["mail = 'a'"; 60].join(" OR ");
        assert_eq!(check(&fine, user::COLUMNS), Ok(()));
    }
}

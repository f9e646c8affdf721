//! Rule conditions arrive in rule files anyone can propose in a pull request, and polars' SQL
//! can do far more than test a row: subqueries and table functions read local files. So a
//! condition is parsed here first, with the parser and settings polars uses, and its syntax
//! tree is checked against an allowlist: columns of the rule's target, literals, operators,
//! `IS [NOT] NULL`, `[NOT] IN (values)`, `BETWEEN`, `[I]LIKE`, `CASE`, `CAST` and a short list
//! of scalar functions. Size, nesting and the number of terms are bounded, so no condition can
//! make polars recurse or allocate without limit. Polars only sees conditions that pass.

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType as SqlType, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArguments, ObjectNamePart, SelectItem, UnaryOperator, Value,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError, ParserOptions};
use sqlparser::tokenizer::Token;

use crate::model::ColumnDef;

/// The longest condition, in characters.
pub const MAX_CHARS: usize = 4096;
/// How deeply a condition may nest (parentheses, `NOT`, function calls), as the parser counts.
/// Below the parser's default of 50, which polars uses, so polars never refuses what passed here.
pub const MAX_NESTING: usize = 32;
/// The most terms (columns, values, operators, function calls) a condition may hold.
pub const MAX_TERMS: usize = 256;

/// The scalar functions a condition may call (matched without regard to case, as polars does).
/// `TRIM`, `SUBSTRING` and `POSITION` are SQL syntax of their own and allowed as such.
/// Functions that can make a value much longer than its input (`LPAD`, `REPLACE`, …) are left
/// out: their output is bounded by nothing the condition's size controls.
pub const FUNCTIONS: &[&str] = &[
    "abs",
    "char_length",
    "character_length",
    "coalesce",
    "ends_with",
    "greatest",
    "ifnull",
    "least",
    "left",
    "length",
    "lower",
    "ltrim",
    "nullif",
    "regexp_like",
    "right",
    "rtrim",
    "starts_with",
    "strpos",
    "substr",
    "upper",
];

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
    Walk { schema, terms: 0 }.expr(expr)
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

struct Walk<'a> {
    schema: &'a [ColumnDef],
    terms: usize,
}

impl Walk<'_> {
    /// Every node counts as a term; the count bounds the depth of this walk too.
    fn count(&mut self) -> Result<(), String> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(format!(
                "more than {MAX_TERMS} terms (columns, values, operators and function calls)"
            ));
        }
        Ok(())
    }

    fn expr(&mut self, e: &Expr) -> Result<(), String> {
        self.count()?;
        match e {
            Expr::Identifier(ident) => self.column(&ident.value),
            Expr::Value(v) => literal(&v.value),
            Expr::Nested(e)
            | Expr::IsNull(e)
            | Expr::IsNotNull(e)
            | Expr::IsTrue(e)
            | Expr::IsNotTrue(e)
            | Expr::IsFalse(e)
            | Expr::IsNotFalse(e) => self.expr(e),
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                self.expr(a)?;
                self.expr(b)
            }
            Expr::UnaryOp { op, expr } => {
                if !matches!(
                    op,
                    UnaryOperator::Not | UnaryOperator::Minus | UnaryOperator::Plus
                ) {
                    return Err(format!("the operator {op} is not allowed"));
                }
                self.expr(expr)
            }
            Expr::BinaryOp { left, op, right } => {
                binary_operator(op)?;
                self.expr(left)?;
                self.expr(right)
            }
            Expr::InList { expr, list, .. } => {
                self.expr(expr)?;
                list.iter().try_for_each(|item| self.list_value(item))
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                self.expr(expr)?;
                self.expr(low)?;
                self.expr(high)
            }
            Expr::Like {
                any,
                expr,
                pattern,
                escape_char,
                ..
            }
            | Expr::ILike {
                any,
                expr,
                pattern,
                escape_char,
                ..
            } => {
                if *any {
                    return Err("LIKE ANY is not allowed".into());
                }
                if escape_char.is_some() {
                    return Err("LIKE … ESCAPE is not allowed".into());
                }
                self.expr(expr)?;
                self.string_literal(pattern, "a LIKE pattern")
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                if let Some(operand) = operand {
                    self.expr(operand)?;
                }
                for when in conditions {
                    self.expr(&when.condition)?;
                    self.expr(&when.result)?;
                }
                match else_result {
                    Some(e) => self.expr(e),
                    None => Ok(()),
                }
            }
            Expr::Cast {
                kind,
                expr,
                data_type,
                array,
                format,
            } => {
                if *array || format.is_some() || matches!(kind, CastKind::SafeCast) {
                    return Err("only CAST(value AS type) and TRY_CAST are allowed".into());
                }
                cast_type(data_type)?;
                self.expr(expr)
            }
            Expr::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => {
                self.expr(expr)?;
                if let Some(what) = trim_what {
                    self.expr(what)?;
                }
                trim_characters
                    .iter()
                    .flatten()
                    .try_for_each(|c| self.expr(c))
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                self.expr(expr)?;
                for part in [substring_from, substring_for].into_iter().flatten() {
                    self.expr(part)?;
                }
                Ok(())
            }
            Expr::Position { expr, r#in } => {
                self.expr(expr)?;
                self.expr(r#in)
            }
            Expr::Function(f) => self.function(f),
            other => Err(format!("{} is not allowed", describe(other))),
        }
    }

    fn column(&self, name: &str) -> Result<(), String> {
        if self.schema.iter().any(|d| d.name == name) {
            Ok(())
        } else {
            Err(format!(
                "unknown column {} (`b2bready rules columns` lists them)",
                cut(name, 60)
            ))
        }
    }

    /// An item of an `IN (…)` list: a literal, possibly signed.
    fn list_value(&mut self, e: &Expr) -> Result<(), String> {
        self.count()?;
        match e {
            Expr::Value(v) => literal(&v.value),
            Expr::UnaryOp {
                op: UnaryOperator::Minus | UnaryOperator::Plus,
                expr,
            } => match expr.as_ref() {
                Expr::Value(v) => literal(&v.value),
                _ => Err("an IN list may only hold literal values".into()),
            },
            _ => Err("an IN list may only hold literal values".into()),
        }
    }

    fn string_literal(&mut self, e: &Expr, what: &str) -> Result<(), String> {
        self.count()?;
        match e {
            Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)) => Ok(()),
            _ => Err(format!("{what} must be a 'quoted string'")),
        }
    }

    fn function(&mut self, f: &Function) -> Result<(), String> {
        let name = match f.name.0.as_slice() {
            [ObjectNamePart::Identifier(ident)] => ident.value.to_lowercase(),
            _ => {
                return Err(format!(
                    "the function {} is not allowed",
                    cut(&f.name.to_string(), 60)
                ));
            }
        };
        if !FUNCTIONS.contains(&name.as_str()) {
            return Err(format!(
                "the function {} is not allowed (allowed: {})",
                cut(&name, 60),
                FUNCTIONS.join(", ")
            ));
        }
        let plain = !f.uses_odbc_syntax
            && matches!(f.parameters, FunctionArguments::None)
            && f.filter.is_none()
            && f.null_treatment.is_none()
            && f.over.is_none()
            && f.within_group.is_empty();
        let list = match &f.args {
            FunctionArguments::List(list)
                if plain && list.duplicate_treatment.is_none() && list.clauses.is_empty() =>
            {
                list
            }
            _ => return Err(format!("{name}: only plain arguments are allowed")),
        };
        for (i, arg) in list.args.iter().enumerate() {
            let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg else {
                return Err(format!("{name}: only plain arguments are allowed"));
            };
            if name == "regexp_like" && i > 0 {
                self.string_literal(e, "the pattern and flags of regexp_like")?;
            } else {
                self.expr(e)?;
            }
        }
        Ok(())
    }
}

fn literal(v: &Value) -> Result<(), String> {
    match v {
        Value::Number(..) | Value::SingleQuotedString(_) | Value::Boolean(_) | Value::Null => {
            Ok(())
        }
        Value::Placeholder(p) => Err(format!("the placeholder {} is not allowed", cut(p, 60))),
        _ => Err("only numbers, 'strings', true, false and NULL are allowed as values".into()),
    }
}

fn binary_operator(op: &BinaryOperator) -> Result<(), String> {
    use BinaryOperator as B;
    match op {
        B::Plus
        | B::Minus
        | B::Multiply
        | B::Divide
        | B::Modulo
        | B::StringConcat
        | B::Gt
        | B::Lt
        | B::GtEq
        | B::LtEq
        | B::Eq
        | B::NotEq
        | B::And
        | B::Or => Ok(()),
        other => Err(format!(
            "the operator {} is not allowed",
            cut(&other.to_string(), 60)
        )),
    }
}

fn cast_type(t: &SqlType) -> Result<(), String> {
    match t {
        SqlType::Boolean
        | SqlType::Bool
        | SqlType::Int(_)
        | SqlType::Integer(_)
        | SqlType::BigInt(_)
        | SqlType::Int64
        | SqlType::Double(_)
        | SqlType::DoublePrecision
        | SqlType::Varchar(_)
        | SqlType::Text
        | SqlType::String(_) => Ok(()),
        other => Err(format!(
            "CAST to {} is not allowed (allowed: BOOLEAN, INT, BIGINT, DOUBLE, VARCHAR, TEXT)",
            cut(&other.to_string(), 60)
        )),
    }
}

/// What a refused expression is, in a few words and without its text.
fn describe(e: &Expr) -> String {
    match e {
        Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => "a subquery".into(),
        Expr::Wildcard(_) | Expr::QualifiedWildcard(..) => "a wildcard (*)".into(),
        Expr::CompoundIdentifier(parts) => {
            let name = parts
                .iter()
                .map(|p| p.value.as_str())
                .collect::<Vec<_>>()
                .join(".");
            format!("the qualified name {}", cut(&name, 60))
        }
        Expr::CompoundFieldAccess { .. } | Expr::JsonAccess { .. } => {
            "field or element access".into()
        }
        Expr::Array(_) | Expr::Tuple(_) | Expr::Struct { .. } | Expr::Map(_) => {
            "an array, tuple or struct".into()
        }
        Expr::TypedString(_) | Expr::Interval(_) => "a typed literal".into(),
        Expr::Lambda(_) => "a lambda".into(),
        other => {
            // The variant's name only: its Debug text would quote the condition.
            let debug = format!("{other:?}");
            let name: String = debug
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .take(40)
                .collect();
            format!("the construct {name}")
        }
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

//! The fixed allowlists the walk consults for the leaves of a condition: literal values,
//! binary operators and `CAST` target types; and how a refused construct is named.

use sqlparser::ast::{BinaryOperator, DataType as SqlType, Expr, Value};

use super::cut;

pub(super) fn literal(v: &Value) -> Result<(), String> {
    match v {
        Value::Number(..) | Value::SingleQuotedString(_) | Value::Boolean(_) | Value::Null => {
            Ok(())
        }
        Value::Placeholder(p) => Err(format!("the placeholder {} is not allowed", cut(p, 60))),
        _ => Err("only numbers, 'strings', true, false and NULL are allowed as values".into()),
    }
}

pub(super) fn binary_operator(op: &BinaryOperator) -> Result<(), String> {
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

pub(super) fn cast_type(t: &SqlType) -> Result<(), String> {
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
pub(super) fn describe(e: &Expr) -> String {
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

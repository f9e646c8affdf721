//! The walk over a condition's syntax tree: every node is counted against the limit on terms
//! and checked against the allowlist, one family of nodes at a time.

use sqlparser::ast::{
    BinaryOperator, CaseWhen, CastFormat, CastKind, DataType as SqlType, Expr, UnaryOperator, Value,
};

use crate::model::ColumnDef;

use super::allowed::{binary_operator, cast_type, describe, literal};
use super::{MAX_TERMS, cut};

pub(super) struct Walk<'a> {
    schema: &'a [ColumnDef],
    terms: usize,
}

impl<'a> Walk<'a> {
    pub(super) fn new(schema: &'a [ColumnDef]) -> Self {
        Self { schema, terms: 0 }
    }
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

    /// Counts `e`, then hands it to the check of its family; anything else is refused.
    pub(super) fn expr(&mut self, e: &Expr) -> Result<(), String> {
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
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => self.both(a, b),
            Expr::UnaryOp { op, expr } => self.unary(op, expr),
            Expr::BinaryOp { left, op, right } => self.binary(left, op, right),
            Expr::InList { expr, list, .. } => self.in_list(expr, list),
            Expr::Between {
                expr, low, high, ..
            } => self.between(expr, low, high),
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
            } => self.like(*any, escape_char.is_some(), expr, pattern),
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(operand.as_deref(), conditions, else_result.as_deref()),
            Expr::Cast {
                kind,
                expr,
                data_type,
                array,
                format,
            } => self.cast(kind, *array, format.as_ref(), data_type, expr),
            Expr::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => self.trim(expr, trim_what.as_deref(), trim_characters.as_deref()),
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => self.substring(expr, substring_from.as_deref(), substring_for.as_deref()),
            Expr::Position { expr, r#in } => self.both(expr, r#in),
            Expr::Function(f) => self.function(f),
            other => Err(format!("{} is not allowed", describe(other))),
        }
    }

    /// `a`, then `b`.
    fn both(&mut self, a: &Expr, b: &Expr) -> Result<(), String> {
        self.expr(a)?;
        self.expr(b)
    }

    // Leaves.

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

    pub(super) fn string_literal(&mut self, e: &Expr, what: &str) -> Result<(), String> {
        self.count()?;
        match e {
            Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)) => Ok(()),
            _ => Err(format!("{what} must be a 'quoted string'")),
        }
    }

    // Operators.

    /// `NOT`, unary minus and plus.
    fn unary(&mut self, op: &UnaryOperator, expr: &Expr) -> Result<(), String> {
        if !matches!(
            op,
            UnaryOperator::Not | UnaryOperator::Minus | UnaryOperator::Plus
        ) {
            return Err(format!("the operator {op} is not allowed"));
        }
        self.expr(expr)
    }

    fn binary(&mut self, left: &Expr, op: &BinaryOperator, right: &Expr) -> Result<(), String> {
        binary_operator(op)?;
        self.both(left, right)
    }

    // Predicates.

    /// `[NOT] IN (…)` with a list of literals.
    fn in_list(&mut self, expr: &Expr, list: &[Expr]) -> Result<(), String> {
        self.expr(expr)?;
        list.iter().try_for_each(|item| self.list_value(item))
    }

    fn between(&mut self, expr: &Expr, low: &Expr, high: &Expr) -> Result<(), String> {
        self.expr(expr)?;
        self.both(low, high)
    }

    /// `[NOT] [I]LIKE 'pattern'`, without `ANY` or `ESCAPE`.
    fn like(&mut self, any: bool, escape: bool, expr: &Expr, pattern: &Expr) -> Result<(), String> {
        if any {
            return Err("LIKE ANY is not allowed".into());
        }
        if escape {
            return Err("LIKE … ESCAPE is not allowed".into());
        }
        self.expr(expr)?;
        self.string_literal(pattern, "a LIKE pattern")
    }

    // SQL syntax of its own: CASE, CAST, TRIM, SUBSTRING (POSITION is a pair).

    fn case(
        &mut self,
        operand: Option<&Expr>,
        conditions: &[CaseWhen],
        else_result: Option<&Expr>,
    ) -> Result<(), String> {
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

    /// `CAST(value AS type)` and `TRY_CAST` to an allowed type.
    fn cast(
        &mut self,
        kind: &CastKind,
        array: bool,
        format: Option<&CastFormat>,
        data_type: &SqlType,
        expr: &Expr,
    ) -> Result<(), String> {
        if array || format.is_some() || matches!(kind, CastKind::SafeCast) {
            return Err("only CAST(value AS type) and TRY_CAST are allowed".into());
        }
        cast_type(data_type)?;
        self.expr(expr)
    }

    fn trim(
        &mut self,
        expr: &Expr,
        trim_what: Option<&Expr>,
        trim_characters: Option<&[Expr]>,
    ) -> Result<(), String> {
        self.expr(expr)?;
        if let Some(what) = trim_what {
            self.expr(what)?;
        }
        trim_characters
            .into_iter()
            .flatten()
            .try_for_each(|c| self.expr(c))
    }

    fn substring(
        &mut self,
        expr: &Expr,
        from: Option<&Expr>,
        r#for: Option<&Expr>,
    ) -> Result<(), String> {
        self.expr(expr)?;
        for part in [from, r#for].into_iter().flatten() {
            self.expr(part)?;
        }
        Ok(())
    }
}

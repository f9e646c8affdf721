//! The scalar functions a condition may call, and the check of a call: a plain list of plain
//! arguments, each checked in turn.

use sqlparser::ast::{Function, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectNamePart};

use super::cut;
use super::walk::Walk;

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

impl Walk<'_> {
    pub(super) fn function(&mut self, f: &Function) -> Result<(), String> {
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

//! Who comes into scope besides the default: the accounts a `--scope-where` condition selects,
//! and those listed by `--scope-file` and `--external-identities`.

use super::{Class, RowFacts, Scope, text_column};
use crate::model::{Column, StrColumn, Table, user as col};
use crate::scan::inputs::{AccountIndex, Entry};

/// Puts the accounts `expr` selects in scope (excluded and pending ones keep their class).
pub(super) fn select_where(
    table: &Table,
    rows: &[RowFacts],
    expr: &polars::prelude::Expr,
    class: &mut [Class],
) -> polars::prelude::PolarsResult<()> {
    use polars::prelude::IntoLazy;
    let mut columns: Vec<polars::prelude::Column> = col::SCOPE_COLUMNS
        .iter()
        .enumerate()
        .take(col::FIRST_FACT)
        .map(|(i, d)| table.columns[i].to_polars(d.name, None))
        .collect();
    let domain = text_column(rows.iter().map(|f| f.domain.as_deref()));
    let verified = Column::Bool(rows.iter().map(|f| f.verified).collect());
    columns.push(domain.to_polars(col::COLUMNS[col::MAIL_DOMAIN].name, None));
    columns.push(verified.to_polars(col::COLUMNS[col::MAIL_DOMAIN_VERIFIED].name, None));
    let selected = polars::prelude::DataFrame::new(table.len(), columns).and_then(|df| {
        crate::rules::guard::quietly(|| df.lazy().select([expr.clone().alias("in")]).collect())
            .unwrap_or_else(|| {
                Err(polars::prelude::PolarsError::ComputeError(
                    crate::rules::QUERY_ENGINE_FAILED.into(),
                ))
            })
    });
    let mask = selected?.column("in")?.bool()?.clone();
    for (r, v) in mask.iter().enumerate() {
        if v == Some(true) && class[r] == Class::OutOfScope {
            class[r] = Class::InScope;
        }
    }
    Ok(())
}

/// Applies `--scope-file` and `--external-identities`: their accounts come into scope, and
/// each account's external address is returned.
pub(super) fn apply_lists(
    ids: &StrColumn,
    upn: &StrColumn,
    scope: &Scope,
    external: Option<&[Entry]>,
    class: &mut [Class],
    warnings: &mut Vec<String>,
) -> Vec<Option<String>> {
    let n = class.len();
    let mut external_email: Vec<Option<String>> = vec![None; n];
    let listed = matches!(scope, Scope::Listed(_));
    if listed || external.is_some() {
        let index = AccountIndex::new(ids, upn);
        if let Scope::Listed(entries) = scope {
            apply_list(&index, entries, class, "--scope-file", warnings);
        }
        if let Some(entries) = external {
            apply_list(&index, entries, class, "--external-identities", warnings);
            for e in entries {
                if let Some(r) = index.find(&e.user) {
                    external_email[r as usize] = e.external_email.clone();
                }
            }
        }
    }
    external_email
}

/// Puts the listed accounts in scope (excluded ones stay excluded) and warns about entries
/// that name no account.
fn apply_list(
    index: &AccountIndex,
    entries: &[Entry],
    class: &mut [Class],
    flag: &str,
    warnings: &mut Vec<String>,
) {
    let mut unknown = Vec::new();
    for e in entries {
        match index.find(&e.user) {
            Some(r) => {
                if class[r as usize] == Class::OutOfScope {
                    class[r as usize] = Class::InScope;
                }
            }
            None => unknown.push(format!("{} (line {})", e.user, e.line)),
        }
    }
    if !unknown.is_empty() {
        let shown: Vec<_> = unknown.iter().take(5).cloned().collect();
        let more = unknown.len().saturating_sub(shown.len());
        warnings.push(format!(
            "{flag}: {} entries match no account: {}{}",
            unknown.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
}

//! Evaluates every rule as one vectorised polars pass per target table and turns the hits
//! into findings and per-account verdicts, sorted so that two runs give identical output.

use polars::prelude::{DataFrame, Expr, IntoLazy, PlSmallStr, PolarsError, PolarsResult};
use rayon::prelude::*;

use super::facts::{Class, Facts};
use super::hits::{Hits, Judged, verdicts};
use crate::model::{Severity, Table, Verdict, user as col};
use crate::rules::{QUERY_ENGINE_FAILED, Registry, Target, guard};

/// Whether a rule ran, and what it found.
#[derive(Debug, Clone)]
pub struct RuleOutcome {
    pub severity: Severity,
    /// `None` when evaluated; otherwise why the rule could not run.
    pub not_evaluated: Option<String>,
    pub count: usize,
}

/// One rule hit: on an account (its row) or on the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    pub rule: u16,
    pub row: Option<u32>,
    /// The exception that matched it (an index into the review's exceptions).
    pub exception: Option<u16>,
    /// Where it stands against a baseline.
    pub change: super::baseline::Change,
}

impl Finding {
    fn new(rule: usize, row: Option<u32>) -> Self {
        Finding {
            rule: rule as u16,
            row,
            exception: None,
            change: super::baseline::Change::Untracked,
        }
    }
}

#[derive(Debug, Clone)]
pub struct VerdictRow {
    pub row: u32,
    pub verdict: Verdict,
    pub class: Class,
    /// Rule indices. A tenant-level blocker blocks every account, so it is listed in each
    /// verdict; tenant-level warnings are reported once, on the tenant.
    pub blockers: RuleList,
    pub warnings: RuleList,
}

/// Rule indices of one verdict: up to eight inline (as many bytes as an empty `Vec`), so a
/// million verdicts are not a million lists to allocate, follow and free.
pub type RuleList = smallvec::SmallVec<[u16; 8]>;

pub struct Evaluation {
    pub outcomes: Vec<RuleOutcome>,
    pub findings: Vec<Finding>,
    pub verdicts: Vec<VerdictRow>,
}

/// Rows where each boolean column of `out` is true, mapped through `rows` when given.
fn hits(out: &DataFrame, names: &[String], rows: Option<&[u32]>) -> PolarsResult<Vec<Vec<u32>>> {
    names
        .par_iter()
        .map(|name| {
            let mask = out.column(name)?.bool()?.clone();
            let mut found = Vec::new();
            let mut offset = 0;
            for chunk in mask.downcast_iter() {
                for (i, v) in chunk.iter().enumerate() {
                    if v == Some(true) {
                        let i = offset + i;
                        found.push(rows.map_or(i as u32, |r| r[i]));
                    }
                }
                offset += chunk.len();
            }
            Ok(found)
        })
        .collect()
}

fn evaluate_target(
    registry: &Registry,
    target: Target,
    runnable: &[bool],
    table: &Table,
    rows: Option<&[u32]>,
) -> PolarsResult<Vec<(usize, Vec<u32>)>> {
    let chosen: Vec<usize> = (0..registry.rules.len())
        .filter(|&i| runnable[i] && registry.rules[i].target == target)
        .collect();
    if chosen.is_empty() || rows.is_some_and(<[u32]>::is_empty) {
        return Ok(chosen.into_iter().map(|i| (i, Vec::new())).collect());
    }
    let names: Vec<String> = chosen.iter().map(|i| format!("r{i}")).collect();
    let exprs: Vec<_> = chosen
        .iter()
        .zip(&names)
        .map(|(&i, n)| registry.rules[i].expr.clone().alias(n.as_str()))
        .collect();
    let read = columns_read(&exprs);
    // Conditions are row by row (no aggregate or window function passes the checks), so the
    // rows can go through in batches: the frame of a batch is all the memory polars needs.
    let batches: Vec<Option<&[u32]>> = match rows {
        Some(rows) => rows.chunks(RULE_BATCH).map(Some).collect(),
        None => vec![None],
    };
    let mut found = vec![Vec::new(); chosen.len()];
    for batch in batches {
        let df =
            table.to_dataframe_of(batch, |name| read.as_ref().is_none_or(|r| r.contains(name)))?;
        let out = match guard::quietly(|| df.clone().lazy().select(exprs.clone()).collect()) {
            Some(out) => out?,
            None => return Err(panicked_rule(registry, &chosen, &df)),
        };
        for (all, part) in found.iter_mut().zip(hits(&out, &names, batch)?) {
            all.extend(part);
        }
    }
    Ok(chosen.into_iter().zip(found).collect())
}

/// Accounts evaluated together, as one polars frame.
const RULE_BATCH: usize = 32_768;

/// The columns the conditions read, so that the others are not copied for nothing; `None`
/// (all of them) when one selects columns by pattern or type.
fn columns_read(exprs: &[Expr]) -> Option<std::collections::HashSet<PlSmallStr>> {
    let mut read = std::collections::HashSet::new();
    for node in exprs.iter().flat_map(|e| e.into_iter()) {
        match node {
            Expr::Column(name) => {
                read.insert(name.clone());
            }
            Expr::Selector(_) | Expr::DataTypeFunction(_) => return None,
            _ => {}
        }
    }
    Some(read)
}

/// Polars panicked evaluating the rules `chosen` together: runs them one by one to name the
/// rule file at fault.
fn panicked_rule(registry: &Registry, chosen: &[usize], df: &DataFrame) -> PolarsError {
    let culprit = chosen.iter().map(|&i| &registry.rules[i]).find(|rule| {
        let one = rule.expr.clone().alias("fires");
        guard::quietly(|| df.clone().lazy().select([one]).collect()).is_none()
    });
    let message = match culprit {
        Some(rule) => format!(
            "rule file {}: condition: {QUERY_ENGINE_FAILED}",
            rule.source
        ),
        None => "polars failed unexpectedly on the rule conditions together (a bug in polars)"
            .to_owned(),
    };
    PolarsError::ComputeError(message.into())
}

pub fn evaluate(
    registry: &Registry,
    not_evaluated: Vec<Option<String>>,
    mau_billing: bool,
    users: &Table,
    facts: &Facts,
) -> PolarsResult<Evaluation> {
    let runnable: Vec<bool> = not_evaluated.iter().map(Option::is_none).collect();
    let mut outcomes: Vec<RuleOutcome> = registry
        .rules
        .iter()
        .zip(not_evaluated)
        .map(|(r, ne)| RuleOutcome {
            severity: r.severity_for(mau_billing),
            not_evaluated: ne,
            count: 0,
        })
        .collect();
    let clock = super::Phases::start();
    let mut user_hits = evaluate_target(
        registry,
        Target::User,
        &runnable,
        users,
        Some(&facts.in_scope),
    )?;
    let tenant_hits = evaluate_target(registry, Target::Tenant, &runnable, &facts.tenant, None)?;
    clock.mark("  conditions");

    let ids = users.columns[col::ID].text().expect("text column");
    let mut findings = Vec::new();
    let mut tenant_blockers = Vec::new();
    for (rule, rows) in tenant_hits {
        if rows.is_empty() {
            continue;
        }
        outcomes[rule].count = 1;
        findings.push(Finding::new(rule, None));
        match outcomes[rule].severity {
            Severity::Blocker => tenant_blockers.push(rule as u16),
            Severity::Warning | Severity::Info => {}
        }
    }
    // Per in-scope row, the rules that hit it, in rule order.
    let mut slot = vec![u32::MAX; users.len()];
    for (i, &r) in facts.in_scope.iter().enumerate() {
        slot[r as usize] = i as u32;
    }
    // Each listed row's place in id order (judged or excluded: every row a verdict names),
    // found with one sort: the findings of every rule and the verdicts are then put in id
    // order by comparing numbers, not ids.
    let mut by_id: Vec<u32> = (0..users.len() as u32)
        .filter(|&r| facts.class[r as usize] != Class::OutOfScope)
        .collect();
    ids.sort_rows(&mut by_id);
    let mut rank = vec![u32::MAX; users.len()];
    for (i, &r) in by_id.iter().enumerate() {
        rank[r as usize] = i as u32;
    }
    drop(by_id);
    clock.mark("  id order");
    // Each rule's rows in id order, the rules side by side (most are small).
    user_hits
        .par_iter_mut()
        .for_each(|(_, rows)| rows.sort_unstable_by_key(|&r| rank[r as usize]));
    // The rules that hit each judged row, as bits: no list per row is grown one hit at a
    // time, and reading the bits in order gives the rules in order.
    let mut hits = Hits::new(facts.in_scope.len(), registry.rules.len());
    for (rule, rows) in &user_hits {
        outcomes[*rule].count = rows.len();
        for &r in rows {
            hits.set(slot[r as usize] as usize, *rule);
        }
    }
    for (rule, rows) in user_hits {
        findings.extend(rows.into_iter().map(|r| Finding::new(rule, Some(r))));
    }
    // Stable sort: user findings keep their id order within a rule.
    findings.sort_by_key(|f| (f.rule, f.row.is_some()));
    clock.mark("  findings");
    let severities: Vec<Severity> = outcomes.iter().map(|o| o.severity).collect();
    let judged = Judged {
        hits: &hits,
        slot: &slot,
        severities: &severities,
    };
    let verdicts = verdicts(facts, &judged, &tenant_blockers, &rank);
    clock.mark("  verdicts");
    Ok(Evaluation {
        outcomes,
        findings,
        verdicts,
    })
}

#[cfg(test)]
mod tests {
    use polars::prelude::{Column, DataType, Field, col};

    use super::*;
    use crate::model::user;
    use crate::rules::{Rule, parse_rule};

    fn rule(id: &str) -> Rule {
        let text = format!(
            "id = \"{id}\"\ntitle = \"a rule\"\ntarget = \"user\"\nseverity = \"warning\"\nneeds = [\"users\"]\ncondition = \"mail IS NULL\"\nmessage = \"m\"\n[docs]\nwhat = \"w\"\nwhy = \"w\"\nremediation = \"r\"\n"
        );
        parse_rule(&format!("custom/{id}.toml"), &text).expect("a valid rule")
    }

    #[test]
    fn a_panic_while_evaluating_names_the_rule_file() {
        let mut boom = rule("boom");
        boom.expr = col("mail").map(
            |_: Column| -> PolarsResult<Column> { panic!("a bug inside the query engine") },
            |_, f: &Field| Ok(Field::new(f.name().clone(), DataType::Boolean)),
        );
        let registry = Registry {
            rules: vec![rule("fine"), boom],
        };
        let table = Table::new(user::COLUMNS, 3);
        let err = evaluate_target(&registry, Target::User, &[true, true], &table, None)
            .expect_err("the panic is an error");
        assert_eq!(
            err.to_string(),
            format!("rule file custom/boom.toml: condition: {QUERY_ENGINE_FAILED}")
        );
        let registry = Registry {
            rules: vec![rule("fine")],
        };
        let hits = evaluate_target(&registry, Target::User, &[true], &table, None)
            .expect("the other rule still runs");
        assert_eq!(hits.len(), 1);
    }

    #[test]
    fn accounts_evaluated_in_batches_give_every_hit_once_in_order() {
        let rows = 2 * RULE_BATCH + 7;
        let mut table = Table::new(user::COLUMNS, rows);
        for (i, column) in table.columns.iter_mut().enumerate() {
            for r in 0..rows {
                let value = (i == user::MAIL && r % 3 != 0).then_some("ana@adatum.com");
                match column {
                    crate::model::Column::Text(c) => c.push(value),
                    crate::model::Column::Bool(c) => c.push(None),
                    crate::model::Column::Int(c) => c.push(None),
                }
            }
        }
        // Every row but the first of each ten, so that batches do not start at row zero.
        let judged: Vec<u32> = (0..rows as u32).filter(|r| r % 10 != 0).collect();
        let registry = Registry {
            rules: vec![rule("no-mail")],
        };
        let hits = evaluate_target(&registry, Target::User, &[true], &table, Some(&judged))
            .expect("evaluated");
        let expected: Vec<u32> = judged.iter().copied().filter(|r| r % 3 == 0).collect();
        assert!(expected.len() > RULE_BATCH / 2);
        assert_eq!(hits, vec![(0, expected)]);
    }
}

//! Puts the judged accounts first, in the order every output lists them (by id), before
//! anything is written.
//!
//! Findings are listed rule by rule in id order, but accounts are stored in the order of
//! `users.jsonl`: without this step each writer would fetch every finding's cells from a
//! random place in a table of a million rows, once per output. Moving the rows once makes every
//! writer read the table front to back.

use rayon::prelude::*;

use super::Scan;
use super::engine::{Finding, VerdictRow};
use crate::model::{Column, Table};

impl Scan {
    /// Puts the accounts with a verdict first, in id order, the others after them: worth its
    /// cost before listing every account, not for a summary.
    pub fn arrange(&mut self) {
        self.arrange_judged(true);
    }

    /// The accounts with a verdict alone, in id order: all that files listing every finding
    /// or verdict show (the totals were counted before).
    pub fn keep_listed(&mut self) {
        self.arrange_judged(false);
    }

    fn arrange_judged(&mut self, keep_others: bool) {
        let clock = super::Phases::start();
        judged_first(
            &mut self.users,
            &mut self.lines,
            &mut self.findings,
            &mut self.verdicts,
            keep_others,
        );
        clock.mark("arrange");
    }
}

/// Reorders `users` (and each account's line number) so that the account of verdict `i` is
/// row `i`, with the accounts no verdict names after them in their old order (or, without
/// `keep_others`, dropped: no output lists them), and renumbers the rows the findings and
/// verdicts point to.
pub fn judged_first(
    users: &mut Table,
    lines: &mut Vec<u64>,
    findings: &mut [Finding],
    verdicts: &mut [VerdictRow],
    keep_others: bool,
) {
    let rows = users.len();
    let mut place = vec![u32::MAX; rows];
    let mut order: Vec<u32> = Vec::with_capacity(rows);
    for v in verdicts.iter() {
        place[v.row as usize] = order.len() as u32;
        order.push(v.row);
    }
    // Rules judge only accounts with a verdict; were a finding about another, it keeps its row.
    let keep_others = keep_others
        || findings
            .iter()
            .any(|f| f.row.is_some_and(|r| place[r as usize] == u32::MAX));
    for (row, p) in place.iter_mut().enumerate() {
        if *p == u32::MAX && keep_others {
            *p = order.len() as u32;
            order.push(row as u32);
        }
    }
    // A column per core at a time, each freed as soon as its new copy is made, so the new
    // copies reuse the memory the old ones give back instead of adding to it; the largest
    // first, so that no core is left with a large one at the end.
    let mut by_size: Vec<&mut Column> = users.columns.iter_mut().collect();
    by_size.sort_by_key(|c| std::cmp::Reverse(c.bytes()));
    by_size.into_par_iter().with_max_len(1).for_each(|old| {
        let mut new = old.room_for_all();
        old.gather_into(&order, &mut new);
        *old = new;
    });
    if lines.len() == rows {
        *lines = order.iter().map(|&r| lines[r as usize]).collect();
    }
    findings.par_iter_mut().for_each(|f| {
        if let Some(r) = &mut f.row {
            *r = place[*r as usize];
        }
    });
    for v in verdicts.iter_mut() {
        v.row = place[v.row as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{StrColumn, Verdict};
    use crate::scan::Class;
    use crate::scan::baseline::Change;

    /// Accounts e, a, d, b, c (lines 10 to 50); verdicts for a, b, c; findings about b and a
    /// and `extra`, and one about the tenant.
    fn arranged(
        extra: Option<u32>,
        keep_others: bool,
    ) -> (Vec<String>, Vec<u64>, Vec<Option<u32>>) {
        let mut ids = StrColumn::default();
        for id in ["e", "a", "d", "b", "c"] {
            ids.push(Some(id));
        }
        let mut users = Table {
            schema: &[],
            columns: vec![Column::Text(ids), Column::Int((0..5).map(Some).collect())],
        };
        let mut lines = vec![10, 20, 30, 40, 50];
        let finding = |row| Finding {
            rule: 0,
            row,
            exception: None,
            change: Change::Untracked,
        };
        let mut findings: Vec<Finding> = [Some(3), Some(1), None]
            .into_iter()
            .chain(extra.map(Some))
            .map(finding)
            .collect();
        let verdict = |row| VerdictRow {
            row,
            verdict: Verdict::Ready,
            class: Class::InScope,
            blockers: Default::default(),
            warnings: Default::default(),
        };
        let mut verdicts = vec![verdict(1), verdict(3), verdict(4)];
        judged_first(
            &mut users,
            &mut lines,
            &mut findings,
            &mut verdicts,
            keep_others,
        );
        assert_eq!(
            verdicts.iter().map(|v| v.row).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let Column::Text(ids) = &users.columns[0] else {
            unreachable!()
        };
        let Column::Int(numbers) = &users.columns[1] else {
            unreachable!()
        };
        let ids: Vec<String> = ids.iter().map(|v| v.unwrap_or("").to_owned()).collect();
        // Every column moves with the ids.
        let order: Vec<i64> = ids
            .iter()
            .map(|id| {
                ["e", "a", "d", "b", "c"]
                    .iter()
                    .position(|x| x == id)
                    .unwrap_or(9) as i64
            })
            .collect();
        assert_eq!(
            numbers.iter().map(|n| n.unwrap_or(-1)).collect::<Vec<_>>(),
            order
        );
        (ids, lines, findings.iter().map(|f| f.row).collect())
    }

    #[test]
    fn accounts_with_a_verdict_come_first_in_its_order() {
        let (ids, lines, rows) = arranged(None, true);
        assert_eq!(ids, ["a", "b", "c", "e", "d"]);
        assert_eq!(lines, [20, 40, 50, 10, 30]);
        assert_eq!(rows, [Some(1), Some(0), None]);
    }

    #[test]
    fn the_others_are_dropped_unless_a_finding_is_about_one() {
        let (ids, lines, rows) = arranged(None, false);
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(lines, [20, 40, 50]);
        assert_eq!(rows, [Some(1), Some(0), None]);
        let (ids, _, rows) = arranged(Some(2), false);
        assert_eq!(ids, ["a", "b", "c", "e", "d"]);
        assert_eq!(rows, [Some(1), Some(0), None, Some(4)]);
    }
}

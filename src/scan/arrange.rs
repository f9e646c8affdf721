//! Puts the judged accounts first, in the order every output lists them (by id), before
//! anything is written.
//!
//! Findings are listed rule by rule in id order, but accounts are stored in the order of
//! `users.jsonl`: without this step each writer would fetch every finding's cells from a
//! random place in a table of a million rows, once per output. Moving the rows once makes every
//! writer read the table front to back.

use rayon::prelude::*;

use super::engine::{Finding, VerdictRow};
use crate::model::{Column, Table};

/// Reorders `users` (and each account's line number) so that the account of verdict `i` is
/// row `i`, with the accounts no verdict names after them in their old order, and renumbers
/// the rows the findings and verdicts point to.
pub fn judged_first(
    users: &mut Table,
    lines: &mut Vec<u64>,
    findings: &mut [Finding],
    verdicts: &mut [VerdictRow],
) {
    let rows = users.len();
    let mut place = vec![u32::MAX; rows];
    let mut order: Vec<u32> = Vec::with_capacity(rows);
    for v in verdicts.iter() {
        place[v.row as usize] = order.len() as u32;
        order.push(v.row);
    }
    for (row, p) in place.iter_mut().enumerate() {
        if *p == u32::MAX {
            *p = order.len() as u32;
            order.push(row as u32);
        }
    }
    // Two columns at a time, one per core. The new columns are allocated and the old ones
    // freed on this thread, so each pair reuses the memory the previous pair gave back
    // instead of adding to it.
    for pair in users.columns.chunks_mut(2) {
        let mut moved: Vec<Column> = pair.iter().map(Column::room_for_all).collect();
        moved
            .par_iter_mut()
            .zip(pair.par_iter())
            .for_each(|(new, old)| old.gather_into(&order, new));
        for (old, new) in pair.iter_mut().zip(moved) {
            *old = new;
        }
    }
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

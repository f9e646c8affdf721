//! From the rows each rule hit to the verdict of each account: which rules hit a row is kept
//! as bits, so no list per row grows one hit at a time, and reading the bits in order gives
//! the rules in order.

use rayon::prelude::*;

use super::engine::{RuleList, VerdictRow};
use super::facts::{Class, Facts};
use crate::model::{Severity, Verdict};

/// The rules that hit each judged row, a bit each: `words` words a row.
pub(super) struct Hits {
    words: usize,
    bits: Vec<u64>,
}

impl Hits {
    pub(super) fn new(rows: usize, rules: usize) -> Self {
        let words = rules.div_ceil(64).max(1);
        Hits {
            words,
            bits: vec![0; rows * words],
        }
    }

    pub(super) fn set(&mut self, row: usize, rule: usize) {
        self.bits[row * self.words + rule / 64] |= 1 << (rule % 64);
    }

    /// The rules that hit `row`, in order.
    fn rules(&self, row: usize) -> impl Iterator<Item = usize> + '_ {
        let words = &self.bits[row * self.words..(row + 1) * self.words];
        words.iter().enumerate().flat_map(|(w, &word)| {
            let mut left = word;
            std::iter::from_fn(move || {
                (left != 0).then(|| {
                    let bit = left.trailing_zeros() as usize;
                    left &= left - 1;
                    w * 64 + bit
                })
            })
        })
    }
}

/// What the rules found on the judged rows: the hits, each row's place among them (`slot`,
/// by table row) and each rule's severity.
pub(super) struct Judged<'a> {
    pub hits: &'a Hits,
    pub slot: &'a [u32],
    pub severities: &'a [Severity],
}

impl Judged<'_> {
    /// The blockers and the warnings of table row `r`, each in rule order.
    fn of(&self, r: usize) -> (RuleList, RuleList) {
        let (mut blockers, mut warnings) = (RuleList::new(), RuleList::new());
        for rule in self.hits.rules(self.slot[r] as usize) {
            match self.severities[rule] {
                Severity::Blocker => blockers.push(rule as u16),
                Severity::Warning => warnings.push(rule as u16),
                Severity::Info => {}
            }
        }
        (blockers, warnings)
    }
}

/// One verdict per account in scope or excluded, sorted by id (`rank`, each such row's place
/// in id order), with the blockers and warnings of each judged row in rule order.
pub(super) fn verdicts(
    facts: &Facts,
    judged: &Judged,
    tenant_blockers: &[u16],
    rank: &[u32],
) -> Vec<VerdictRow> {
    let mut verdicts: Vec<VerdictRow> = facts
        .class
        .par_iter()
        .enumerate()
        .filter_map(|(r, &class)| match class {
            Class::OutOfScope => None,
            Class::Excluded(_) => Some(VerdictRow {
                row: r as u32,
                verdict: Verdict::Excluded,
                class,
                blockers: RuleList::new(),
                warnings: RuleList::new(),
            }),
            Class::InScope | Class::Pending => {
                let (mut blockers, warnings) = judged.of(r);
                if !tenant_blockers.is_empty() {
                    blockers.extend_from_slice(tenant_blockers);
                    blockers.sort_unstable();
                }
                let verdict = match (class, blockers.is_empty()) {
                    (Class::Pending, _) => Verdict::Pending,
                    (_, true) => Verdict::Ready,
                    (_, false) => Verdict::Blocked,
                };
                Some(VerdictRow {
                    row: r as u32,
                    verdict,
                    class,
                    blockers,
                    warnings,
                })
            }
        })
        .collect();
    verdicts.par_sort_unstable_by_key(|v| rank[v.row as usize]);
    verdicts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_of_a_row_come_back_in_order_across_words() {
        let mut hits = Hits::new(3, 131);
        for rule in [130, 0, 64, 63] {
            hits.set(1, rule);
        }
        hits.set(2, 5);
        assert_eq!(hits.rules(1).collect::<Vec<_>>(), [0, 63, 64, 130]);
        assert_eq!(hits.rules(0).count(), 0);
        assert_eq!(hits.rules(2).collect::<Vec<_>>(), [5]);
    }
}

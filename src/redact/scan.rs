//! Redacting a finished scan: the account table (the rows an output can show), the review's
//! exceptions and resolved findings, and the warnings.

use rayon::prelude::*;

use super::Redactor;
use crate::model::{Column, StrColumn, Table, user as col};
use crate::scan::ScanResult;

/// Columns replaced whole, by what they hold.
const IDS: [usize; 2] = [col::ID, col::MAIL_COLLISION_ID];
const ADDRESSES: [usize; 5] = [
    col::UPN,
    col::MAIL,
    col::ONPREM_UPN,
    col::EXTERNAL_EMAIL,
    col::MAIL_COLLISION_WITH,
];
const DOMAINS: [usize; 2] = [col::MAIL_DOMAIN, col::EXTERNAL_DOMAIN];

impl Redactor {
    /// Rewrites a finished scan: the account table, the review's exceptions and resolved
    /// findings, and the warnings.
    pub fn scan(&self, result: &mut ScanResult) {
        let (scan, review) = result.parts_mut();
        let mut keep = vec![false; scan.users.len()];
        let shown = scan.verdicts.iter().map(|v| v.row);
        for r in shown.chain(scan.findings.iter().filter_map(|f| f.row)) {
            keep[r as usize] = true;
        }
        self.users(&mut scan.users, &keep);
        for e in &mut review.exceptions {
            let x = &mut e.exception;
            if let crate::scan::exceptions::Subject::User(s) = &mut x.subject {
                *s = if s.contains('@') {
                    self.address(s)
                } else {
                    self.id(s)
                };
            }
            x.reason = self.text(&x.reason);
            x.owner = x.owner.as_deref().map(|o| self.text(o));
        }
        if let Some(b) = &mut review.baseline {
            for r in &mut b.resolved {
                if r.kind != "tenant" {
                    r.id = self.id(&r.id);
                }
                r.user_principal_name = r.user_principal_name.as_deref().map(|u| self.address(u));
            }
        }
        for w in &mut scan.warnings {
            *w = self.text(w);
        }
    }

    /// Each identifier of row `r` with what replaces it, longest first.
    fn row_swaps(&self, table: &Table, r: usize) -> Vec<(String, String)> {
        let cell = |c: usize| {
            table.columns[c]
                .text()
                .and_then(|t| t.get(r))
                .map(str::to_owned)
        };
        let id = cell(col::ID).unwrap_or_default();
        let mut s: Vec<(String, String)> = Vec::new();
        for c in IDS {
            s.extend(cell(c).map(|v| (self.id(&v), v)));
        }
        for c in ADDRESSES {
            s.extend(cell(c).map(|v| (self.address(&v), v)));
        }
        for m in cell(col::OTHER_MAILS).iter().flat_map(|m| m.split("; ")) {
            s.push((self.address(m), m.to_owned()));
        }
        s.extend(cell(col::DISPLAY_NAME).map(|v| (self.name(&id), v)));
        for c in DOMAINS {
            s.extend(cell(c).map(|v| (self.domain(&v), v)));
        }
        let mut s: Vec<(String, String)> = s
            .into_iter()
            .filter(|(_, from)| !from.is_empty())
            .map(|(to, from)| (from, to))
            .collect();
        s.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        s
    }

    /// One cell of column `c`, rewritten.
    fn cell(&self, c: usize, value: &str, id: &str, swaps: &[(String, String)]) -> String {
        // The row's swaps already hold the pseudonym of each identifier it has.
        let known = |v: &str| {
            swaps
                .iter()
                .find(|(from, _)| from == v)
                .map(|(_, to)| to.clone())
        };
        match c {
            _ if IDS.contains(&c) => known(value).unwrap_or_else(|| self.id(value)),
            _ if ADDRESSES.contains(&c) => known(value).unwrap_or_else(|| self.address(value)),
            _ if DOMAINS.contains(&c) => known(value).unwrap_or_else(|| self.domain(value)),
            col::OTHER_MAILS => {
                let all: Vec<String> = value
                    .split("; ")
                    .map(|m| known(m).unwrap_or_else(|| self.address(m)))
                    .collect();
                all.join("; ")
            }
            col::DISPLAY_NAME => self.name(id),
            _ => self.text(&swap(value, swaps)),
        }
    }

    /// Rewrites the rows an output can show (`keep`); every other row's text is dropped, so
    /// nothing unredacted stays behind and no work is spent on accounts out of scope.
    fn users(&self, table: &mut Table, keep: &[bool]) {
        let rows = table.len();
        let kept = |r: usize| keep.get(r).copied().unwrap_or(false);
        // Each kept row's id and the swaps of its identifiers; nothing for the others.
        let found: Vec<(String, Vec<(String, String)>)> = (0..rows)
            .into_par_iter()
            .map(|r| {
                if !kept(r) {
                    return (String::new(), Vec::new());
                }
                let id = table.columns[col::ID].text().and_then(|t| t.get(r));
                (id.unwrap_or_default().to_owned(), self.row_swaps(table, r))
            })
            .collect();
        table
            .columns
            .par_iter_mut()
            .enumerate()
            .for_each(|(c, column)| {
                let Column::Text(text) = column else { return };
                let mut out = StrColumn::with_capacity(rows);
                for (r, (id, swaps)) in found.iter().enumerate() {
                    let new = text
                        .get(r)
                        .filter(|_| kept(r))
                        .map(|v| self.cell(c, v, id, swaps));
                    out.push(new.as_deref());
                }
                *text = out;
            });
    }
}

/// `text` with each `from` (longest first) replaced by its `to`, case-insensitively.
fn swap(text: &str, swaps: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    let mut lower = out.to_lowercase();
    for (from, to) in swaps {
        let needle = from.to_lowercase();
        if !lower.contains(&needle) {
            continue;
        }
        if lower.len() != out.len() {
            // Lower-casing changed the length (rare scripts): replace as written.
            out = out.replace(from.as_str(), to);
        } else {
            let mut result = String::with_capacity(out.len());
            let mut at = 0;
            for (i, _) in lower.match_indices(&needle) {
                result.push_str(&out[at..i]);
                result.push_str(to);
                at = i + needle.len();
            }
            result.push_str(&out[at..]);
            out = result;
        }
        lower = out.to_lowercase();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_ignore_case_and_take_the_longest_first() {
        let swaps = vec![
            ("Bob Smith (Adatum)".to_owned(), "Person 1".to_owned()),
            ("bob".to_owned(), "X".to_owned()),
        ];
        assert_eq!(swap("BOB SMITH (ADATUM) and bob", &swaps), "Person 1 and X");
    }
}

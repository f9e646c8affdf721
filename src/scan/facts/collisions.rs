//! Who else holds an account's address. Addresses are hashed and sorted once, then every
//! candidate is compared exactly, so a hash collision can never invent a finding.

use std::hash::{DefaultHasher, Hash, Hasher};

use rayon::prelude::*;

use crate::model::{StrColumn, user as col};
use crate::snapshot::users::Users;

pub(crate) fn hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Every (address hash, row) of the accounts' address lists, sorted.
pub(crate) fn address_index(addresses: &StrColumn) -> Vec<(u64, u32)> {
    let mut pairs: Vec<(u64, u32)> = (0..addresses.len())
        .into_par_iter()
        .flat_map_iter(|r| {
            addresses
                .get(r)
                .unwrap_or("")
                .split('\n')
                .filter(|a| !a.is_empty())
                .map(move |a| (hash(a), r as u32))
        })
        .collect();
    pairs.par_sort_unstable();
    pairs
}

/// The rows whose address list holds `address` (lower-case), found through `index`.
pub(crate) fn holders<'a>(
    index: &'a [(u64, u32)],
    addresses: &'a StrColumn,
    address: &'a str,
) -> impl Iterator<Item = u32> + 'a {
    let h = hash(address);
    let start = index.partition_point(|p| p.0 < h);
    index[start..]
        .iter()
        .take_while(move |p| p.0 == h)
        .map(|p| p.1)
        .filter(move |&o| {
            addresses
                .get(o as usize)
                .unwrap_or("")
                .split('\n')
                .any(|a| a == address)
        })
}

/// For each row in scope: how many other accounts hold its mail, and the one with the
/// smallest id.
pub(super) fn collisions(users: &Users, in_scope: &[u32]) -> Vec<(usize, Option<u32>)> {
    let addresses = &users.addresses;
    let pairs = address_index(addresses);
    let mail = users.table.columns[col::MAIL].text().expect("text column");
    let ids = users.table.columns[col::ID].text().expect("text column");
    in_scope
        .par_iter()
        .map(|&r| {
            let Some(m) = mail.get(r as usize).map(|m| m.trim().to_lowercase()) else {
                return (0, None);
            };
            if m.is_empty() {
                return (0, None);
            }
            let mut count = 0;
            let mut first: Option<u32> = None;
            for o in holders(&pairs, addresses, &m).filter(|&o| o != r) {
                count += 1;
                if first.is_none_or(|f| ids.get(o as usize) < ids.get(f as usize)) {
                    first = Some(o);
                }
            }
            (count, first)
        })
        .collect()
}

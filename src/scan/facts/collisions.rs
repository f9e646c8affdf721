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

/// The holders of one address: how many accounts hold it, and the two with the smallest ids
/// (the second names the other holder when the first is the account asking).
#[derive(Clone, Copy)]
struct Group {
    hash: u64,
    /// A pair of the group, to read its address back.
    sample: (u32, u32),
    count: u32,
    first: u32,
    second: Option<u32>,
}

/// The addresses of every account whose hash `wanted` keeps, with the row and the byte offset
/// of the address in the row's list, sorted by hash: 16 bytes an address.
fn located_addresses(
    addresses: &StrColumn,
    wanted: &(impl Fn(u64) -> bool + Sync),
) -> Vec<(u64, u32, u32)> {
    let mut pairs: Vec<(u64, u32, u32)> = (0..addresses.len())
        .into_par_iter()
        .flat_map_iter(|r| {
            let list = addresses.get(r).unwrap_or("");
            let starts = std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', list.as_bytes()).map(|i| i + 1));
            starts.filter_map(move |start| {
                let a = address_at(list, start as u32);
                let h = hash(a);
                (!a.is_empty() && wanted(h)).then_some((h, r as u32, start as u32))
            })
        })
        .collect();
    pairs.par_sort_unstable_by_key(|p| p.0);
    pairs
}

fn address_at(list: &str, offset: u32) -> &str {
    let rest = list.get(offset as usize..).unwrap_or("");
    rest.split('\n').next().unwrap_or("")
}

/// One pass over the sorted addresses: a group per distinct address with its count and its
/// two smallest ids. Linear in the number of addresses, whatever the size of a group.
fn groups(pairs: &[(u64, u32, u32)], addresses: &StrColumn, ids: &StrColumn) -> Vec<Group> {
    let text = |p: &(u64, u32, u32)| address_at(addresses.get(p.1 as usize).unwrap_or(""), p.2);
    let id = |r: u32| ids.get(r as usize);
    let mut out = Vec::new();
    let mut run_start = 0;
    while run_start < pairs.len() {
        let h = pairs[run_start].0;
        let run_end = run_start + pairs[run_start..].partition_point(|p| p.0 == h);
        let mut run: Vec<&(u64, u32, u32)> = pairs[run_start..run_end].iter().collect();
        // Different addresses with one hash are rare: only then sort the run by address.
        if run.iter().any(|p| text(p) != text(run[0])) {
            run.sort_by(|a, b| text(a).cmp(text(b)));
        }
        for same in run.chunk_by(|a, b| text(a) == text(b)) {
            let mut g = Group {
                hash: h,
                sample: (same[0].1, same[0].2),
                count: 0,
                first: same[0].1,
                second: None,
            };
            for p in same {
                g.count += 1;
                let r = p.1;
                if r == g.first {
                    continue;
                }
                if id(r) < id(g.first) {
                    g.second = Some(g.first);
                    g.first = r;
                } else if g.second.is_none_or(|s| id(r) < id(s)) {
                    g.second = Some(r);
                }
            }
            out.push(g);
        }
        run_start = run_end;
    }
    out
}

/// For each row in scope: how many other accounts hold its mail, and the one with the
/// smallest id. Accounts are grouped by address once, so the cost is linear in the number of
/// addresses, also when thousands of accounts share one.
pub(super) fn collisions(users: &Users, in_scope: &[u32]) -> Vec<(usize, Option<u32>)> {
    let addresses = &users.addresses;
    let mail = users.table.columns[col::MAIL].text().expect("text column");
    let ids = users.table.columns[col::ID].text().expect("text column");
    let mail_hash = |r: u32| {
        let m = mail.get(r as usize)?.trim().to_lowercase();
        (!m.is_empty()).then(|| hash(&m))
    };
    // Only the addresses some account in scope has as its mail can collide with it.
    let wanted: std::collections::HashSet<u64> =
        in_scope.par_iter().filter_map(|&r| mail_hash(r)).collect();
    let pairs = located_addresses(addresses, &|h| wanted.contains(&h));
    drop(wanted);
    let groups = groups(&pairs, addresses, ids);
    drop(pairs);
    let text = |g: &Group| address_at(addresses.get(g.sample.0 as usize).unwrap_or(""), g.sample.1);
    in_scope
        .par_iter()
        .map(|&r| {
            let Some(m) = mail.get(r as usize).map(|m| m.trim().to_lowercase()) else {
                return (0, None);
            };
            if m.is_empty() {
                return (0, None);
            }
            let h = hash(&m);
            let start = groups.partition_point(|g| g.hash < h);
            let Some(g) = groups[start..]
                .iter()
                .take_while(|g| g.hash == h)
                .find(|g| text(g) == m)
            else {
                return (0, None);
            };
            let holds = addresses
                .get(r as usize)
                .unwrap_or("")
                .split('\n')
                .any(|a| a == m);
            let count = g.count as usize - usize::from(holds);
            let other = if g.first == r {
                g.second
            } else {
                Some(g.first)
            };
            (count, other.filter(|_| count > 0))
        })
        .collect()
}

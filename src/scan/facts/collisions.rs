//! Who else holds an account's address: other users (mail, userPrincipalName, otherMails, smtp
//! proxy addresses), organizational contacts (mail, smtp proxies) and soft-deleted users (mail,
//! smtp proxies, the userPrincipalName they had). Addresses are hashed and sorted once and
//! grouped by address, so the cost is linear in the number of addresses, however many objects
//! share one; equal hashes are compared as text, so a hash collision can never invent a finding.

use rayon::prelude::*;

use crate::model::{StrColumn, user as col};
use crate::snapshot::tenant::TenantData;
use crate::snapshot::users::Users;

/// An address's hash, for grouping in this run only (nothing keeps it): foldhash, several
/// times faster than the standard library's SipHash on short strings. Fixed seeds, so the
/// grouping does not vary between runs; addresses that share a hash only cost a sort of their
/// run (see [`group`]).
fn hash(s: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(0).hash_one(s)
}

/// What holds an address besides the accounts themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderKind {
    User,
    Contact,
    DeletedUser,
}

impl HolderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HolderKind::User => "user",
            HolderKind::Contact => "contact",
            HolderKind::DeletedUser => "deleted-user",
        }
    }
}

/// The contacts and deleted users of a snapshot as address holders, in one compact table.
#[derive(Debug, Default)]
pub struct OtherHolders {
    kinds: Vec<HolderKind>,
    ids: StrColumn,
    labels: StrColumn,
    addresses: StrColumn,
}

impl OtherHolders {
    pub fn from_tenant(tenant: &TenantData) -> Self {
        let mut out = OtherHolders::default();
        for c in &tenant.contacts {
            let label = c.mail.as_deref().or(c.display_name.as_deref());
            out.push(
                HolderKind::Contact,
                c.id.as_deref(),
                label,
                c.mail
                    .as_deref()
                    .into_iter()
                    .chain(smtp(&c.proxy_addresses)),
            );
        }
        for d in &tenant.deleted_users {
            let upn = d.original_upn();
            let label = upn.or(d.mail.as_deref());
            out.push(
                HolderKind::DeletedUser,
                d.id.as_deref(),
                label,
                d.mail
                    .as_deref()
                    .into_iter()
                    .chain(upn)
                    .chain(smtp(&d.proxy_addresses)),
            );
        }
        out
    }

    fn push<'a>(
        &mut self,
        kind: HolderKind,
        id: Option<&str>,
        label: Option<&str>,
        addresses: impl Iterator<Item = &'a str>,
    ) {
        self.kinds.push(kind);
        self.ids.push(Some(id.unwrap_or("")));
        self.labels.push(label.or(id));
        self.addresses.push(Some(&address_list(addresses)));
    }

    fn len(&self) -> usize {
        self.kinds.len()
    }
}

fn smtp(proxies: &Option<Vec<String>>) -> impl Iterator<Item = &str> {
    proxies.iter().flatten().filter_map(|p| {
        let (scheme, address) = p.split_once(':')?;
        scheme.eq_ignore_ascii_case("smtp").then_some(address)
    })
}

/// Addresses trimmed, lower-case, sorted, de-duplicated, joined by `\n`.
pub(crate) fn address_list<'a>(addresses: impl Iterator<Item = &'a str>) -> String {
    let mut list: Vec<String> = addresses
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .collect();
    list.sort_unstable();
    list.dedup();
    list.join("\n")
}

/// Every holder of addresses, numbered: the accounts first, then the other holders.
#[derive(Clone, Copy)]
pub struct Book<'a> {
    pub users: &'a Users,
    pub others: &'a OtherHolders,
}

/// One holder, as evidence names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder<'a> {
    pub kind: HolderKind,
    pub id: &'a str,
    pub label: &'a str,
}

impl<'a> Book<'a> {
    fn user_count(&self) -> usize {
        self.users.len()
    }

    fn len(&self) -> usize {
        self.user_count() + self.others.len()
    }

    pub fn addresses(&self, g: u32) -> &'a str {
        let g = g as usize;
        let n = self.user_count();
        if g < n {
            self.users.addresses.get(g).unwrap_or("")
        } else {
            self.others.addresses.get(g - n).unwrap_or("")
        }
    }

    pub fn holds(&self, g: u32, address: &str) -> bool {
        self.addresses(g).split('\n').any(|a| a == address)
    }

    pub fn id(&self, g: u32) -> &'a str {
        let g = g as usize;
        let n = self.user_count();
        if g < n {
            let ids = self.users.table.columns[col::ID]
                .text()
                .expect("text column");
            ids.get(g).unwrap_or("")
        } else {
            self.others.ids.get(g - n).unwrap_or("")
        }
    }

    pub fn holder(&self, g: u32) -> Holder<'a> {
        let gi = g as usize;
        let n = self.user_count();
        if gi < n {
            let upn = self.users.table.columns[col::UPN]
                .text()
                .expect("text column");
            let id = self.id(g);
            Holder {
                kind: HolderKind::User,
                id,
                label: upn.get(gi).filter(|u| !u.is_empty()).unwrap_or(id),
            }
        } else {
            let o = gi - n;
            Holder {
                kind: self.others.kinds[o],
                id: self.others.ids.get(o).unwrap_or(""),
                label: self.others.labels.get(o).unwrap_or(""),
            }
        }
    }

    /// Every holder of `address`, by a scan of all of them: the slow path, for the rare case
    /// the summary of a group cannot answer.
    pub fn scan_holders(&self, address: &str) -> Vec<u32> {
        (0..self.len() as u32)
            .into_par_iter()
            .filter(|&g| self.holds(g, address))
            .collect()
    }
}

/// The holders of one address: how many objects hold it, and the two with the smallest ids
/// (the second names the other holder when the first is the account asking).
#[derive(Debug, Clone, Copy)]
pub struct Group {
    hash: u64,
    /// A holder and the offset of the address in its list, to read the address back.
    sample: (u32, u32),
    pub count: u32,
    pub first: u32,
    pub second: Option<u32>,
}

/// Every address of a book grouped by address (only those whose hash `wanted` keeps), sorted
/// by hash. Lookups take the same book.
pub struct Groups {
    groups: Vec<Group>,
    /// Where the groups whose hash starts with each value of its top `bits` bits begin (one
    /// more entry for the end): a lookup reads one entry and one or two groups, where a
    /// binary search over them all missed the cache at every step.
    starts: Vec<u32>,
    bits: u32,
}

impl Groups {
    pub fn build(book: Book, wanted: &(impl Fn(u64) -> bool + Sync)) -> Self {
        let pairs = located_addresses(book, wanted);
        let groups = group(book, &pairs);
        // About one group per bucket: hashes are spread evenly.
        let bits = groups
            .len()
            .next_power_of_two()
            .trailing_zeros()
            .clamp(1, 32);
        let bucket = |h: u64| (h >> (64 - bits)) as usize;
        let mut starts = Vec::with_capacity((1 << bits) + 1);
        let mut i = 0;
        for b in 0..1usize << bits {
            while i < groups.len() && bucket(groups[i].hash) < b {
                i += 1;
            }
            starts.push(i as u32);
        }
        starts.push(groups.len() as u32);
        Groups {
            groups,
            starts,
            bits,
        }
    }

    /// The group of `address` (trimmed, lower-case), if any object of `book` holds it.
    pub fn find(&self, book: Book, address: &str) -> Option<&Group> {
        let h = hash(address);
        let b = (h >> (64 - self.bits)) as usize;
        let bucket = &self.groups[self.starts[b] as usize..self.starts[b + 1] as usize];
        // Sorted by hash within the bucket too: a search, however many share it.
        let start = bucket.partition_point(|g| g.hash < h);
        bucket[start..]
            .iter()
            .take_while(|g| g.hash == h)
            .find(|g| address_at(book.addresses(g.sample.0), g.sample.1) == address)
    }
}

/// The addresses of every holder whose hash `wanted` keeps, with the holder and the byte
/// offset of the address in its list, sorted by hash: 16 bytes an address.
fn located_addresses(book: Book, wanted: &(impl Fn(u64) -> bool + Sync)) -> Vec<(u64, u32, u32)> {
    let mut pairs: Vec<(u64, u32, u32)> = (0..book.len() as u32)
        .into_par_iter()
        .flat_map_iter(|g| {
            let list = book.addresses(g);
            let starts = std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', list.as_bytes()).map(|i| i + 1));
            starts.filter_map(move |start| {
                let a = address_at(list, start as u32);
                let h = hash(a);
                (!a.is_empty() && wanted(h)).then_some((h, g, start as u32))
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
fn group(book: Book, pairs: &[(u64, u32, u32)]) -> Vec<Group> {
    let text = |p: &(u64, u32, u32)| address_at(book.addresses(p.1), p.2);
    let mut out = Vec::new();
    let mut run_start = 0;
    while run_start < pairs.len() {
        let h = pairs[run_start].0;
        let run_end = run_start + pairs[run_start..].partition_point(|p| p.0 == h);
        // Most addresses have one holder: their group needs neither the text nor the ids.
        if run_end - run_start == 1 {
            let (_, holder, offset) = pairs[run_start];
            out.push(Group {
                hash: h,
                sample: (holder, offset),
                count: 1,
                first: holder,
                second: None,
            });
            run_start = run_end;
            continue;
        }
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
                if book.id(r) < book.id(g.first) {
                    g.second = Some(g.first);
                    g.first = r;
                } else if g.second.is_none_or(|s| book.id(r) < book.id(s)) {
                    g.second = Some(r);
                }
            }
            out.push(g);
        }
        run_start = run_end;
    }
    out
}

/// The trimmed, lower-case mail of a row; `None` when blank.
pub(crate) fn mail_key(mail: &StrColumn, r: usize) -> Option<String> {
    let m = mail.get(r)?.trim().to_lowercase();
    (!m.is_empty()).then_some(m)
}

/// For each row in scope: how many other objects hold its mail, and the one with the smallest
/// id (a holder number of `book`).
pub(super) fn collisions(book: Book, in_scope: &[u32]) -> Vec<(usize, Option<u32>)> {
    let mail = book.users.table.columns[col::MAIL]
        .text()
        .expect("text column");
    // Only the addresses some account in scope has as its mail can collide with it.
    let wanted: std::collections::HashSet<u64, foldhash::fast::FixedState> = in_scope
        .par_iter()
        .filter_map(|&r| mail_key(mail, r as usize).map(|m| hash(&m)))
        .collect();
    let groups = Groups::build(book, &|h| wanted.contains(&h));
    drop(wanted);
    in_scope
        .par_iter()
        .map(|&r| {
            let Some(m) = mail_key(mail, r as usize) else {
                return (0, None);
            };
            let Some(g) = groups.find(book, &m) else {
                return (0, None);
            };
            let count = g.count as usize - usize::from(book.holds(r, &m));
            let other = if g.first == r {
                g.second
            } else {
                Some(g.first)
            };
            (count, other.filter(|_| count > 0))
        })
        .collect()
}

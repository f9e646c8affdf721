//! Which directory objects hold which mail addresses, for the invitation's collision check:
//! users (mail, userPrincipalName, smtp proxyAddresses), contacts and soft-deleted users
//! (mail, smtp proxyAddresses). Built once when the tenant loads, then kept up to date edit
//! by edit, so no request reads every user.

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;

/// An object holding addresses: a user of the store (by its line), or a contact or deleted
/// user of the snapshot (by its place in `AddressIndex::fixed`), which never changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Holder {
    User(u32),
    Fixed(u32),
}

pub(super) struct AddressIndex {
    /// (hash of the lower-cased address, holder). A hash stands in for the text so that a
    /// million users' addresses stay small; a hit is confirmed against the holder itself.
    entries: BTreeSet<(u64, Holder)>,
    /// The addresses of the snapshot's contacts and deleted users, lower-cased.
    fixed: Vec<Vec<Box<str>>>,
}

/// An address as the index compares it: trimmed, ASCII lower-case; `None` when empty.
pub(super) fn normal(address: &str) -> Option<String> {
    let a = address.trim();
    (!a.is_empty()).then(|| a.to_ascii_lowercase())
}

/// The address of an SMTP proxy address (`SMTP:` primary or `smtp:` secondary), without its
/// prefix; other kinds (`x500:`, `sip:`) hold no mail address.
pub(super) fn smtp(proxy: &str) -> Option<&str> {
    let (kind, address) = proxy.split_once(':')?;
    kind.eq_ignore_ascii_case("smtp").then_some(address)
}

/// The addresses a contact or deleted user holds: its mail and smtp proxyAddresses.
pub(super) fn held_by(object: &Value) -> Vec<Box<str>> {
    let mail = object["mail"].as_str();
    let proxies = object["proxyAddresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(smtp);
    let mut all: Vec<Box<str>> = mail
        .into_iter()
        .chain(proxies)
        .filter_map(normal)
        .map(String::into_boxed_str)
        .collect();
    all.sort();
    all.dedup();
    all
}

fn key(address: &str) -> u64 {
    let mut h = DefaultHasher::new();
    address.hash(&mut h);
    h.finish()
}

impl AddressIndex {
    /// The index of the fixed objects' addresses and of `users`' (line, addresses).
    pub(super) fn new(
        fixed: Vec<Vec<Box<str>>>,
        users: impl Iterator<Item = (u32, Vec<String>)>,
    ) -> Self {
        let mut entries: Vec<(u64, Holder)> = Vec::new();
        for (i, addresses) in fixed.iter().enumerate() {
            let holder = Holder::Fixed(i as u32);
            entries.extend(addresses.iter().map(|a| (key(a), holder)));
        }
        for (line, addresses) in users {
            entries.extend(addresses.iter().map(|a| (key(a), Holder::User(line))));
        }
        // Sorted first, the set is built in one pass.
        entries.sort_unstable();
        Self {
            entries: entries.into_iter().collect(),
            fixed,
        }
    }

    pub(super) fn add(&mut self, holder: Holder, addresses: &[String]) {
        for a in addresses {
            self.entries.insert((key(a), holder));
        }
    }

    pub(super) fn remove(&mut self, holder: Holder, addresses: &[String]) {
        for a in addresses {
            self.entries.remove(&(key(a), holder));
        }
    }

    /// The objects that may hold `address` (lower-cased): every one that does, and, rarely,
    /// one whose address only shares the hash. `Holder::Fixed` ones are already confirmed.
    pub(super) fn candidates(&self, address: &str) -> Vec<Holder> {
        let k = key(address);
        self.entries
            .range((k, Holder::User(0))..=(k, Holder::Fixed(u32::MAX)))
            .map(|(_, h)| *h)
            .filter(|h| match h {
                Holder::User(_) => true,
                Holder::Fixed(i) => self
                    .fixed
                    .get(*i as usize)
                    .is_some_and(|held| held.iter().any(|a| **a == *address)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contacts_hold_their_mail_and_smtp_proxies_only() {
        let contact = json!({"mail": " Ap@Adatum.com ", "proxyAddresses":
            ["SMTP:ap@adatum.com", "smtp:billing@adatum.com", "x500:/o=adatum"]});
        let held = held_by(&contact);
        assert_eq!(
            held,
            vec!["ap@adatum.com".into(), "billing@adatum.com".into()]
        );
        let index = AddressIndex::new(vec![held], std::iter::empty());
        assert_eq!(
            index.candidates("billing@adatum.com"),
            vec![Holder::Fixed(0)]
        );
        assert!(index.candidates("/o=adatum").is_empty());
    }

    #[test]
    fn users_are_added_and_removed_by_line() {
        let mut index = AddressIndex::new(vec![], [(3, vec!["a@x.com".to_owned()])].into_iter());
        index.add(Holder::User(5), &["a@x.com".to_owned()]);
        assert_eq!(
            index.candidates("a@x.com"),
            vec![Holder::User(3), Holder::User(5)]
        );
        index.remove(Holder::User(3), &["a@x.com".to_owned()]);
        assert_eq!(index.candidates("a@x.com"), vec![Holder::User(5)]);
    }
}

//! The served users, mutable: their JSON lines as the snapshot has them, an index by id, a
//! mark per line for soft-deleted and removed users, the address index of `addresses`, and
//! the pending invitations of `accept`. An edit replaces a user's line, so pages stay a copy
//! of text; a line keeps its place for good, so page offsets stay valid.

use std::collections::{HashMap, HashSet};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::accept::{Pending, is_pending, rfc3339};
use super::addresses::{AddressIndex, Holder};
use super::keys::Keys;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Live,
    /// Soft-deleted: restorable, still holding its addresses, answered 404.
    Deleted,
    /// Removed for good: nothing refers to the line any more.
    Removed,
}

pub struct Users {
    store: RwLock<Store>,
}

pub(super) struct Store {
    lines: Vec<Box<str>>,
    marks: Vec<Mark>,
    /// Lower-cased id → line.
    by_id: HashMap<Box<str>, u32>,
    index: AddressIndex,
    pending: Pending,
    /// Lower-cased ids the snapshot's convertedUsers lists as converted from external.
    converted: HashSet<String>,
    /// The change count when each line last changed (0: as loaded), for `/users/delta`.
    versions: Vec<u64>,
    /// Changes so far: a delta token is the count it was issued at.
    changes: u64,
    /// The ids of lines removed for good, which the line no longer holds.
    removed_ids: HashMap<u32, Box<str>>,
    /// Delta tokens issued before this count are refused, and how (a test switch).
    pub(super) delta_floor: Option<(u64, super::delta::Refusal)>,
}

impl Users {
    /// The store of `lines`, indexed with the addresses of `fixed` (contacts and deleted
    /// users) and knowing the `converted` ids.
    pub(super) fn load(
        lines: Vec<Box<str>>,
        fixed: Vec<Vec<Box<str>>>,
        converted: HashSet<String>,
    ) -> Self {
        let now = Instant::now();
        let mut by_id = HashMap::with_capacity(lines.len());
        let mut pending = Pending::default();
        // Each line's addresses go to the index as it is read: kept for all lines first, they
        // would cost more than the index itself.
        let held = lines.iter().enumerate().map(|(i, line)| {
            let keys = Keys::of(line);
            let i = i as u32;
            if let Some(id) = keys.id {
                by_id.entry(id.to_ascii_lowercase().into()).or_insert(i);
            }
            pending.track(i, false, is_pending(keys.state.as_deref()), now);
            (i, keys.addresses)
        });
        let index = AddressIndex::new(fixed, held);
        let marks = vec![Mark::Live; lines.len()];
        let versions = vec![0; lines.len()];
        Users {
            store: RwLock::new(Store {
                lines,
                marks,
                by_id,
                index,
                pending,
                converted,
                versions,
                changes: 0,
                removed_ids: HashMap::new(),
                delta_floor: None,
            }),
        }
    }

    // A panic while a request held the lock leaves the store as whole as any edit does.
    pub(super) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Turns the invitations pending for `after` into acceptances. Cheap when none is due.
    pub(super) fn settle(&self, after: Duration, now: Instant) {
        if self.read().pending.due(after, now) {
            self.write().settle(after, now);
        }
    }
}

impl Store {
    /// The line of the user with this id (any case), soft-deleted or not.
    pub(super) fn find(&self, id: &str) -> Option<u32> {
        self.by_id.get(id.to_ascii_lowercase().as_str()).copied()
    }

    /// The line of the user with this id, unless it is deleted.
    pub(super) fn live(&self, id: &str) -> Option<u32> {
        self.find(id).filter(|i| self.is_live(*i))
    }

    pub(super) fn is_live(&self, line: u32) -> bool {
        self.marks.get(line as usize) == Some(&Mark::Live)
    }

    pub(super) fn is_deleted(&self, line: u32) -> bool {
        self.marks.get(line as usize) == Some(&Mark::Deleted)
    }

    pub(super) fn line(&self, line: u32) -> &str {
        self.lines.get(line as usize).map_or("null", |l| l)
    }

    /// The user as an object (a line that is not one reads as an empty object).
    pub(super) fn object(&self, line: u32) -> Map<String, Value> {
        serde_json::from_str(self.line(line)).unwrap_or_default()
    }

    /// The live users among the lines from `offset`, `top` lines on, each as `show` writes
    /// it, and how many lines there are. Deleted users leave the page shorter.
    pub(super) fn page(
        &self,
        offset: usize,
        top: usize,
        show: impl Fn(&str) -> String,
    ) -> (Vec<String>, usize) {
        let end = offset.saturating_add(top).min(self.lines.len());
        let start = offset.min(end);
        let shown = self.lines[start..end]
            .iter()
            .zip(&self.marks[start..end])
            .filter(|(_, m)| **m == Mark::Live)
            .map(|(l, _)| show(l))
            .collect();
        (shown, self.lines.len())
    }

    /// Sets each property of `changes` on the user (null removes it).
    pub(super) fn edit(&mut self, line: u32, changes: &Map<String, Value>, now: Instant) {
        let mut object = self.object(line);
        for (k, v) in changes {
            match v {
                Value::Null => object.remove(k),
                v => object.insert(k.clone(), v.clone()),
            };
        }
        if changes.contains_key("externalUserConvertedOn")
            && let Some(id) = Keys::of(self.line(line)).id
        {
            // A test that clears the property clears what the snapshot said too.
            self.converted.remove(&id.to_ascii_lowercase());
        }
        self.rewrite(line, object, now);
    }

    /// Records that a line changed, for `/users/delta`.
    fn touch(&mut self, line: u32) {
        self.changes += 1;
        if let Some(v) = self.versions.get_mut(line as usize) {
            *v = self.changes;
        }
    }

    /// Makes every delta token issued so far answer `how` (a test switch).
    pub(super) fn expire_delta_tokens(&mut self, how: super::delta::Refusal) {
        self.changes += 1;
        self.delta_floor = Some((self.changes, how));
    }

    /// The change count now: what a delta token issued now holds.
    pub(super) fn changes(&self) -> u64 {
        self.changes
    }

    /// The lines changed after `since`, in line order.
    pub(super) fn changed_since(&self, since: u64) -> Vec<u32> {
        (0..self.lines.len() as u32)
            .filter(|&i| self.versions[i as usize] > since)
            .collect()
    }

    /// A changed line as `/users/delta` reports it: the live user as `show` writes it, or its
    /// id with `@removed` (`changed` when soft-deleted and restorable, `deleted` when gone for
    /// good).
    pub(super) fn delta_item(&self, line: u32, show: impl Fn(&str) -> String) -> Option<String> {
        let removed = |id: &str, reason: &str| {
            serde_json::json!({"id": id, "@removed": {"reason": reason}}).to_string()
        };
        let i = line as usize;
        match self.marks.get(i)? {
            Mark::Live => Some(show(&self.lines[i])),
            Mark::Deleted => Keys::of(&self.lines[i])
                .id
                .map(|id| removed(&id, "changed")),
            Mark::Removed => self.removed_ids.get(&line).map(|id| removed(id, "deleted")),
        }
    }

    /// Replaces a line, keeping the address index and the pending invitations right.
    fn rewrite(&mut self, line: u32, object: Map<String, Value>, now: Instant) {
        self.touch(line);
        let Some(slot) = self.lines.get_mut(line as usize) else {
            return;
        };
        let old = Keys::of(slot);
        let text = Value::Object(object).to_string();
        let new = Keys::of(&text);
        *slot = text.into_boxed_str();
        self.index.remove(Holder::User(line), &old.addresses);
        self.index.add(Holder::User(line), &new.addresses);
        let (was, is) = (
            is_pending(old.state.as_deref()),
            is_pending(new.state.as_deref()),
        );
        self.pending.track(line, was, is, now);
    }

    /// Soft-deletes (`true`) or restores (`false`) a user. A deleted user keeps its addresses.
    pub(super) fn set_deleted(&mut self, line: u32, deleted: bool) {
        if let Some(mark) = self.marks.get_mut(line as usize)
            && *mark != Mark::Removed
        {
            *mark = if deleted { Mark::Deleted } else { Mark::Live };
            self.touch(line);
        }
    }

    /// Adds a user object; it needs a string id no other user has.
    pub(super) fn insert(
        &mut self,
        object: Map<String, Value>,
        now: Instant,
    ) -> Result<String, String> {
        let Some(id) = object.get("id").and_then(Value::as_str).map(str::to_owned) else {
            return Err("The user object needs an 'id' string.".into());
        };
        if self.find(&id).is_some() {
            return Err(format!(
                "Another object with the same value for property id already exists: '{id}'."
            ));
        }
        let line = self.lines.len() as u32;
        self.lines.push("{}".into());
        self.marks.push(Mark::Live);
        self.versions.push(0);
        self.by_id.insert(id.to_ascii_lowercase().into(), line);
        self.rewrite(line, object, now);
        Ok(id)
    }

    /// Removes a user for good: its id and addresses are free again.
    pub(super) fn remove(&mut self, line: u32, now: Instant) {
        let keys = Keys::of(self.line(line));
        self.index.remove(Holder::User(line), &keys.addresses);
        self.pending.track(line, true, false, now);
        if let Some(id) = keys.id {
            self.by_id.remove(id.to_ascii_lowercase().as_str());
            self.removed_ids.insert(line, id.into());
        }
        self.touch(line);
        if let (Some(mark), Some(text)) = (
            self.marks.get_mut(line as usize),
            self.lines.get_mut(line as usize),
        ) {
            *mark = Mark::Removed;
            *text = "{}".into();
        }
    }

    /// The objects other than the user on `line` that hold `address` (lower-cased).
    pub(super) fn other_holders(&self, address: &str, line: u32) -> Vec<Holder> {
        self.index
            .candidates(address)
            .into_iter()
            .filter(|h| match h {
                Holder::User(other) => {
                    *other != line
                        && self.marks.get(*other as usize) != Some(&Mark::Removed)
                        && Keys::of(self.line(*other))
                            .addresses
                            .iter()
                            .any(|a| a == address)
                }
                Holder::Fixed(_) => true,
            })
            .collect()
    }

    /// Whether the user was converted from external to internal earlier.
    pub(super) fn was_converted(&self, line: u32, object: &Map<String, Value>) -> bool {
        let stamped = object
            .get("externalUserConvertedOn")
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
        let listed = Keys::of(self.line(line))
            .id
            .is_some_and(|id| self.converted.contains(&id.to_ascii_lowercase()));
        stamped || listed
    }

    fn settle(&mut self, after: Duration, now: Instant) {
        for (line, accepted) in self.pending.take_due(after, now) {
            let still = is_pending(Keys::of(self.line(line)).state.as_deref());
            if still && self.marks.get(line as usize) != Some(&Mark::Removed) {
                let changes = json!({"externalUserState": "Accepted",
                    "externalUserStateChangeDateTime": rfc3339(accepted)});
                if let Value::Object(changes) = changes {
                    self.edit(line, &changes, now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(lines: &[Value], fixed: Vec<Vec<Box<str>>>) -> Users {
        let lines = lines.iter().map(|l| l.to_string().into()).collect();
        Users::load(lines, fixed, HashSet::new())
    }

    fn changes(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_address_index_follows_edits_deletions_and_removals() {
        let users = load(
            &[
                json!({"id": "A", "mail": "a@x.com", "proxyAddresses": ["smtp:alias@x.com"]}),
                json!({"id": "b", "mail": "b@x.com"}),
            ],
            vec![vec!["c@x.com".into()]],
        );
        let mut store = users.write();
        let a = store.live("a").expect("ids compare without case");
        let b = store.live("B").expect("b");
        assert_eq!(store.other_holders("alias@x.com", b), vec![Holder::User(a)]);
        assert!(store.other_holders("a@x.com", a).is_empty(), "not itself");
        store.edit(a, &changes(json!({"mail": "New@X.com"})), Instant::now());
        assert!(store.other_holders("a@x.com", b).is_empty());
        assert_eq!(store.other_holders("new@x.com", b), vec![Holder::User(a)]);
        store.set_deleted(a, true);
        assert_eq!(store.other_holders("new@x.com", b), vec![Holder::User(a)]);
        assert!(store.live("a").is_none());
        store.remove(a, Instant::now());
        assert!(store.other_holders("new@x.com", b).is_empty());
        assert!(store.find("a").is_none());
        assert_eq!(store.other_holders("c@x.com", b), vec![Holder::Fixed(0)]);
        let (page, len) = store.page(0, 10, str::to_owned);
        assert_eq!((page.len(), len), (1, 2), "removed lines keep their place");
    }

    #[test]
    fn pending_invitations_read_as_accepted_once_due() {
        let start = Instant::now();
        let users = load(
            &[json!({"id": "p", "externalUserState": "PendingAcceptance"})],
            vec![],
        );
        let after = Duration::from_millis(200);
        users.settle(after, start);
        let state = |users: &Users| users.read().object(0)["externalUserState"].clone();
        assert_eq!(state(&users), "PendingAcceptance");
        users.settle(after, Instant::now() + after);
        assert_eq!(state(&users), "Accepted");
        assert!(users.read().object(0)["externalUserStateChangeDateTime"].is_string());
    }
}

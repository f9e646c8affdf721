//! Two accounts with one id would make every later step ambiguous: the ids are checked
//! before anything else is derived from them.

use std::path::Path;

use crate::model::user as col;
use crate::snapshot::SnapshotError;
use crate::snapshot::users::Users;

/// The hash of an id without regard to ASCII case: object ids are GUIDs, and Graph treats
/// `ABC…` and `abc…` as the same object.
pub(super) fn hash_folded(id: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0).build_hasher();
    // Lower-cased a piece at a time on the stack: hashed in pieces, not byte by byte.
    for piece in id.as_bytes().chunks(64) {
        let mut folded = [0u8; 64];
        for (f, b) in folded.iter_mut().zip(piece) {
            *f = b.to_ascii_lowercase();
        }
        h.write(&folded[..piece.len()]);
    }
    h.finish()
}

/// (folded id hash, row) of every account, sorted.
pub(super) fn folded_id_index(users: &Users) -> Vec<(u64, u32)> {
    use rayon::prelude::*;
    let ids = users.table.columns[col::ID].text().expect("text column");
    let mut keyed: Vec<(u64, u32)> = (0..users.len())
        .into_par_iter()
        .map(|r| (hash_folded(ids.get(r).unwrap_or("")), r as u32))
        .collect();
    keyed.par_sort_unstable();
    keyed
}

/// Ids are hashed and the hashes sorted in parallel; equal hashes are then compared as
/// strings.
pub(super) fn check(users: &Users, path: &Path) -> Result<(), SnapshotError> {
    let ids = users.table.columns[col::ID].text().expect("text column");
    let keyed = folded_id_index(users);
    let mut duplicate: Option<(u64, u64, &str)> = None;
    for pair in keyed.windows(2) {
        let (a, b) = (pair[0].1 as usize, pair[1].1 as usize);
        let same = |x: Option<&str>, y: Option<&str>| {
            x.unwrap_or("").eq_ignore_ascii_case(y.unwrap_or(""))
        };
        if pair[0].0 == pair[1].0 && same(ids.get(a), ids.get(b)) {
            let (first, second) = (
                users.lines[a].min(users.lines[b]),
                users.lines[a].max(users.lines[b]),
            );
            // Report the duplicate met first in the file, whatever the hash order.
            if duplicate.is_none_or(|(f, _, _)| first < f) {
                duplicate = Some((first, second, ids.get(a).unwrap_or("")));
            }
        }
    }
    match duplicate {
        Some((first, second, id)) => Err(SnapshotError::DuplicateId {
            path: path.to_owned(),
            id: id.to_owned(),
            first,
            second,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_that_differ_only_in_ascii_case_hash_alike() {
        let long = "6F1D2A3B-4C5D-4E6F-8A9B-0C1D2E3F4A5B".repeat(3);
        for (a, b) in [
            (
                "6F1D2A3B-4C5D-4E6F-8A9B-0C1D2E3F4A5B",
                "6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
            ),
            (long.as_str(), &long.to_ascii_lowercase()),
        ] {
            assert_eq!(super::hash_folded(a), super::hash_folded(b));
        }
        assert_ne!(super::hash_folded("a-1"), super::hash_folded("a-2"));
    }
}

//! Random identifiers for the objects the simulator creates (new guests, invitations, their
//! redeem tickets), and the percent-encoding of Graph's redeem URLs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        // Without randomness a clock and a counter still tell each identifier apart, which is
        // all a test double needs of them.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let seed = nanos ^ NEXT.fetch_add(1, Ordering::SeqCst).rotate_left(32);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed.rotate_left(8 * (i as u32 % 8)) as u8) ^ (i as u8);
        }
    }
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random (version 4) GUID, lower-case, as Graph writes object ids.
pub(super) fn guid() -> String {
    let mut b: [u8; 16] = random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    crate::model::guid(&b)
}

/// A redeem ticket: random, and safe in a URL as it is.
pub(super) fn ticket() -> String {
    hex(&random::<24>())
}

/// Percent-encodes everything but letters, digits and `-._~`, in lower-case hex as Graph's
/// redeem URLs have it.
pub(super) fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02x}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_version_4_and_differ() {
        let (a, b) = (guid(), guid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn redeem_urls_are_encoded_as_graph_does() {
        assert_eq!(escape("https://x/?a=1&b"), "https%3a%2f%2fx%2f%3fa%3d1%26b");
    }
}

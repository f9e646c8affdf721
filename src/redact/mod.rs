//! `--redact`: UPNs, mail addresses, display names and object ids replaced by stable
//! pseudonyms in every output. A pseudonym is an HMAC-SHA256 of the value under a secret key,
//! so the same person gets the same pseudonym in every run with the same key, and nobody
//! without the key can tell who it is (or try candidate addresses against it).
//!
//! The scan runs on the real values (verdicts, counts and rule hits do not change); the
//! account table and everything the review quotes are rewritten before any output is made,
//! and messages and evidence are rendered from the rewritten table.
//! - Identifier columns are replaced whole: ids by a GUID-shaped pseudonym, addresses by
//!   `u-<hex>@<domain>` (the domain kept with `--redact-keep-domains`, else `d-<hex>.example`),
//!   display names by `Person <hex>`.
//! - Every other text cell has the account's own identifiers replaced where they occur, then
//!   anything still shaped like an address or a GUID.

use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

mod scan;

/// The environment variable that may hold the key.
pub const KEY_ENV: &str = "B2BREADY_REDACT_KEY";
/// The shortest key accepted, in bytes.
pub const MIN_KEY: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error(
        "--redact needs a key: set {KEY_ENV} or pass --redact-key-file FILE (at least {MIN_KEY} bytes)"
    )]
    NoKey,
    #[error("the redaction key is {0} bytes; it needs at least {MIN_KEY}")]
    Short(usize),
    #[error("cannot read the redaction key file {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The flags of `scan` and `diff` that turn redaction on.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RedactFlags {
    /// Replace UPNs, mail addresses, display names and object ids in every output by stable
    /// pseudonyms (keyed: B2BREADY_REDACT_KEY or --redact-key-file); counts and verdicts stay.
    #[arg(long)]
    pub redact: bool,
    /// The redaction key (at least 16 bytes), instead of B2BREADY_REDACT_KEY.
    #[arg(long, value_name = "FILE")]
    pub redact_key_file: Option<std::path::PathBuf>,
    /// With --redact, keep the domains of addresses.
    #[arg(long)]
    pub redact_keep_domains: bool,
}

impl RedactFlags {
    /// The redactor the flags or the config (`redact = true`, `redact-keep-domains = true`)
    /// ask for, if any.
    pub fn redactor(
        &self,
        config: Option<&crate::config::Config>,
    ) -> Result<Option<Redactor>, RedactError> {
        let on = self.redact || config.is_some_and(|c| c.redact == Some(true));
        if !on {
            return Ok(None);
        }
        let keep =
            self.redact_keep_domains || config.is_some_and(|c| c.redact_keep_domains == Some(true));
        Redactor::from_key_source(self.redact_key_file.as_deref(), keep).map(Some)
    }
}

/// Makes pseudonyms under one key.
pub struct Redactor {
    mac: Hmac<Sha256>,
    keep_domains: bool,
}

impl Redactor {
    /// The key from `--redact-key-file`, else from `B2BREADY_REDACT_KEY`. Surrounding
    /// whitespace (a file's last newline) is not part of it.
    pub fn from_key_source(
        file: Option<&Path>,
        keep_domains: bool,
    ) -> Result<Redactor, RedactError> {
        let key = match file {
            Some(path) => std::fs::read(path).map_err(|source| RedactError::Read {
                path: path.to_owned(),
                source,
            })?,
            None => std::env::var_os(KEY_ENV)
                .ok_or(RedactError::NoKey)?
                .into_encoded_bytes(),
        };
        let key = key.trim_ascii();
        if key.len() < MIN_KEY {
            return Err(RedactError::Short(key.len()));
        }
        Ok(Redactor::new(key, keep_domains))
    }

    pub fn new(key: &[u8], keep_domains: bool) -> Redactor {
        Redactor {
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length"),
            keep_domains,
        }
    }

    fn digest(&self, kind: &str, value: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.to_lowercase().as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn hex(&self, kind: &str, value: &str, bytes: usize) -> String {
        crate::snapshot::lines::hex(&self.digest(kind, value)[..bytes])
    }

    /// An object id: the same shape, another value.
    pub fn id(&self, id: &str) -> String {
        let digest = self.digest("id", id);
        let mut b = [0u8; 16];
        b.copy_from_slice(&digest[..16]);
        crate::model::guid(&b)
    }

    pub fn domain(&self, domain: &str) -> String {
        if self.keep_domains {
            domain.to_lowercase()
        } else {
            format!("d-{}.example", self.hex("domain", domain, 5))
        }
    }

    /// An address (or anything held where one belongs): `u-<hex>@<domain>`.
    pub fn address(&self, value: &str) -> String {
        let local = self.hex("address", value.trim(), 6);
        match value.trim().rsplit_once('@') {
            Some((_, domain)) if !domain.is_empty() => format!("u-{local}@{}", self.domain(domain)),
            _ => format!("u-{local}"),
        }
    }

    /// A display name, keyed by the account's id.
    pub fn name(&self, id: &str) -> String {
        format!("Person {}", self.hex("name", id, 4))
    }

    /// Free text: addresses and GUIDs in it replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            // Punctuation that ends a sentence or clause is not part of the value.
            let core = word.trim_end_matches(['.', '-', '\'', '!', '?', '#', '&', '*', '/', '|']);
            let tail = &word[core.len()..];
            if core.contains('@') && core.len() > 2 {
                out.push_str(&self.address(core));
            } else if is_guid(core) {
                out.push_str(&self.id(core));
            } else {
                out.push_str(core);
            }
            out.push_str(tail);
            word.clear();
        };
        for c in text.chars() {
            if c.is_alphanumeric() || "@._%+-#'!$&*/=?^`{|}~".contains(c) {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }
}

fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_keyed_and_shaped_like_the_value() {
        let a = Redactor::new(b"0123456789abcdef", false);
        let b = Redactor::new(b"fedcba9876543210", false);
        let id = "0a2208c4-a3f3-4fc2-9c99-552f5b09c32b";
        assert_eq!(a.id(id), a.id(&id.to_uppercase()));
        assert_ne!(a.id(id), b.id(id));
        assert!(is_guid(&a.id(id)));
        let mail = a.address("Bob.Smith@Adatum.com");
        assert_eq!(mail, a.address("bob.smith@adatum.com"));
        assert!(
            mail.starts_with("u-") && mail.ends_with(".example"),
            "{mail}"
        );
        let kept = Redactor::new(b"0123456789abcdef", true).address("bob@adatum.com");
        assert!(kept.ends_with("@adatum.com"), "{kept}");
        let text = a.text(&format!("mail bob@adatum.com collides with {id}."));
        assert!(!text.contains("bob") && !text.contains(id), "{text}");
        assert!(text.ends_with('.'));
        // The same value, at the end of a sentence or not, gets the same pseudonym.
        assert_eq!(
            a.text("bob@adatum.com."),
            format!("{}.", a.text("bob@adatum.com"))
        );
        assert_eq!(a.text(id), a.id(id));
    }
}

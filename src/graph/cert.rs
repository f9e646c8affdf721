//! Client certificates: a PEM file (key and certificate) or a PKCS#12 archive, turned into the
//! signed client assertion the token endpoint accepts in place of a secret, in the form Entra
//! documents today: a PS256 JWT (RSA-PSS with SHA-256) whose `x5t#S256` is the certificate's
//! SHA-256 thumbprint, with a random `jti` per assertion. Signing is aws-lc-rs's, the crypto
//! library the TLS stack already uses.

use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PSS_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::Digest as _;

use super::GraphError;

/// A private key and its certificate's thumbprint. `Debug` shows neither key nor secret.
#[derive(Clone)]
pub struct ClientCertificate {
    key: Arc<RsaKeyPair>,
    /// base64url of the certificate's SHA-256 thumbprint.
    pub x5t_s256: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientCertificate(x5t#S256 {})", self.x5t_s256)
    }
}

/// The DER bytes of every `-----BEGIN {label}-----` block of a PEM text.
pub fn pem_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let Some(stop) = after.find(&end) else { break };
        let body: String = after[..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = STANDARD.decode(body) {
            out.push(der);
        }
        rest = &after[stop + end.len()..];
    }
    out
}

/// base64url of the SHA-256 of a certificate's DER bytes (`x5t#S256`).
pub fn thumbprint(cert_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(cert_der))
}

fn rsa_key(der: &[u8], pkcs8: bool) -> Result<RsaKeyPair, String> {
    let key = if pkcs8 {
        RsaKeyPair::from_pkcs8(der)
    } else {
        RsaKeyPair::from_der(der)
    };
    key.map_err(|e| format!("private key: not an RSA key this build can use ({e})"))
}

impl ClientCertificate {
    /// Loads `AZURE_CLIENT_CERTIFICATE_PATH`: PEM with the key and the certificate, or PKCS#12
    /// with `AZURE_CLIENT_CERTIFICATE_PASSWORD`.
    pub fn load(path: &Path, password: Option<&str>) -> Result<Self, GraphError> {
        let bad = |m: String| GraphError::Config(format!("{}: {m}", path.display()));
        let bytes = crate::files::read_bounded(path, crate::files::MIB)
            .map_err(|e| bad(format!("cannot read it: {e}")))?;
        let (key, cert) = match std::str::from_utf8(&bytes) {
            Ok(text) if text.contains("-----BEGIN") => {
                let cert = pem_blocks(text, "CERTIFICATE")
                    .into_iter()
                    .next()
                    .ok_or_else(|| bad("holds no CERTIFICATE block".into()))?;
                let key = if let Some(der) = pem_blocks(text, "PRIVATE KEY").into_iter().next() {
                    rsa_key(&der, true).map_err(bad)?
                } else if let Some(der) = pem_blocks(text, "RSA PRIVATE KEY").into_iter().next() {
                    rsa_key(&der, false).map_err(bad)?
                } else {
                    return Err(bad("holds no unencrypted RSA private key".into()));
                };
                (key, cert)
            }
            _ => {
                let store = p12_keystore::KeyStore::from_pkcs12(
                    &bytes,
                    password.unwrap_or(""),
                    p12_keystore::Pkcs12ImportPolicy::Relaxed,
                )
                .map_err(|e| bad(format!("not a PKCS#12 archive this password opens: {e}")))?;
                let (_, chain) = store
                    .private_key_chain()
                    .ok_or_else(|| bad("holds no private key".into()))?;
                let cert = chain
                    .certs()
                    .first()
                    .ok_or_else(|| bad("holds no certificate for its key".into()))?
                    .as_der()
                    .to_vec();
                let key = rsa_key(chain.key().as_der(), true).map_err(bad)?;
                (key, cert)
            }
        };
        Ok(Self {
            key: Arc::new(key),
            x5t_s256: thumbprint(&cert),
        })
    }

    /// A client assertion for the token endpoint `audience`, valid for ten minutes.
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<String, GraphError> {
        let failed =
            |what: &str| GraphError::Auth(format!("cannot sign the client assertion: {what}"));
        let now = super::unix_now();
        let header = serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": self.x5t_s256});
        let claims = serde_json::json!({"aud": audience, "iss": client_id, "sub": client_id,
            "jti": random_uuid().ok_or_else(|| failed("no randomness for its jti"))?,
            "nbf": now, "iat": now, "exp": now + 600});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PSS_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| failed("the key refused to sign"))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// A random (version 4) UUID: each assertion's `jti` is unique, as Entra asks.
fn random_uuid() -> Option<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).ok()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

#[cfg(test)]
mod tests {
    use super::random_uuid;

    #[test]
    fn every_jti_is_a_fresh_uuid() {
        let a = random_uuid().expect("uuid");
        let b = random_uuid().expect("uuid");
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }
}

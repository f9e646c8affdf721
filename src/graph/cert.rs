//! Client certificates: a PEM file (key and certificate) or a PKCS#12 archive, turned into the
//! signed client assertion (an RS256 JWT whose `x5t` names the certificate) that the token
//! endpoint accepts in place of a secret.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use sha1::Digest as _;

use super::GraphError;

/// A private key and its certificate's thumbprint. `Debug` shows neither key nor secret.
#[derive(Clone)]
pub struct ClientCertificate {
    key: RsaPrivateKey,
    /// base64url of the certificate's SHA-1 thumbprint.
    pub x5t: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientCertificate(x5t {})", self.x5t)
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

pub fn thumbprint(cert_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(cert_der))
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
                    RsaPrivateKey::from_pkcs8_der(&der)
                        .map_err(|e| bad(format!("private key: {e}")))?
                } else if let Some(der) = pem_blocks(text, "RSA PRIVATE KEY").into_iter().next() {
                    RsaPrivateKey::from_pkcs1_der(&der)
                        .map_err(|e| bad(format!("private key: {e}")))?
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
                let key = RsaPrivateKey::from_pkcs8_der(chain.key().as_der())
                    .map_err(|e| bad(format!("private key: {e}")))?;
                (key, cert)
            }
        };
        Ok(Self {
            key,
            x5t: thumbprint(&cert),
        })
    }

    /// A client assertion for the token endpoint `audience`, valid for ten minutes.
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<String, GraphError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let jti = format!(
            "{:032x}",
            u128::from(now) << 64 | u128::from(std::process::id())
        );
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t});
        let claims = serde_json::json!({"aud": audience, "iss": client_id, "sub": client_id,
            "jti": jti, "nbf": now, "iat": now, "exp": now + 600});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(self.key.clone());
        let signature = signer
            .try_sign(signing_input.as_bytes())
            .map_err(|e| GraphError::Auth(format!("cannot sign the client assertion: {e}")))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        ))
    }
}

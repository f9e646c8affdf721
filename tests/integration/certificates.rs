//! Certificate sign-in: the simulator takes exactly the client assertion Entra documents
//! today, so the export tests that sign in with a certificate prove b2bready sends that form.

use crate::common::{SIM_CLIENT, Simulator, contoso, fixtures, now};
use crate::export::CONTOSO;

/// Signs `claims` under `header` with the example client key, RSA-PSS or PKCS#1 v1.5.
fn signed(header: serde_json::Value, claims: serde_json::Value, pss: bool) -> String {
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair};
    use base64::Engine;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let pem = std::fs::read_to_string(fixtures().join("certs/client.pem")).expect("pem");
    let der = &b2bready::graph::cert::pem_blocks(&pem, "PRIVATE KEY")[0];
    let key = RsaKeyPair::from_pkcs8(der).expect("key");
    let input = format!("{}.{}", b64(&header), b64(&claims));
    let mut signature = vec![0; key.public_modulus_len()];
    let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = if pss {
        &RSA_PSS_SHA256
    } else {
        &RSA_PKCS1_SHA256
    };
    key.sign(
        padding,
        &aws_lc_rs::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .expect("sign");
    format!(
        "{input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature)
    )
}

/// The assertion b2bready signs must be the form Entra documents today, so the simulator takes
/// exactly that form: PS256, the certificate named by `x5t#S256`, a `jti`.
#[test]
fn the_simulator_takes_only_ps256_assertions_named_by_sha256_thumbprint() {
    let certs = fixtures().join("certs");
    let sim = Simulator::start(
        &contoso(),
        &[
            "--client-certificate",
            certs.join("cert.pem").to_str().expect("utf-8"),
        ],
    );
    let pem = std::fs::read_to_string(certs.join("cert.pem")).expect("pem");
    let thumbprint = b2bready::graph::cert::thumbprint(
        &b2bready::graph::cert::pem_blocks(&pem, "CERTIFICATE")[0],
    );
    let audience = format!("{}/{CONTOSO}/oauth2/v2.0/token", sim.url);
    let claims = |jti: bool| {
        let mut c = serde_json::json!({"aud": audience, "iss": SIM_CLIENT, "sub": SIM_CLIENT,
            "nbf": now(), "iat": now(), "exp": now() + 600});
        if jti {
            c["jti"] = "8f0c5b8e-2f4e-4a8e-9d1c-3e5b7a9c1d2f".into();
        }
        c
    };
    let status = |assertion: String| {
        reqwest::blocking::Client::new()
            .post(&audience)
            .form(&[
                ("client_id", SIM_CLIENT),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
                ("scope", &format!("{}/.default", sim.url)),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .expect("token request")
            .status()
            .as_u16()
    };
    let ps256 = serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": thumbprint});
    assert_eq!(status(signed(ps256.clone(), claims(true), true)), 200);
    assert_eq!(status(signed(ps256, claims(false), true)), 401, "no jti");
    let rs256 = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t#S256": thumbprint});
    assert_eq!(status(signed(rs256, claims(true), false)), 401, "RS256");
    let sha1_name = serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t": thumbprint});
    assert_eq!(status(signed(sha1_name, claims(true), true)), 401, "x5t");
}

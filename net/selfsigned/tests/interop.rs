//! Checks the generated key material against independent implementations:
//! the OpenSSL command line, `x509-parser` (+ ring for the signature), and a
//! real TLS handshake with rustls + rustls-rustcrypto, which is exactly how
//! the appliance uses the certificate.
//!
//! Tests that need `openssl` skip loudly if it is missing, unless CI is set,
//! in which case they fail (run tests/setup.sh first).

use selfsigned::{ed25519_dkim, self_signed, SelfSigned};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

const HOSTS: &[&str] = &["mail.example.org", "mx.example.org", "*.users.example.org"];

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A certificate valid from yesterday for a year, as the kernel would make.
fn current_cert(secret: [u8; 32]) -> (SelfSigned, u64, u64) {
    let nb = now() - 86_400;
    let na = nb + 366 * 86_400;
    (self_signed(HOSTS, nb, na, secret).unwrap(), nb, na)
}

fn secret(n: u8) -> [u8; 32] {
    let mut s = [0u8; 32];
    for (i, b) in s.iter_mut().enumerate() {
        *b = n.wrapping_mul(31).wrapping_add(i as u8).wrapping_mul(0x9d) ^ 0x5a;
    }
    s[0] &= 0x7f; // stay below the group order
    s
}

fn have_openssl() -> bool {
    let ok = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("openssl is required under CI (run net/selfsigned/tests/setup.sh)");
        }
        eprintln!("\n!!!!! SKIPPED: openssl not installed (run net/selfsigned/tests/setup.sh) !!!!!\n");
    }
    ok
}

struct TempDir(PathBuf);
impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("selfsigned-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run openssl; return (success, stdout, stderr).
fn openssl(args: &[&str], cwd: &Path) -> (bool, Vec<u8>, String) {
    let out = Command::new("openssl").args(args).current_dir(cwd).output().unwrap();
    (out.status.success(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn openssl_ok(args: &[&str], cwd: &Path) -> String {
    let (ok, stdout, stderr) = openssl(args, cwd);
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    assert!(ok, "openssl {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

#[test]
fn openssl_parses_certificate_fields() {
    if !have_openssl() {
        return;
    }
    let t = TempDir::new("fields");
    // 2023-11-14 22:13:20 UTC (UTCTime) to 2060-01-01 00:00:00 (GeneralizedTime).
    let c = self_signed(HOSTS, 1_700_000_000, 2_840_140_800, secret(1)).unwrap();
    t.write("cert.der", &c.cert_der);
    let text = openssl_ok(&["x509", "-noout", "-text", "-inform", "DER", "-in", "cert.der"], &t.0);
    for needle in [
        "Version: 3 (0x2)",
        "Signature Algorithm: ecdsa-with-SHA256",
        "Public Key Algorithm: id-ecPublicKey",
        "Public-Key: (256 bit)",
        "ASN1 OID: prime256v1",
        "X509v3 Subject Alternative Name: \n                DNS:mail.example.org, DNS:mx.example.org, DNS:*.users.example.org",
        "X509v3 Basic Constraints: critical\n                CA:FALSE",
        "X509v3 Key Usage: critical\n                Digital Signature\n",
        "X509v3 Extended Key Usage: \n                TLS Web Server Authentication\n",
        "X509v3 Subject Key Identifier:",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let fields = openssl_ok(
        &[
            "x509", "-noout", "-inform", "DER", "-in", "cert.der", "-nameopt", "RFC2253", "-subject", "-issuer",
            "-dates", "-serial",
        ],
        &t.0,
    );
    let lines: Vec<&str> = fields.lines().collect();
    assert_eq!(lines[0], "subject=CN=mail.example.org");
    assert_eq!(lines[1], "issuer=CN=mail.example.org");
    assert_eq!(lines[2], "notBefore=Nov 14 22:13:20 2023 GMT");
    assert_eq!(lines[3], "notAfter=Jan  1 00:00:00 2060 GMT");
    let serial = lines[4].strip_prefix("serial=").unwrap();
    assert_eq!(serial.len(), 40, "20-octet serial: {serial}");
    // The parser in openssl also re-encodes losslessly: DER -> DER round trip.
    openssl_ok(&["x509", "-inform", "DER", "-in", "cert.der", "-outform", "DER", "-out", "re.der"], &t.0);
    assert_eq!(std::fs::read(t.0.join("re.der")).unwrap(), c.cert_der);
}

#[test]
fn openssl_verifies_self_signature_and_key() {
    if !have_openssl() {
        return;
    }
    let t = TempDir::new("verify");
    let (c, _, _) = current_cert(secret(2));
    t.write("cert.pem", c.cert_pem().as_bytes());
    t.write("key.pem", c.key_pem().as_bytes());
    let out = openssl_ok(
        &["verify", "-check_ss_sig", "-partial_chain", "-purpose", "sslserver", "-CAfile", "cert.pem", "cert.pem"],
        &t.0,
    );
    assert_eq!(out.trim(), "cert.pem: OK");

    // A flipped bit in the signature must make the same check fail, so the
    // OK above really covers the signature.
    let mut bad = c.clone();
    let n = bad.cert_der.len();
    bad.cert_der[n - 2] ^= 0x01;
    t.write("bad.pem", bad.cert_pem().as_bytes());
    let (ok, _, _) = openssl(&["verify", "-check_ss_sig", "-partial_chain", "-CAfile", "bad.pem", "bad.pem"], &t.0);
    assert!(!ok, "corrupted signature accepted");

    let out = openssl_ok(&["pkey", "-in", "key.pem", "-check", "-noout"], &t.0);
    assert!(out.contains("Key is valid"), "{out}");
    // The key is the one in the certificate.
    let from_key = openssl_ok(&["pkey", "-in", "key.pem", "-pubout"], &t.0);
    let from_cert = openssl_ok(&["x509", "-in", "cert.pem", "-pubkey", "-noout"], &t.0);
    assert_eq!(from_key, from_cert);
    openssl_ok(&["x509", "-in", "cert.pem", "-noout", "-checkhost", "mx.example.org"], &t.0);
}

#[test]
fn x509_parser_reads_everything_back() {
    use x509_parser::prelude::*;
    let nb = 1_700_000_000;
    let na = 2_840_140_800;
    let c = self_signed(HOSTS, nb, na, secret(3)).unwrap();
    let (rest, x) = X509Certificate::from_der(&c.cert_der).unwrap();
    assert!(rest.is_empty());
    assert_eq!(x.version(), X509Version::V3);
    assert_eq!(x.raw_serial().len(), 20);
    assert!(x.raw_serial()[0] & 0x80 == 0 && x.raw_serial()[0] != 0);
    assert_eq!(x.signature_algorithm.algorithm.to_id_string(), "1.2.840.10045.4.3.2");
    assert!(x.signature_algorithm.parameters.is_none());
    assert_eq!(x.subject().to_string(), "CN=mail.example.org");
    assert_eq!(x.issuer(), x.subject());
    assert_eq!(x.validity().not_before.timestamp(), nb as i64);
    assert_eq!(x.validity().not_after.timestamp(), na as i64);
    let spki = x.public_key();
    assert_eq!(spki.algorithm.algorithm.to_id_string(), "1.2.840.10045.2.1");
    assert_eq!(spki.subject_public_key.data.as_ref(), &c.public_key_sec1[..]);

    let san = x.subject_alternative_name().unwrap().unwrap();
    assert!(!san.critical);
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|g| match g {
            GeneralName::DNSName(d) => d.to_string(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(names, HOSTS);
    let bc = x.basic_constraints().unwrap().unwrap();
    assert!(bc.critical && !bc.value.ca && bc.value.path_len_constraint.is_none());
    let ku = x.key_usage().unwrap().unwrap();
    assert!(ku.critical && ku.value.digital_signature() && ku.value.flags == 1);
    let eku = x.extended_key_usage().unwrap().unwrap();
    assert!(eku.value.server_auth && !eku.value.client_auth && eku.value.other.is_empty());
    assert_eq!(x.extensions().len(), 5);
    // ring verifies the self-signature.
    x.verify_signature(None).unwrap();

    // The PKCS#8 key parses with the p256 crate and matches.
    use p256::pkcs8::DecodePrivateKey;
    let sk = p256::SecretKey::from_pkcs8_der(&c.key_pkcs8_der).unwrap();
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    assert_eq!(sk.public_key().to_encoded_point(false).as_bytes(), &c.public_key_sec1[..]);
    let sk2 = p256::SecretKey::from_pkcs8_pem(&c.key_pem()).unwrap();
    assert_eq!(sk.to_bytes(), sk2.to_bytes());
    // And the PEM certificate decodes to the DER one.
    let (_, pem) = x509_parser::pem::parse_x509_pem(c.cert_pem().as_bytes()).unwrap();
    assert_eq!(pem.contents, c.cert_der);
}

/// Push all pending TLS bytes from one side to the other, in small pieces
/// to exercise fragmented records.
fn transfer(from: &mut impl DerefConn, to: &mut impl DerefConn) -> Result<usize, String> {
    let mut buf = Vec::new();
    while from.conn().wants_write() {
        from.conn().write_tls(&mut buf).unwrap();
    }
    let n = buf.len();
    for chunk in buf.chunks(7) {
        let mut rd: &[u8] = chunk;
        while !rd.is_empty() {
            to.conn().read_tls(&mut rd).unwrap();
        }
        to.conn().process_new_packets().map_err(|e| format!("{e:?}"))?;
    }
    Ok(n)
}

trait DerefConn {
    fn conn(&mut self) -> &mut rustls::ConnectionCommon<Self::Data>;
    type Data;
}
impl DerefConn for rustls::ClientConnection {
    type Data = rustls::client::ClientConnectionData;
    fn conn(&mut self) -> &mut rustls::ConnectionCommon<Self::Data> {
        self
    }
}
impl DerefConn for rustls::ServerConnection {
    type Data = rustls::server::ServerConnectionData;
    fn conn(&mut self) -> &mut rustls::ConnectionCommon<Self::Data> {
        self
    }
}

fn configs(
    c: &SelfSigned,
    version: &'static rustls::SupportedProtocolVersion,
) -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls_rustcrypto::provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(c.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(c.key_pkcs8_der.to_vec())),
        )
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(c.cert_der.clone())).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

fn handshake(
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    name: &str,
) -> Result<(rustls::ServerConnection, rustls::ClientConnection), String> {
    let mut s = rustls::ServerConnection::new(server).unwrap();
    let mut cl = rustls::ClientConnection::new(client, name.to_string().try_into().unwrap()).unwrap();
    for _ in 0..20 {
        let a = transfer(&mut cl, &mut s)?;
        let b = transfer(&mut s, &mut cl)?;
        if !s.is_handshaking() && !cl.is_handshaking() && a == 0 && b == 0 {
            return Ok((s, cl));
        }
    }
    Err("handshake did not finish".into())
}

#[test]
fn rustls_handshake_with_generated_cert_tls13_and_tls12() {
    let (c, _, _) = current_cert(secret(4));
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let (server, client) = configs(&c, version);
        for name in ["mail.example.org", "mx.example.org", "alice.users.example.org"] {
            let (mut s, mut cl) =
                handshake(server.clone(), client.clone(), name).unwrap_or_else(|e| panic!("{version:?} {name}: {e}"));
            assert_eq!(cl.protocol_version(), Some(version.version));
            assert_eq!(cl.peer_certificates().unwrap()[0].as_ref(), &c.cert_der[..], "client saw our certificate");
            // Application data both ways.
            cl.writer().write_all(b"EHLO client\r\n").unwrap();
            transfer(&mut cl, &mut s).unwrap();
            let mut got = [0u8; 13];
            s.reader().read_exact(&mut got).unwrap();
            assert_eq!(&got, b"EHLO client\r\n");
            s.writer().write_all(b"250 ok\r\n").unwrap();
            transfer(&mut s, &mut cl).unwrap();
            let mut got = [0u8; 8];
            cl.reader().read_exact(&mut got).unwrap();
            assert_eq!(&got, b"250 ok\r\n");
        }
        // A name not in subjectAltName is refused by the client.
        let err = handshake(server.clone(), client.clone(), "other.example.net").unwrap_err();
        assert!(err.contains("NotValidForName"), "{err}");
        // And a client trusting a different self-signed cert refuses ours.
        let (other, _, _) = current_cert(secret(5));
        let (_, other_client) = configs(&other, version);
        let err = handshake(server.clone(), other_client, "mail.example.org").unwrap_err();
        assert!(err.contains("UnknownIssuer") || err.contains("BadSignature"), "{err}");
    }
}

#[test]
fn dkim_key_is_accepted_by_openssl_and_matches_txt() {
    use base64ct::{Base64, Encoding};
    let k = ed25519_dkim(secret(6));
    let p = k.dns_txt.strip_prefix("v=DKIM1; k=ed25519; p=").expect("TXT prefix");
    let raw = Base64::decode_vec(p).unwrap();
    assert_eq!(raw, k.public_key);

    // ed25519-dalek reads the PKCS#8 back (DER and PEM) to the same key.
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let sk = ed25519_dalek::SigningKey::from_pkcs8_der(&k.key_pkcs8_der).unwrap();
    assert_eq!(sk.verifying_key().to_bytes(), k.public_key);
    let sk = ed25519_dalek::SigningKey::from_pkcs8_pem(&k.key_pem()).unwrap();
    assert_eq!(sk.verifying_key().to_bytes(), k.public_key);

    if !have_openssl() {
        return;
    }
    let t = TempDir::new("dkim");
    t.write("dkim.pem", k.key_pem().as_bytes());
    let text = openssl_ok(&["pkey", "-in", "dkim.pem", "-noout", "-text"], &t.0);
    assert!(text.contains("ED25519 Private-Key"), "{text}");
    // openssl's public key (SPKI DER, RFC 8410 4) ends with the raw 32 bytes
    // published in p=.
    let (ok, spki, err) = openssl(&["pkey", "-in", "dkim.pem", "-pubout", "-outform", "DER"], &t.0);
    assert!(ok, "{err}");
    assert_eq!(spki.len(), 44);
    assert_eq!(&spki[12..], &raw[..]);
    // A signature openssl makes with the key verifies against the TXT key.
    let msg = b"DKIM-Signature canonicalized header block";
    t.write("msg", msg);
    openssl_ok(&["pkeyutl", "-sign", "-rawin", "-inkey", "dkim.pem", "-in", "msg", "-out", "sig"], &t.0);
    let sig = std::fs::read(t.0.join("sig")).unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&raw.try_into().unwrap()).unwrap();
    vk.verify_strict(msg, &ed25519_dalek::Signature::from_slice(&sig).unwrap()).unwrap();
}

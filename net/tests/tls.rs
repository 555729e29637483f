mod common;
use std::sync::Arc;

use common::*;
use net::smoltcp::wire::{IpAddress, IpEndpoint};
use net::tls::*;
use net::NetError;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::time_provider::TimeProvider;

#[derive(Debug)]
struct SysTime;
impl TimeProvider for SysTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::now())
    }
}

fn self_signed(name: &str) -> (CertificateDer<'static>, String, String) {
    let ck = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    (ck.cert.der().clone(), ck.cert.pem(), ck.key_pair.serialize_pem())
}

fn key(pem_cert: &str, pem_key: &str) -> Arc<rustls::sign::CertifiedKey> {
    let chain = certs_from_pem(pem_cert.as_bytes()).unwrap();
    let k = key_from_pem(pem_key.as_bytes()).unwrap();
    certified_key(&provider(), chain, k).unwrap()
}

struct Setup {
    server_cfg: Arc<rustls::ServerConfig>,
    der_mx: CertificateDer<'static>,
    der_imap: CertificateDer<'static>,
}

fn setup() -> Setup {
    let (der_mx, c1, k1) = self_signed("mx.example.org");
    let (der_imap, c2, k2) = self_signed("imap.example.net");
    let mut r = SniResolver::new();
    r.add("mx.example.org", key(&c1, &k1));
    r.add("*.example.net", key(&c2, &k2));
    Setup { server_cfg: server_config(Arc::new(r), Arc::new(SysTime)).unwrap(), der_mx, der_imap }
}

/// Handshake, then `n` bytes each way; returns the certificate the client saw.
fn session(
    s: &Setup,
    v6: bool,
    sni: &str,
    verify: ClientVerify,
    n: usize,
) -> Result<CertificateDer<'static>, TlsError> {
    session_v(s, v6, sni, client_config(verify, Arc::new(SysTime)).unwrap(), n, rustls::ProtocolVersion::TLSv1_3)
}

fn session_v(
    s: &Setup,
    v6: bool,
    sni: &str,
    ccfg: Arc<rustls::ClientConfig>,
    n: usize,
    want: rustls::ProtocolVersion,
) -> Result<CertificateDer<'static>, TlsError> {
    let mut p = Pair::new();
    let l = p.a.listen(465, 2).unwrap();
    let addr = if v6 { IpAddress::Ipv6(A6) } else { IpAddress::Ipv4(A4) };
    let c = p.b.connect(IpEndpoint::new(addr, 465)).unwrap();
    assert!(p.run_until(5000, |p| p.b.is_established(c) && p.a.pending_accepts(l) == 1));
    let sc = p.a.accept(l).unwrap();
    let mut server = TlsStream::server(sc, s.server_cfg.clone(), TlsLimits::default()).unwrap();
    let mut client = TlsStream::client(c, ccfg, sni, TlsLimits::default()).unwrap();
    let up: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
    let down: Vec<u8> = (0..n).map(|i| (i * 13 % 253) as u8).collect();
    let (mut up_sent, mut down_sent) = (0, 0);
    let (mut up_got, mut down_got) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 3000];
    for _ in 0..100_000 {
        p.step(1);
        server.pump(&mut p.a)?;
        client.pump(&mut p.b)?;
        if up_sent < n {
            match client.write(&mut p.b, &up[up_sent..]) {
                Ok(k) => up_sent += k,
                Err(TlsError::Net(NetError::WouldBlock)) => {}
                Err(e) => return Err(e),
            }
        }
        if down_sent < n {
            match server.write(&mut p.a, &down[down_sent..]) {
                Ok(k) => down_sent += k,
                Err(TlsError::Net(NetError::WouldBlock)) => {}
                Err(e) => return Err(e),
            }
        }
        loop {
            match server.read(&mut p.a, &mut buf) {
                Ok(0) => break,
                Ok(k) => up_got.extend_from_slice(&buf[..k]),
                Err(TlsError::Net(NetError::WouldBlock)) => break,
                Err(e) => return Err(e),
            }
        }
        loop {
            match client.read(&mut p.b, &mut buf) {
                Ok(0) => break,
                Ok(k) => down_got.extend_from_slice(&buf[..k]),
                Err(TlsError::Net(NetError::WouldBlock)) => break,
                Err(e) => return Err(e),
            }
        }
        if up_got.len() == n && down_got.len() == n {
            break;
        }
    }
    assert!(!client.is_handshaking() && !server.is_handshaking());
    assert_eq!(up_got, up);
    assert_eq!(down_got, down);
    let (ver, _suite) = client.session().negotiated().unwrap();
    assert_eq!(ver, want);
    let seen = client.session().peer_certificates().unwrap()[0].clone();
    assert_eq!(server.session().sni(), Some(sni.to_ascii_lowercase().as_str()));
    // close_notify both ways, then TCP close
    assert!(p.run_until(2000, |p| client.close(&mut p.b).unwrap()));
    let mut got_eof = false;
    assert!(p.run_until(5000, |p| {
        got_eof |= matches!(server.read(&mut p.a, &mut buf), Ok(0));
        got_eof
    }));
    assert!(server.session().peer_closed(), "close_notify received");
    assert!(p.run_until(2000, |p| server.close(&mut p.a).unwrap()));
    assert!(p.run_until(20000, |p| p.a.tcp_sockets() == 2 && p.b.tcp_sockets() == 0));
    Ok(seen)
}

#[test]
fn tls_data_both_ways_v4_sni_default() {
    let s = setup();
    let seen = session(&s, false, "mx.example.org", ClientVerify::Opportunistic, 200_000).unwrap();
    assert_eq!(seen, s.der_mx);
    // Unknown name: the default (first added) certificate.
    let seen = session(&s, false, "other.example.com", ClientVerify::Opportunistic, 10).unwrap();
    assert_eq!(seen, s.der_mx);
}

#[test]
fn tls_v6_sni_wildcard_chooses_second_cert() {
    let s = setup();
    let seen = session(&s, true, "imap.example.net", ClientVerify::Opportunistic, 50_000).unwrap();
    assert_eq!(seen, s.der_imap);
}

#[test]
fn tls_verified_roots() {
    let s = setup();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(s.der_imap.clone()).unwrap();
    let seen = session(&s, false, "imap.example.net", ClientVerify::Roots(roots.clone()), 1000).unwrap();
    assert_eq!(seen, s.der_imap);
    // mx.example.org's certificate is not in the roots: handshake fails.
    let err = session(&s, false, "mx.example.org", ClientVerify::Roots(roots), 1000).unwrap_err();
    assert!(matches!(err, TlsError::Tls(rustls::Error::InvalidCertificate(_))), "{err:?}");
}

#[test]
fn starttls_upgrade_after_plaintext() {
    let s = setup();
    let mut p = Pair::new();
    let l = p.a.listen(25, 1).unwrap();
    let c = p.b.connect(IpEndpoint::new(IpAddress::Ipv4(A4), 25)).unwrap();
    assert!(p.run_until(5000, |p| p.a.pending_accepts(l) == 1));
    let sc = p.a.accept(l).unwrap();
    // Plaintext exchange: "STARTTLS" / "220 ready".
    p.b.send(c, b"STARTTLS\r\n").unwrap();
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    assert!(p.run_until(2000, |p| {
        if let Ok(k) = p.a.recv(sc, &mut buf) {
            got.extend_from_slice(&buf[..k])
        }
        got.ends_with(b"\r\n")
    }));
    assert_eq!(got, b"STARTTLS\r\n");
    p.a.send(sc, b"220 ready\r\n").unwrap();
    got.clear();
    assert!(p.run_until(2000, |p| {
        if let Ok(k) = p.b.recv(c, &mut buf) {
            got.extend_from_slice(&buf[..k])
        }
        got.ends_with(b"\r\n")
    }));
    // Upgrade both ends of the same connections.
    let mut server = TlsStream::server(sc, s.server_cfg.clone(), TlsLimits::default()).unwrap();
    let ccfg = client_config(ClientVerify::Opportunistic, Arc::new(SysTime)).unwrap();
    let mut client = TlsStream::client(c, ccfg, "mx.example.org", TlsLimits::default()).unwrap();
    let mut sent = false;
    let mut got = Vec::new();
    assert!(p.run_until(20000, |p| {
        client.pump(&mut p.b).unwrap();
        if !sent && client.write(&mut p.b, b"EHLO client\r\n").is_ok() {
            sent = true;
        }
        if let Ok(k) = server.read(&mut p.a, &mut buf) {
            got.extend_from_slice(&buf[..k])
        }
        got == b"EHLO client\r\n"
    }));
}

#[test]
fn session_byte_at_a_time() {
    // Sans-IO: feed the ClientHello and everything after one byte at a time.
    let s = setup();
    let ccfg = client_config(ClientVerify::Opportunistic, Arc::new(SysTime)).unwrap();
    let mut cl = TlsSession::client(ccfg, "mx.example.org", TlsLimits::default()).unwrap();
    let mut sv = TlsSession::server(s.server_cfg.clone(), TlsLimits::default()).unwrap();
    for _ in 0..100 {
        let out = cl.pending_tls().to_vec();
        cl.consume_tls(out.len());
        for b in &out {
            assert_eq!(sv.feed(std::slice::from_ref(b)).unwrap(), 1);
        }
        let out = sv.pending_tls().to_vec();
        sv.consume_tls(out.len());
        for b in &out {
            assert_eq!(cl.feed(std::slice::from_ref(b)).unwrap(), 1);
        }
        if !cl.is_handshaking() && !sv.is_handshaking() && cl.pending_tls().is_empty() && sv.pending_tls().is_empty() {
            break;
        }
    }
    assert!(!cl.is_handshaking() && !sv.is_handshaking());
    assert_eq!(sv.sni(), Some("mx.example.org"), "SNI parsed from a byte-at-a-time ClientHello");
    assert_eq!(cl.write(b"hello").unwrap(), 5);
    let out = cl.pending_tls().to_vec();
    cl.consume_tls(out.len());
    for b in &out {
        sv.feed(std::slice::from_ref(b)).unwrap();
    }
    let mut buf = [0u8; 16];
    assert_eq!(sv.read(&mut buf), 5);
    assert_eq!(&buf[..5], b"hello");
}

#[test]
fn garbage_is_a_tls_error() {
    let s = setup();
    let mut sv = TlsSession::server(s.server_cfg.clone(), TlsLimits::default()).unwrap();
    assert!(sv.feed(b"EHLO not tls at all\r\n").is_err());
    assert!(sv.error().is_some());
}

#[test]
fn pem_errors() {
    assert!(certs_from_pem(b"nothing").is_err());
    assert!(
        key_from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err()
            || certified_key(
                &provider(),
                vec![],
                key_from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap()
            )
            .is_err()
    );
    let _ = (PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(vec![0u8])),);
}

#[test]
fn sni_parser_rejects_junk() {
    assert_eq!(parse_client_hello_sni(b""), None);
    assert_eq!(parse_client_hello_sni(b"\x16\x03\x01\x00\x05\x01\x00\x00\x01"), None);
    assert_eq!(parse_client_hello_sni(b"\x17\x03\x03\x00\x00"), None);
    // Every truncation of a real ClientHello parses to None or the name, never panics.
    let s = setup();
    let ccfg = client_config(ClientVerify::Opportunistic, Arc::new(SysTime)).unwrap();
    let cl = TlsSession::client(ccfg, "Mail.Example.NET", TlsLimits::default()).unwrap();
    let hello = cl.pending_tls().to_vec();
    assert_eq!(parse_client_hello_sni(&hello).as_deref(), Some("mail.example.net"));
    for i in 0..hello.len() {
        let r = parse_client_hello_sni(&hello[..i]);
        assert!(r.is_none(), "truncated at {i}");
    }
    let _ = s;
}

#[test]
fn tls12_handshake_and_data() {
    let s = setup();
    let ccfg = client_config_with_versions(ClientVerify::Opportunistic, Arc::new(SysTime), &[&rustls::version::TLS12])
        .unwrap();
    let seen = session_v(&s, true, "mx.example.org", ccfg, 40_000, rustls::ProtocolVersion::TLSv1_2).unwrap();
    assert_eq!(seen, s.der_mx);
}

//! TLS over the stack's TCP connections, with rustls's unbuffered API.
//!
//! Two layers, as everywhere in this project:
//! - [`TlsSession`] is sans-IO: TLS bytes in ([`TlsSession::feed`]), TLS
//!   bytes out ([`TlsSession::pending_tls`] / [`TlsSession::consume_tls`]),
//!   plaintext in and out ([`TlsSession::read`] / [`TlsSession::write`]), all
//!   in bounded buffers. It drives `UnbufferedServerConnection` /
//!   `UnbufferedClientConnection` state by state.
//! - [`TlsStream`] glues a session onto a [`ConnId`] of a [`Stack`]:
//!   [`TlsStream::pump`] moves bytes between the TCP buffers and the session.
//!
//! STARTTLS (RFC 3207 4, RFC 2595 3.1, RFC 9051 6.2.1) is the same stream
//! created on an already open plaintext connection: the caller must discard
//! any plaintext it read ahead after the STARTTLS command (RFC 3207 4:
//! "the server MUST discard any knowledge obtained from the client"; the
//! CVE-2011-0411 command injection), which is why no "leftover" bytes can be
//! passed in.
//!
//! Time comes from the caller's [`TimeProvider`]; randomness comes from
//! rustls-rustcrypto, which calls `getrandom` 0.2 (the OS on the host, the
//! kernel's registered custom backend on `x86_64-unknown-none`).

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::UnbufferedClientConnection;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert, UnbufferedServerConnection};
use rustls::sign::CertifiedKey;
use rustls::time_provider::TimeProvider;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use smoltcp::phy::Device;

use crate::{ConnId, NetError, Stack};

/// What went wrong with TLS.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsError {
    /// The TLS protocol failed (bad record, handshake failure, alert...).
    Tls(rustls::Error),
    /// The TCP connection underneath failed.
    Net(NetError),
    /// A certificate or key could not be parsed or does not match.
    BadCredentials(String),
    /// The server name is not a valid DNS name or IP address.
    BadServerName,
}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> Self {
        TlsError::Tls(e)
    }
}

impl From<NetError> for TlsError {
    fn from(e: NetError) -> Self {
        TlsError::Net(e)
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Tls(e) => write!(f, "tls: {e}"),
            TlsError::Net(e) => write!(f, "tcp: {e}"),
            TlsError::BadCredentials(s) => write!(f, "bad certificate/key: {s}"),
            TlsError::BadServerName => f.write_str("bad server name"),
        }
    }
}

/// The crypto provider used everywhere: rustls-rustcrypto (pure Rust; `ring`
/// does not build for the kernel target).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls_rustcrypto::provider())
}

// ------------------------------------------------------------ credentials

/// Parse a PEM certificate chain (leaf first).
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    let certs = certs.map_err(|e| TlsError::BadCredentials(alloc::format!("{e:?}")))?;
    if certs.is_empty() {
        return Err(TlsError::BadCredentials("no CERTIFICATE in PEM".into()));
    }
    Ok(certs)
}

/// Parse a PEM private key (PKCS#8, SEC1 or PKCS#1).
pub fn key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| TlsError::BadCredentials(alloc::format!("{e:?}")))
}

/// Pair a chain with its key, checking that they match.
pub fn certified_key(
    provider: &CryptoProvider,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let ck =
        CertifiedKey::from_der(chain, key, provider).map_err(|e| TlsError::BadCredentials(alloc::format!("{e}")))?;
    Ok(Arc::new(ck))
}

/// Server certificate chosen by the SNI name the client sent (RFC 6066 3),
/// with a default for clients that send none or an unknown one.
/// Names are matched case-insensitively; an entry "*.example.org" matches
/// one extra leftmost label.
#[derive(Default)]
pub struct SniResolver {
    by_name: BTreeMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SniResolver")
            .field("names", &self.by_name.keys().collect::<Vec<_>>())
            .field("default", &self.default.is_some())
            .finish()
    }
}

impl SniResolver {
    /// An empty resolver (refuses every handshake until something is added).
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve `key` for SNI `name`. The first one added is also the default.
    pub fn add(&mut self, name: &str, key: Arc<CertifiedKey>) {
        if self.default.is_none() {
            self.default = Some(key.clone());
        }
        self.by_name.insert(name.trim_end_matches('.').to_ascii_lowercase(), key);
    }

    /// Serve `key` when no name matches.
    pub fn set_default(&mut self, key: Arc<CertifiedKey>) {
        self.default = Some(key);
    }

    /// The key for `sni` (None: the default).
    pub fn lookup(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = sni {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if let Some(k) = self.by_name.get(&name) {
                return Some(k.clone());
            }
            if let Some((_, parent)) = name.split_once('.') {
                let wild = alloc::format!("*.{parent}");
                if let Some(k) = self.by_name.get(&wild) {
                    return Some(k.clone());
                }
            }
        }
        self.default.clone()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.lookup(hello.server_name())
    }
}

/// A server configuration (TLS 1.3 and 1.2) choosing certificates by SNI.
pub fn server_config(resolver: Arc<SniResolver>, time: Arc<dyn TimeProvider>) -> Result<Arc<ServerConfig>, TlsError> {
    let cfg = ServerConfig::builder_with_details(provider(), time)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    Ok(Arc::new(cfg))
}

/// How an outbound TLS client checks the server.
pub enum ClientVerify {
    /// Opportunistic TLS for SMTP (RFC 3207, RFC 7435): encrypt against
    /// passive eavesdroppers, accept any certificate. Handshake signatures
    /// are still checked against the presented key.
    Opportunistic,
    /// WebPKI verification against these roots (MTA-STS, RFC 8461 4.2).
    Roots(RootCertStore),
}

/// Accepts any certificate chain; see [`ClientVerify::Opportunistic`].
#[derive(Debug)]
struct AcceptAnyCert {
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// A client configuration (TLS 1.3 and 1.2).
pub fn client_config(verify: ClientVerify, time: Arc<dyn TimeProvider>) -> Result<Arc<ClientConfig>, TlsError> {
    client_config_with_versions(verify, time, &[&rustls::version::TLS13, &rustls::version::TLS12])
}

/// A client configuration offering only `versions` (tests, or peers known
/// to break on TLS 1.3).
pub fn client_config_with_versions(
    verify: ClientVerify,
    time: Arc<dyn TimeProvider>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Arc<ClientConfig>, TlsError> {
    let p = provider();
    let algs = p.signature_verification_algorithms;
    let b = ClientConfig::builder_with_details(p, time).with_protocol_versions(versions)?;
    let cfg = match verify {
        ClientVerify::Opportunistic => {
            b.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyCert { algs })).with_no_client_auth()
        }
        ClientVerify::Roots(roots) => b.with_root_certificates(roots).with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

// ------------------------------------------------------------ session

/// Buffer limits of one TLS session (DESIGN.md rule 3).
#[derive(Debug, Clone, Copy)]
pub struct TlsLimits {
    /// Undecrypted TLS bytes held (at least one full record: 16 KiB + 2 KiB).
    pub max_incoming: usize,
    /// Encrypted bytes waiting for TCP; `write` accepts no more past this.
    pub max_outgoing: usize,
    /// Decrypted bytes waiting for `read`; no more TLS is taken in past this
    /// (it may be exceeded by the records already in `incoming`).
    pub max_plaintext_in: usize,
}

impl Default for TlsLimits {
    fn default() -> Self {
        TlsLimits { max_incoming: 2 * (16 * 1024 + 2048), max_outgoing: 32 * 1024, max_plaintext_in: 32 * 1024 }
    }
}

/// A record's worth of plaintext, the TLS maximum (RFC 8446 5.1).
const MAX_FRAGMENT: usize = 16 * 1024;

enum Conn {
    Server(UnbufferedServerConnection),
    Client(UnbufferedClientConnection),
}

#[derive(Default)]
struct Io {
    outgoing: Vec<u8>,
    plain_in: VecDeque<u8>,
    handshake_done: bool,
    peer_closed: bool,
    closed: bool,
    close_requested: bool,
    close_sent: bool,
}

enum Step {
    Continue,
    Stop,
}

/// One TLS connection, sans-IO.
pub struct TlsSession {
    conn: Conn,
    /// Server sessions: the SNI name, parsed from the first ClientHello
    /// record (rustls's unbuffered server has no accessor for it).
    sni: Sni,
    incoming: Vec<u8>,
    io: Io,
    limits: TlsLimits,
    error: Option<TlsError>,
}

impl TlsSession {
    /// A server session (waits for the ClientHello).
    pub fn server(config: Arc<ServerConfig>, limits: TlsLimits) -> Result<Self, TlsError> {
        Ok(Self::with(Conn::Server(UnbufferedServerConnection::new(config)?), limits))
    }

    /// A client session for `server_name` (sent as SNI; checked against the
    /// certificate when the config verifies).
    pub fn client(config: Arc<ClientConfig>, server_name: &str, limits: TlsLimits) -> Result<Self, TlsError> {
        let name = ServerName::try_from(server_name.to_string()).map_err(|_| TlsError::BadServerName)?;
        let mut s = Self::with(Conn::Client(UnbufferedClientConnection::new(config, name)?), limits);
        s.process()?; // produce the ClientHello
        Ok(s)
    }

    fn with(conn: Conn, limits: TlsLimits) -> Self {
        let sni = if matches!(conn, Conn::Server(_)) { Sni::Pending(Vec::new()) } else { Sni::Done(None) };
        TlsSession { conn, sni, incoming: Vec::new(), io: Io::default(), limits, error: None }
    }

    /// How many more TLS bytes `feed` takes now.
    pub fn incoming_room(&self) -> usize {
        if self.io.plain_in.len() >= self.limits.max_plaintext_in || self.error.is_some() {
            0
        } else {
            self.limits.max_incoming.saturating_sub(self.incoming.len())
        }
    }

    /// Take TLS bytes from the network (up to `incoming_room`) and process
    /// them. Returns how many were taken.
    pub fn feed(&mut self, tls: &[u8]) -> Result<usize, TlsError> {
        let n = tls.len().min(self.incoming_room());
        self.sni.feed(&tls[..n]);
        self.incoming.extend_from_slice(&tls[..n]);
        self.process()?;
        Ok(n)
    }

    /// TLS bytes to send to the peer.
    pub fn pending_tls(&self) -> &[u8] {
        &self.io.outgoing
    }

    /// Drop `n` bytes of `pending_tls` once sent.
    pub fn consume_tls(&mut self, n: usize) {
        self.io.outgoing.drain(..n.min(self.io.outgoing.len()));
    }

    /// Read decrypted application data; 0 means nothing buffered (see
    /// `peer_closed` for end of stream).
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.io.plain_in.len());
        for (d, s) in buf.iter_mut().zip(self.io.plain_in.drain(..n)) {
            *d = s;
        }
        if n > 0 && self.error.is_none() && !self.incoming.is_empty() {
            // Room freed: records held back may now be decrypted.
            let _ = self.process();
        }
        n
    }

    /// Decrypted bytes waiting for `read`.
    pub fn readable(&self) -> usize {
        self.io.plain_in.len()
    }

    /// Encrypt application data; returns how much was taken (0 while the
    /// handshake runs or when `max_outgoing` is reached).
    pub fn write(&mut self, data: &[u8]) -> Result<usize, TlsError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.io.close_requested {
            return Err(TlsError::Net(NetError::Closed));
        }
        self.run(data)
    }

    /// Queue a close_notify alert (RFC 8446 6.1); no more writes after it.
    pub fn close(&mut self) -> Result<(), TlsError> {
        self.io.close_requested = true;
        self.process()
    }

    /// Run the state machine with no new application data.
    pub fn process(&mut self) -> Result<(), TlsError> {
        self.run(&[]).map(|_| ())
    }

    /// Still handshaking (no application data can be written yet).
    pub fn is_handshaking(&self) -> bool {
        !self.io.handshake_done
    }

    /// The peer sent close_notify: no more data will come.
    pub fn peer_closed(&self) -> bool {
        self.io.peer_closed
    }

    /// Our close_notify was encoded into `pending_tls`.
    pub fn close_sent(&self) -> bool {
        self.io.close_sent
    }

    /// The error that ended the session, if any.
    pub fn error(&self) -> Option<&TlsError> {
        self.error.as_ref()
    }

    /// The host name the client asked for with SNI (server sessions), once
    /// the ClientHello arrived.
    pub fn sni(&self) -> Option<&str> {
        match &self.sni {
            Sni::Done(n) => n.as_deref(),
            Sni::Pending(_) => None,
        }
    }

    /// The certificate chain the peer presented (leaf first), once known.
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        match &self.conn {
            Conn::Server(c) => c.peer_certificates(),
            Conn::Client(c) => c.peer_certificates(),
        }
    }

    /// Negotiated protocol version and cipher suite, for Received: headers
    /// (RFC 8314 4.3 suggests recording them).
    pub fn negotiated(&self) -> Option<(rustls::ProtocolVersion, rustls::CipherSuite)> {
        let (v, s) = match &self.conn {
            Conn::Server(c) => (c.protocol_version(), c.negotiated_cipher_suite()),
            Conn::Client(c) => (c.protocol_version(), c.negotiated_cipher_suite()),
        };
        Some((v?, s?.suite()))
    }

    fn run(&mut self, app: &[u8]) -> Result<usize, TlsError> {
        let mut app = app;
        let mut written = 0usize;
        // Bounded: every round either consumes input, produces output, or stops.
        for _ in 0..10_000 {
            let limits = self.limits;
            let (discard, step) = match &mut self.conn {
                Conn::Server(c) => {
                    let UnbufferedStatus { discard, state } = c.process_tls_records(&mut self.incoming);
                    (discard, handle(state, &mut self.io, &limits, &mut app, &mut written))
                }
                Conn::Client(c) => {
                    let UnbufferedStatus { discard, state } = c.process_tls_records(&mut self.incoming);
                    (discard, handle(state, &mut self.io, &limits, &mut app, &mut written))
                }
            };
            self.incoming.drain(..discard);
            match step {
                Ok(Step::Continue) => {}
                Ok(Step::Stop) => return Ok(written),
                Err(e) => {
                    self.error = Some(e.clone());
                    return Err(e);
                }
            }
        }
        Ok(written)
    }
}

fn handle<Data>(
    state: Result<ConnectionState<'_, '_, Data>, rustls::Error>,
    io: &mut Io,
    limits: &TlsLimits,
    app: &mut &[u8],
    written: &mut usize,
) -> Result<Step, TlsError> {
    match state? {
        ConnectionState::ReadTraffic(mut r) => {
            while let Some(rec) = r.next_record() {
                io.plain_in.extend(rec?.payload.iter());
            }
            Ok(Step::Continue)
        }
        // 0-RTT is never enabled in our configs (max_early_data_size = 0).
        ConnectionState::ReadEarlyData(_) => Err(TlsError::Tls(rustls::Error::General("early data".into()))),
        ConnectionState::EncodeTlsData(mut e) => {
            let start = io.outgoing.len();
            io.outgoing.resize(start + 4096, 0);
            loop {
                match e.encode(&mut io.outgoing[start..]) {
                    Ok(n) => {
                        io.outgoing.truncate(start + n);
                        break;
                    }
                    Err(EncodeError::InsufficientSize(s)) => io.outgoing.resize(start + s.required_size, 0),
                    Err(EncodeError::AlreadyEncoded) => {
                        io.outgoing.truncate(start);
                        break;
                    }
                }
            }
            Ok(Step::Continue)
        }
        ConnectionState::TransmitTlsData(t) => {
            // The bytes already sit in `outgoing`; the glue sends them.
            t.done();
            Ok(Step::Continue)
        }
        ConnectionState::BlockedHandshake => Ok(Step::Stop),
        ConnectionState::PeerClosed => {
            io.peer_closed = true;
            Ok(Step::Continue)
        }
        ConnectionState::Closed => {
            io.peer_closed = true;
            io.closed = true;
            Ok(Step::Stop)
        }
        ConnectionState::WriteTraffic(mut w) => {
            io.handshake_done = true;
            while !app.is_empty() && !io.close_sent {
                let room = limits.max_outgoing.saturating_sub(io.outgoing.len());
                // 64 bytes covers a TLS 1.2/1.3 AEAD record's overhead.
                let chunk = app.len().min(MAX_FRAGMENT).min(room.saturating_sub(64));
                if chunk == 0 {
                    break;
                }
                let start = io.outgoing.len();
                io.outgoing.resize(start + chunk + 64, 0);
                loop {
                    match w.encrypt(&app[..chunk], &mut io.outgoing[start..]) {
                        Ok(n) => {
                            io.outgoing.truncate(start + n);
                            break;
                        }
                        Err(EncryptError::InsufficientSize(s)) => io.outgoing.resize(start + s.required_size, 0),
                        Err(_) => {
                            io.outgoing.truncate(start);
                            return Err(TlsError::Tls(rustls::Error::EncryptError));
                        }
                    }
                }
                *app = &app[chunk..];
                *written += chunk;
            }
            if io.close_requested && !io.close_sent {
                let start = io.outgoing.len();
                io.outgoing.resize(start + 64, 0);
                loop {
                    match w.queue_close_notify(&mut io.outgoing[start..]) {
                        Ok(n) => {
                            io.outgoing.truncate(start + n);
                            break;
                        }
                        Err(EncryptError::InsufficientSize(s)) => io.outgoing.resize(start + s.required_size, 0),
                        Err(_) => {
                            io.outgoing.truncate(start);
                            break;
                        }
                    }
                }
                io.close_sent = true;
            }
            Ok(Step::Stop)
        }
        _ => Ok(Step::Stop),
    }
}

/// SNI capture from the first TLS record.
enum Sni {
    Pending(Vec<u8>),
    Done(Option<String>),
}

impl Sni {
    fn feed(&mut self, data: &[u8]) {
        let Sni::Pending(buf) = self else { return };
        // RFC 8446 5.1: a record is 5 header bytes + at most 2^14 + 256 bytes.
        let want = if buf.len() >= 5 { 5 + usize::from(u16::from_be_bytes([buf[3], buf[4]])) } else { 5 };
        let take = data.len().min((5 + 16_640usize).saturating_sub(buf.len()));
        buf.extend_from_slice(&data[..take]);
        let want = if buf.len() >= 5 { 5 + usize::from(u16::from_be_bytes([buf[3], buf[4]])) } else { want };
        if buf.len() >= want || take < data.len() {
            let name = parse_client_hello_sni(buf);
            *self = Sni::Done(name);
        }
    }
}

/// Extract the host_name from a TLS record holding a ClientHello
/// (RFC 8446 4.1.2, RFC 6066 3). None if absent or not parseable.
pub fn parse_client_hello_sni(rec: &[u8]) -> Option<String> {
    struct R<'a>(&'a [u8]);
    impl<'a> R<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            if self.0.len() < n {
                return None;
            }
            let (a, b) = self.0.split_at(n);
            self.0 = b;
            Some(a)
        }
        fn u8(&mut self) -> Option<usize> {
            self.take(1).map(|b| usize::from(b[0]))
        }
        fn u16(&mut self) -> Option<usize> {
            self.take(2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        }
        fn u24(&mut self) -> Option<usize> {
            self.take(3).map(|b| (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
        }
    }
    let mut r = R(rec);
    if r.u8()? != 22 {
        return None; // not a handshake record
    }
    r.take(2)?;
    let len = r.u16()?;
    let mut r = R(r.take(len)?);
    if r.u8()? != 1 {
        return None; // not a ClientHello
    }
    let len = r.u24()?;
    let mut r = R(r.take(len)?);
    r.take(2 + 32)?; // legacy_version, random
    let n = r.u8()?;
    r.take(n)?; // legacy_session_id
    let n = r.u16()?;
    r.take(n)?; // cipher_suites
    let n = r.u8()?;
    r.take(n)?; // legacy_compression_methods
    let n = r.u16()?;
    let mut exts = R(r.take(n)?);
    while !exts.0.is_empty() {
        let ty = exts.u16()?;
        let n = exts.u16()?;
        let mut e = R(exts.take(n)?);
        if ty != 0 {
            continue;
        }
        let n = e.u16()?;
        let mut list = R(e.take(n)?);
        while !list.0.is_empty() {
            let kind = list.u8()?;
            let n = list.u16()?;
            let name = list.take(n)?;
            if kind == 0 {
                let s = core::str::from_utf8(name).ok()?;
                return Some(s.to_ascii_lowercase());
            }
        }
    }
    None
}

// ------------------------------------------------------------ stream glue

/// A TLS session riding on one TCP connection of a [`Stack`].
pub struct TlsStream {
    conn: ConnId,
    session: Box<TlsSession>,
    tcp_eof: bool,
}

impl TlsStream {
    /// Wrap an accepted connection (implicit TLS, ports 465/993) or a
    /// plaintext one after "STARTTLS" was answered with a 220/OK.
    pub fn server(conn: ConnId, config: Arc<ServerConfig>, limits: TlsLimits) -> Result<Self, TlsError> {
        Ok(TlsStream { conn, session: Box::new(TlsSession::server(config, limits)?), tcp_eof: false })
    }

    /// Start a client handshake on `conn` (after the peer's 220 to STARTTLS).
    pub fn client(
        conn: ConnId,
        config: Arc<ClientConfig>,
        server_name: &str,
        limits: TlsLimits,
    ) -> Result<Self, TlsError> {
        Ok(TlsStream { conn, session: Box::new(TlsSession::client(config, server_name, limits)?), tcp_eof: false })
    }

    /// The TCP connection underneath.
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// The sans-IO session (SNI, negotiated suite, state).
    pub fn session(&self) -> &TlsSession {
        &self.session
    }

    /// Move bytes both ways between the TCP buffers and the session. Call
    /// after each `Stack::poll` (the `read`/`write`/`close` calls pump too).
    pub fn pump<D: Device>(&mut self, stack: &mut Stack<D>) -> Result<(), TlsError> {
        self.flush(stack)?;
        let mut buf = [0u8; 2048];
        loop {
            let room = self.session.incoming_room().min(buf.len());
            if room == 0 || self.tcp_eof {
                break;
            }
            match stack.recv(self.conn, &mut buf[..room]) {
                Ok(0) => self.tcp_eof = true,
                Ok(n) => {
                    self.session.feed(&buf[..n])?;
                }
                Err(NetError::WouldBlock) => break,
                Err(e) => return Err(e.into()),
            }
            self.flush(stack)?;
        }
        self.flush(stack)
    }

    fn flush<D: Device>(&mut self, stack: &mut Stack<D>) -> Result<(), TlsError> {
        while !self.session.pending_tls().is_empty() {
            match stack.send(self.conn, self.session.pending_tls()) {
                Ok(n) => self.session.consume_tls(n),
                Err(NetError::WouldBlock) => break,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Still handshaking.
    pub fn is_handshaking(&self) -> bool {
        self.session.is_handshaking()
    }

    /// Read plaintext. `Ok(0)` is the end of the stream (close_notify, or
    /// TCP FIN: a truncation the caller may log); `WouldBlock` means wait.
    pub fn read<D: Device>(&mut self, stack: &mut Stack<D>, buf: &mut [u8]) -> Result<usize, TlsError> {
        self.pump(stack)?;
        let n = self.session.read(buf);
        if n > 0 {
            self.pump(stack)?;
            return Ok(n);
        }
        if let Some(e) = self.session.error() {
            return Err(e.clone());
        }
        if self.session.peer_closed() || self.tcp_eof {
            return Ok(0);
        }
        Err(TlsError::Net(NetError::WouldBlock))
    }

    /// Write plaintext; returns how much was taken (`WouldBlock` if none:
    /// handshake still running or buffers full).
    pub fn write<D: Device>(&mut self, stack: &mut Stack<D>, data: &[u8]) -> Result<usize, TlsError> {
        self.pump(stack)?;
        let n = self.session.write(data)?;
        self.flush(stack)?;
        if n == 0 && !data.is_empty() {
            return Err(TlsError::Net(NetError::WouldBlock));
        }
        Ok(n)
    }

    /// Encrypted bytes not yet handed to TCP.
    pub fn unsent(&self) -> usize {
        self.session.pending_tls().len()
    }

    /// Send close_notify, then close the TCP connection once it is out.
    /// Call again after later polls until it returns true.
    pub fn close<D: Device>(&mut self, stack: &mut Stack<D>) -> Result<bool, TlsError> {
        if !self.session.close_sent() && self.session.error().is_none() {
            let _ = self.session.close();
        }
        self.flush(stack)?;
        if self.session.pending_tls().is_empty() {
            stack.close(self.conn);
            return Ok(true);
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_lookup_exact_wildcard_default() {
        // Keys are only compared by identity here; build dummies from a
        // throwaway signing key is not possible without a cert, so use the
        // lookup logic on an empty resolver and on names.
        let r = SniResolver::new();
        assert!(r.lookup(Some("mx.example.org")).is_none());
        assert!(r.lookup(None).is_none());
    }

    #[test]
    fn bad_pem_is_reported() {
        assert!(matches!(certs_from_pem(b"junk"), Err(TlsError::BadCredentials(_))));
        assert!(matches!(key_from_pem(b"junk"), Err(TlsError::BadCredentials(_))));
    }
}

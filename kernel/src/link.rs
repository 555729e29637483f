//! A service connection: plain TCP, or TLS on top of it (implicit TLS from
//! the first byte, or STARTTLS after a plaintext greeting). SMTP, IMAP and
//! ManageSieve sessions all move their bytes through this.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use net::tls::{TlsError, TlsLimits, TlsStream};
use net::{ConnId, NetError, Stack};

use crate::nic::VirtioPhy;

pub enum Link {
    Plain(ConnId),
    Tls(TlsStream),
}

/// What a read gave.
pub enum Read {
    Data(usize),
    Nothing,
    /// The peer closed (TCP FIN or TLS close_notify).
    Eof,
    /// The connection failed (the text says how).
    Failed(String),
}

impl Link {
    pub fn new(conn: ConnId, implicit_tls: Option<&Arc<rustls::ServerConfig>>) -> Result<Link, String> {
        match implicit_tls {
            None => Ok(Link::Plain(conn)),
            Some(cfg) => TlsStream::server(conn, cfg.clone(), TlsLimits::default())
                .map(Link::Tls)
                .map_err(|e| alloc::format!("{e}")),
        }
    }

    pub fn conn(&self) -> ConnId {
        match self {
            Link::Plain(c) => *c,
            Link::Tls(t) => t.conn(),
        }
    }

    pub fn read(&mut self, stack: &mut Stack<VirtioPhy>, buf: &mut [u8]) -> Read {
        let r = match self {
            Link::Plain(c) => stack.recv(*c, buf).map_err(TlsError::Net),
            Link::Tls(t) => t.read(stack, buf),
        };
        match r {
            Ok(0) => Read::Eof,
            Ok(n) => Read::Data(n),
            Err(TlsError::Net(NetError::WouldBlock)) => Read::Nothing,
            Err(TlsError::Net(NetError::Closed)) => Read::Eof,
            Err(e) => Read::Failed(alloc::format!("{e}")),
        }
    }

    /// Writes as much of `out` as the connection takes. Returns whether
    /// anything moved; `Err` when the connection is broken.
    pub fn write(&mut self, stack: &mut Stack<VirtioPhy>, out: &mut Vec<u8>) -> Result<bool, String> {
        let mut moved = false;
        while !out.is_empty() {
            let r = match self {
                Link::Plain(c) => stack.send(*c, out).map_err(TlsError::Net),
                Link::Tls(t) => t.write(stack, out),
            };
            match r {
                Ok(0) | Err(TlsError::Net(NetError::WouldBlock)) => break,
                Ok(n) => {
                    out.drain(..n);
                    moved = true;
                }
                Err(e) => return Err(alloc::format!("{e}")),
            }
        }
        if let Link::Tls(t) = self {
            t.pump(stack).map_err(|e| alloc::format!("{e}"))?;
        }
        Ok(moved)
    }

    /// STARTTLS: the plaintext reply must already be written.
    pub fn start_tls(&mut self, cfg: &Arc<rustls::ServerConfig>) -> Result<(), String> {
        let c = self.conn();
        let t = TlsStream::server(c, cfg.clone(), TlsLimits::default()).map_err(|e| alloc::format!("{e}"))?;
        *self = Link::Tls(t);
        Ok(())
    }

    /// STARTTLS as the client (outbound SMTP).
    pub fn start_tls_client(&mut self, cfg: &Arc<rustls::ClientConfig>, server_name: &str) -> Result<(), String> {
        let c = self.conn();
        let t =
            TlsStream::client(c, cfg.clone(), server_name, TlsLimits::default()).map_err(|e| alloc::format!("{e}"))?;
        *self = Link::Tls(t);
        Ok(())
    }

    pub fn is_handshaking(&self) -> bool {
        matches!(self, Link::Tls(t) if t.is_handshaking())
    }

    /// The negotiated protocol and cipher names, once TLS is up.
    pub fn tls_info(&self) -> Option<(String, String)> {
        match self {
            Link::Tls(t) if !t.is_handshaking() => Some(match t.session().negotiated() {
                Some((v, c)) => (alloc::format!("{v:?}").replace("TLSv1_", "TLSv1."), alloc::format!("{c:?}")),
                None => (String::from("TLS"), String::from("unknown")),
            }),
            _ => None,
        }
    }

    /// End of a session's pass: writes what is pending, and once a closing
    /// session has nothing left to send, closes it. Returns (anything moved,
    /// session finished).
    pub fn finish_pass(&mut self, stack: &mut Stack<VirtioPhy>, out: &mut Vec<u8>, closing: &mut bool) -> (bool, bool) {
        let moved = match self.write(stack, out) {
            Ok(m) => m,
            Err(_) => {
                out.clear();
                *closing = true;
                false
            }
        };
        if *closing && out.is_empty() {
            self.close(stack);
            return (true, true);
        }
        (moved, false)
    }

    pub fn close(&mut self, stack: &mut Stack<VirtioPhy>) {
        match self {
            Link::Plain(c) => stack.close(*c),
            Link::Tls(t) => {
                if !matches!(t.close(stack), Ok(true)) {
                    stack.close(t.conn());
                }
            }
        }
    }
}

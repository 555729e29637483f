//! Many concurrent TLS connections served through the Runtime.
mod common;
use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use net::memwire::WireEnd;
use net::service::{Runtime, Service};
use net::smoltcp::wire::{IpAddress, IpEndpoint};
use net::tls::*;
use net::{ConnId, NetError, Stack};
use rustls::pki_types::UnixTime;

#[derive(Debug)]
struct SysTime;
impl rustls::time_provider::TimeProvider for SysTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::now())
    }
}

struct TlsEcho {
    cfg: Arc<rustls::ServerConfig>,
    conns: BTreeMap<ConnId, (TlsStream, Vec<u8>)>,
    closed: usize,
}

impl Service<WireEnd> for TlsEcho {
    fn on_accept(&mut self, _s: &mut Stack<WireEnd>, c: ConnId, _now: u64) {
        let t = TlsStream::server(c, self.cfg.clone(), TlsLimits::default()).unwrap();
        self.conns.insert(c, (t, Vec::new()));
    }
    fn on_readable(&mut self, s: &mut Stack<WireEnd>, c: ConnId, _now: u64) {
        let Some((t, pending)) = self.conns.get_mut(&c) else { return };
        let mut buf = [0u8; 1024];
        loop {
            match t.read(s, &mut buf) {
                Ok(0) => {
                    let _ = t.close(s);
                    break;
                }
                Ok(k) => pending.extend_from_slice(&buf[..k]),
                Err(TlsError::Net(NetError::WouldBlock)) => break,
                Err(_) => {
                    s.abort(c);
                    break;
                }
            }
        }
        if !pending.is_empty() {
            if let Ok(k) = t.write(s, pending) {
                pending.drain(..k);
            }
        }
    }
    fn on_writable(&mut self, s: &mut Stack<WireEnd>, c: ConnId, now: u64) {
        self.on_readable(s, c, now)
    }
    fn on_closed(&mut self, c: ConnId, _now: u64) {
        self.conns.remove(&c);
        self.closed += 1;
    }
    fn on_timer(&mut self, _s: &mut Stack<WireEnd>, _now: u64) {}
    fn next_deadline(&self) -> Option<u64> {
        None
    }
}

#[test]
fn many_concurrent_tls_connections() {
    let ck = rcgen::generate_simple_self_signed(vec!["mx.example.org".to_string()]).unwrap();
    let key = certified_key(
        &provider(),
        certs_from_pem(ck.cert.pem().as_bytes()).unwrap(),
        key_from_pem(ck.key_pair.serialize_pem().as_bytes()).unwrap(),
    )
    .unwrap();
    let mut r = SniResolver::new();
    r.add("mx.example.org", key);
    let mut svc =
        TlsEcho { cfg: server_config(Arc::new(r), Arc::new(SysTime)).unwrap(), conns: BTreeMap::new(), closed: 0 };
    let ccfg = client_config(ClientVerify::Opportunistic, Arc::new(SysTime)).unwrap();

    let mut p = Pair::new();
    let mut rt = Runtime::new();
    rt.listen(&mut p.a, 465, 4, 0).unwrap();
    const N: usize = 12;
    let mut clients: Vec<(TlsStream, Vec<u8>, Vec<u8>, usize)> = (0..N)
        .map(|i| {
            let addr = if i % 2 == 0 { IpAddress::Ipv4(A4) } else { IpAddress::Ipv6(A6) };
            let c = p.b.connect(IpEndpoint::new(addr, 465)).unwrap();
            let msg = format!("message {i} ").repeat(300 + i).into_bytes();
            (TlsStream::client(c, ccfg.clone(), "mx.example.org", TlsLimits::default()).unwrap(), msg, Vec::new(), 0)
        })
        .collect();
    let mut buf = [0u8; 2048];
    let mut closing = [false; N];
    for _ in 0..50_000 {
        p.step(1);
        rt.run(&mut p.a, &mut [&mut svc], p.now);
        for (i, (t, msg, got, sent)) in clients.iter_mut().enumerate() {
            if !p.b.is_established(t.conn()) && !closing[i] {
                continue;
            }
            let _ = t.pump(&mut p.b);
            if *sent < msg.len() {
                if let Ok(k) = t.write(&mut p.b, &msg[*sent..]) {
                    *sent += k;
                }
            }
            while let Ok(k) = t.read(&mut p.b, &mut buf) {
                if k == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..k]);
            }
            if got.len() == msg.len() && !closing[i] {
                closing[i] = true;
            }
            if closing[i] {
                let _ = t.close(&mut p.b);
            }
        }
        if svc.closed == N {
            break;
        }
    }
    for (_, msg, got, _) in &clients {
        assert_eq!(got, msg);
    }
    assert_eq!(svc.closed, N, "server saw every connection end");
}

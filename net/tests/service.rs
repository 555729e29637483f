mod common;
use std::collections::BTreeMap;

use common::*;
use net::memwire::WireEnd;
use net::service::{Interest, Runtime, Service};
use net::smoltcp::wire::{IpAddress, IpEndpoint};
use net::{ConnId, NetError, Stack};

/// Echoes input back; closes connections idle for `idle_ms`.
#[derive(Default)]
struct Echo {
    conns: BTreeMap<ConnId, Vec<u8>>,
    accepted: usize,
    closed: usize,
    idle_closed: usize,
    idle_ms: u64,
}

impl Service<WireEnd> for Echo {
    fn on_accept(&mut self, stack: &mut Stack<WireEnd>, c: ConnId, _now: u64) {
        self.accepted += 1;
        self.conns.insert(c, Vec::new());
        stack.send(c, b"220 hi\r\n").unwrap();
    }
    fn on_readable(&mut self, stack: &mut Stack<WireEnd>, c: ConnId, _now: u64) {
        let mut buf = [0u8; 512];
        loop {
            match stack.recv(c, &mut buf) {
                Ok(0) => {
                    stack.release(c);
                    break;
                }
                Ok(k) => self.conns.get_mut(&c).unwrap().extend_from_slice(&buf[..k]),
                Err(NetError::WouldBlock) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        self.flush(stack, c);
    }
    fn on_writable(&mut self, stack: &mut Stack<WireEnd>, c: ConnId, _now: u64) {
        self.flush(stack, c);
    }
    fn on_closed(&mut self, c: ConnId, _now: u64) {
        self.closed += 1;
        self.conns.remove(&c);
    }
    fn on_timer(&mut self, stack: &mut Stack<WireEnd>, now: u64) {
        for c in self.conns.keys() {
            if stack.idle_ms(*c, now).unwrap_or(0) >= self.idle_ms
                && stack.tcp_state(*c).is_ok_and(|s| s == net::smoltcp::socket::tcp::State::Established)
            {
                let _ = stack.send(*c, b"421 idle\r\n");
                stack.release(*c);
                self.idle_closed += 1;
            }
        }
    }
    fn next_deadline(&self) -> Option<u64> {
        Some(0) // polled every run for simplicity; a real service keeps a min-heap
    }
}

impl Echo {
    fn flush(&mut self, stack: &mut Stack<WireEnd>, c: ConnId) {
        let pending = self.conns.get_mut(&c).unwrap();
        if !pending.is_empty() {
            if let Ok(k) = stack.send(c, pending) {
                pending.drain(..k);
            }
        }
    }
}

#[test]
fn runtime_routes_many_connections_and_idle_timer() {
    let mut p = Pair::new();
    let mut rt = Runtime::new();
    let mut echo = Echo { idle_ms: 3000, ..Default::default() };
    rt.listen(&mut p.a, 25, 4, 0).unwrap();
    let mut clients = Vec::new();
    for i in 0..24 {
        let addr = if i % 2 == 0 { IpAddress::Ipv4(A4) } else { IpAddress::Ipv6(A6) };
        clients.push((p.b.connect(IpEndpoint::new(addr, 25)).unwrap(), Vec::<u8>::new(), i < 20));
    }
    let mut buf = [0u8; 256];
    let mut sent = vec![false; clients.len()];
    for _ in 0..20_000 {
        p.step(1);
        rt.run(&mut p.a, &mut [&mut echo], p.now);
        for (i, (c, got, talk)) in clients.iter_mut().enumerate() {
            if *talk && !sent[i] && got.starts_with(b"220 hi\r\n") {
                let line = format!("HELO client{i}\r\n");
                p.b.send(*c, line.as_bytes()).unwrap();
                sent[i] = true;
            }
            while let Ok(k) = p.b.recv(*c, &mut buf) {
                if k == 0 {
                    p.b.release(*c);
                    break;
                }
                got.extend_from_slice(&buf[..k]);
            }
        }
        if echo.closed == 24 {
            break;
        }
        if p.now > 100
            && clients
                .iter()
                .enumerate()
                .all(|(i, (_, g, t))| !*t || g.len() == 8 + format!("HELO client{i}\r\n").len())
        {
            // talkers done: close them; the silent ones wait for the idle timer
            for (c, _, t) in clients.iter_mut() {
                if *t {
                    p.b.close(*c);
                    *t = false;
                }
            }
        }
    }
    assert_eq!(echo.accepted, 24);
    assert_eq!(echo.idle_closed, 4, "the 4 silent clients were timed out");
    assert_eq!(echo.closed, 24, "every connection reported closed");
    assert_eq!(rt.connections(), 0);
    for (i, (_, got, _)) in clients.iter().enumerate() {
        if i < 20 {
            assert_eq!(got, format!("220 hi\r\nHELO client{i}\r\n").as_bytes());
        } else {
            assert_eq!(got, b"220 hi\r\n421 idle\r\n");
        }
    }
    let _ = Interest::default();
}

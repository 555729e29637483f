mod common;
use common::*;
use net::smoltcp::wire::{IpAddress, IpEndpoint};
use net::{ConnId, NetError};

fn echo_many(remote: IpAddress, n: usize) {
    let mut p = Pair::with(|a| a.max_tcp_per_peer = n, |_| {});
    let l = p.a.listen(2525, 8).unwrap();
    let mut clients: Vec<(ConnId, Vec<u8>, Vec<u8>)> = Vec::new();
    for i in 0..n {
        let c = p.b.connect(IpEndpoint::new(remote, 2525)).unwrap();
        let msg: Vec<u8> = format!("hello {i} ").repeat(50 + i * 7).into_bytes();
        clients.push((c, msg, Vec::new()));
    }
    let mut servers: Vec<ConnId> = Vec::new();
    let mut sent = vec![0usize; n];
    let mut buf = [0u8; 4096];
    for _ in 0..20_000 {
        p.step(1);
        while let Some(c) = p.a.accept(l) {
            let local = p.a.local(c).unwrap();
            assert_eq!(
                local.addr,
                if remote.version() == net::smoltcp::wire::IpVersion::Ipv4 {
                    IpAddress::Ipv4(A4)
                } else {
                    IpAddress::Ipv6(A6)
                }
            );
            servers.push(c);
        }
        // server: echo everything, close after EOF
        for &c in &servers {
            loop {
                match p.a.recv(c, &mut buf) {
                    Ok(0) => {
                        p.a.close(c);
                        break;
                    }
                    Ok(k) => {
                        let w = p.a.send(c, &buf[..k]).unwrap();
                        assert_eq!(w, k, "tx buffer same size as rx");
                    }
                    Err(NetError::WouldBlock) | Err(NetError::InvalidHandle) => break,
                    Err(e) => panic!("{e:?}"),
                }
                if p.a.send_room(c).unwrap_or(0) < buf.len() {
                    break;
                }
            }
        }
        for (i, (c, msg, got)) in clients.iter_mut().enumerate() {
            if sent[i] < msg.len() {
                match p.b.send(*c, &msg[sent[i]..]) {
                    Ok(k) => {
                        sent[i] += k;
                        if sent[i] == msg.len() {
                            p.b.close(*c)
                        }
                    }
                    Err(NetError::WouldBlock) => {}
                    Err(e) => panic!("{e:?}"),
                }
            }
            loop {
                match p.b.recv(*c, &mut buf) {
                    Ok(0) => break,
                    Ok(k) => got.extend_from_slice(&buf[..k]),
                    Err(_) => break,
                }
            }
        }
        if clients.iter().all(|(_, m, g)| m.len() == g.len()) {
            break;
        }
    }
    assert_eq!(servers.len(), n, "all connections accepted");
    for (_, m, g) in &clients {
        assert_eq!(m, g);
    }
    // Everything closes and the sockets are freed (only the backlog remains).
    let done = p.run_until(200_000, |p| p.a.tcp_sockets() == 8 && p.b.tcp_sockets() == 0);
    assert!(done, "sockets freed: a={} b={}", p.a.tcp_sockets(), p.b.tcp_sockets());
}

#[test]
fn echo_many_ipv4() {
    echo_many(IpAddress::Ipv4(A4), 40);
}

#[test]
fn echo_many_ipv6() {
    echo_many(IpAddress::Ipv6(A6), 40);
}

#[test]
fn outbound_binds_configured_source() {
    let mut p = Pair::new();
    let l = p.a.listen(25, 2).unwrap();
    let c4 = p.b.connect(IpEndpoint::new(IpAddress::Ipv4(A4), 25)).unwrap();
    let c6 = p.b.connect(IpEndpoint::new(IpAddress::Ipv6(A6), 25)).unwrap();
    assert!(p.run_until(5000, |p| p.b.is_established(c4) && p.b.is_established(c6)));
    assert!(p.run_until(1000, |p| p.a.pending_accepts(l) == 2));
    assert_eq!(p.b.local(c4).unwrap().addr, IpAddress::Ipv4(B4));
    assert_eq!(p.b.local(c6).unwrap().addr, IpAddress::Ipv6(B6));
    let s1 = p.a.accept(l).unwrap();
    let s2 = p.a.accept(l).unwrap();
    let peers = [p.a.peer(s1).unwrap().addr, p.a.peer(s2).unwrap().addr];
    assert!(peers.contains(&IpAddress::Ipv4(B4)) && peers.contains(&IpAddress::Ipv6(B6)));
    assert_eq!(p.a.listener_of(s1), Some(l));
}

#[test]
fn connection_refused_and_stale_handles() {
    let mut p = Pair::new();
    let c = p.b.connect(IpEndpoint::new(IpAddress::Ipv4(A4), 9)).unwrap();
    let mut buf = [0u8; 8];
    assert!(p.run_until(1000, |p| p.b.recv(c, &mut buf) == Err(NetError::ConnectionRefused)));
    p.b.abort(c);
    p.step(1);
    assert_eq!(p.b.recv(c, &mut buf), Err(NetError::InvalidHandle));
    assert_eq!(p.b.tcp_sockets(), 0);
}

#[test]
fn idle_detection_and_abort() {
    let mut p = Pair::new();
    let l = p.a.listen(143, 1).unwrap();
    let c = p.b.connect(IpEndpoint::new(IpAddress::Ipv6(A6), 143)).unwrap();
    assert!(p.run_until(1000, |p| p.a.pending_accepts(l) == 1));
    let s = p.a.accept(l).unwrap();
    let t0 = p.now;
    for _ in 0..500 {
        p.step(10);
    }
    assert!(p.a.idle_ms(s, p.now).unwrap() >= 4000 + (p.now - t0 - 5000));
    p.b.send(c, b"x").unwrap();
    let mut buf = [0u8; 8];
    assert!(p.run_until(1000, |p| p.a.recv(s, &mut buf) == Ok(1)));
    assert!(p.a.idle_ms(s, p.now).unwrap() < 10);
    p.a.abort(s);
    assert!(p.run_until(1000, |p| p.b.recv(c, &mut buf) == Ok(0)));
    assert!(p.b.tcp_state(c).unwrap() == net::smoltcp::socket::tcp::State::Closed);
}

#[test]
fn socket_limit_bounds_connections() {
    let mut p = Pair::with(|a| a.max_tcp_sockets = 4, |_| {});
    let l = p.a.listen(25, 2).unwrap();
    let cs: Vec<_> = (0..6).map(|_| p.b.connect(IpEndpoint::new(IpAddress::Ipv4(A4), 25)).unwrap()).collect();
    for _ in 0..3000 {
        p.step(1);
    }
    let mut accepted = 0;
    while p.a.accept(l).is_some() {
        accepted += 1;
    }
    assert!((2..=4).contains(&accepted), "accepted {accepted}");
    assert!(p.a.tcp_sockets() <= 4);
    let _ = cs;
}

#[test]
fn per_peer_limit_resets_the_excess_and_frees_their_sockets() {
    let mut p = Pair::with(|a| a.max_tcp_per_peer = 3, |_| {});
    let l = p.a.listen(25, 2).unwrap();
    let cs: Vec<_> = (0..6).map(|_| p.b.connect(IpEndpoint::new(IpAddress::Ipv4(A4), 25)).unwrap()).collect();
    for _ in 0..3000 {
        p.step(1);
    }
    let mut accepted = 0;
    while p.a.accept(l).is_some() {
        accepted += 1;
    }
    assert_eq!(accepted, 3);
    assert_eq!(p.a.refused_per_peer(), 3);
    // The three refused clients saw a reset; the socket table holds only
    // the accepted three plus the listening backlog.
    let reset = cs.iter().filter(|c| p.b.recv(**c, &mut [0u8; 1]) != Err(NetError::WouldBlock)).count();
    assert_eq!(reset, 3, "reset clients");
    assert!(p.a.tcp_sockets() <= 3 + 2 + 1, "{}", p.a.tcp_sockets());
}

/// A client repeats its SYN because our SYN-ACK was late (held here for
/// 1.5 s, as smoltcp's one-ARP-request-per-second limit can hold it); a
/// LISTEN socket in a lower slot than the half-open one takes the repeat.
/// The client must still get one working connection, not a RST when its
/// ACK of the first SYN-ACK reaches the second socket.
#[test]
fn retransmitted_syn_does_not_reset_the_connection() {
    let mut p = Pair::new();
    let l = p.a.listen(25, 2).unwrap();
    let mut buf = [0u8; 64];

    // c0 takes the lowest listening slot; once it is closed and freed, the
    // re-armed listener reuses that slot below c1's half-open socket.
    let c0 = p.b.connect(IpEndpoint::new(IpAddress::Ipv4(A4), 25)).unwrap();
    assert!(p.run_until(2000, |p| p.a.pending_accepts(l) == 1));
    let s0 = p.a.accept(l).unwrap();
    p.b.close(c0);
    assert!(p.run_until(2000, |p| p.a.recv(s0, &mut buf) == Ok(0)));
    p.a.release(s0);
    let sockets = p.a.tcp_sockets();
    assert!(p.run_until(5000, |p| p.a.tcp_sockets() < sockets && p.b.tcp_sockets() == 0));

    // c1's SYN-ACKs are held until the client has repeated its SYN.
    let c1 = p.b.connect(IpEndpoint::new(IpAddress::Ipv4(A4), 25)).unwrap();
    let mut held = Vec::new();
    let start = p.now;
    while p.now < start + 1500 {
        p.a.poll(p.now);
        held.extend(p.b.device_mut().take_pending());
        p.b.poll(p.now);
        p.now += 1;
    }
    assert!(!held.is_empty());
    for f in held {
        p.b.device_mut().inject(f);
    }
    assert!(p.run_until(5000, |p| p.b.is_established(c1) && p.a.pending_accepts(l) == 1));
    let s1 = p.a.accept(l).unwrap();
    p.b.send(c1, b"hello").unwrap();
    assert!(p.run_until(2000, |p| p.a.recv(s1, &mut buf).is_ok_and(|n| n == 5)));
    p.a.send(s1, b"250 ok").unwrap();
    assert!(p.run_until(2000, |p| p.b.recv(c1, &mut buf).is_ok_and(|n| n == 6)));
    // Nothing else was accepted, and the connection stays up.
    for _ in 0..3000 {
        p.step(1);
    }
    assert!(p.a.accept(l).is_none());
    assert_eq!(p.b.recv(c1, &mut buf), Err(NetError::WouldBlock));
    assert_eq!(p.a.recv(s1, &mut buf), Err(NetError::WouldBlock));
    assert_eq!(p.a.duplicate_syns(), 1);
}

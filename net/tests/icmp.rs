mod common;
use common::*;
use net::smoltcp::socket::icmp;
use net::smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpAddress};

/// The peer pings the stack: smoltcp answers echo requests itself (RFC 792,
/// RFC 4443 4.1), after resolving the peer with ARP / NDP.
#[test]
fn ping_v4_and_v6_answered() {
    init_log();
    let mut p = Pair::new();
    let (_, sockets) = p.b.raw();
    let rx = icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 1024]);
    let tx = icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 1024]);
    let mut s = icmp::Socket::new(rx, tx);
    s.bind(icmp::Endpoint::Ident(0x4242)).unwrap();
    let h = sockets.add(s);
    let caps = net::smoltcp::phy::ChecksumCapabilities::default();

    // IPv4 echo request
    let req = Icmpv4Repr::EchoRequest { ident: 0x4242, seq_no: 1, data: b"ping-v4" };
    let mut buf = vec![0u8; req.buffer_len()];
    req.emit(&mut Icmpv4Packet::new_unchecked(&mut buf), &caps);
    p.b.raw().1.get_mut::<icmp::Socket>(h).send_slice(&buf, IpAddress::Ipv4(A4)).unwrap();
    let mut got = None;
    assert!(p.run_until(3000, |p| {
        let s = p.b.raw().1.get_mut::<icmp::Socket>(h);
        if s.can_recv() {
            let (data, from) = s.recv().unwrap();
            let pkt = Icmpv4Packet::new_checked(data).unwrap();
            if let Ok(Icmpv4Repr::EchoReply { ident, seq_no, data }) = Icmpv4Repr::parse(&pkt, &caps) {
                got = Some((from, ident, seq_no, data.to_vec()));
            }
        }
        got.is_some()
    }));
    assert_eq!(got.unwrap(), (IpAddress::Ipv4(A4), 0x4242, 1, b"ping-v4".to_vec()));

    // IPv6 echo request (checksum covers the pseudo-header)
    let req = Icmpv6Repr::EchoRequest { ident: 0x4242, seq_no: 2, data: b"ping-v6" };
    let mut buf = vec![0u8; req.buffer_len()];
    req.emit(&B6, &A6, &mut Icmpv6Packet::new_unchecked(&mut buf), &caps);
    p.b.raw().1.get_mut::<icmp::Socket>(h).send_slice(&buf, IpAddress::Ipv6(A6)).unwrap();
    let mut got = None;
    assert!(p.run_until(3000, |p| {
        let s = p.b.raw().1.get_mut::<icmp::Socket>(h);
        if s.can_recv() {
            let (data, from) = s.recv().unwrap();
            let pkt = Icmpv6Packet::new_checked(data).unwrap();
            if let Ok(Icmpv6Repr::EchoReply { ident, seq_no, data }) = Icmpv6Repr::parse(&A6, &B6, &pkt, &caps) {
                got = Some((from, ident, seq_no, data.to_vec()));
            }
        }
        got.is_some()
    }));
    assert_eq!(got.unwrap(), (IpAddress::Ipv6(A6), 0x4242, 2, b"ping-v6".to_vec()));
}

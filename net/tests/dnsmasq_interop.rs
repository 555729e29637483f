//! The sans-IO Resolver against an independent DNS server (dnsmasq from
//! Debian) over loopback UDP/TCP sockets.
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use net::dns::*;

fn dnsmasq_path() -> Option<&'static str> {
    ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"].into_iter().find(|p| std::path::Path::new(p).exists())
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Option<Server> {
    let Some(bin) = dnsmasq_path() else {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("dnsmasq is required under CI (run net/tests/setup.sh)");
        }
        eprintln!("!!!!! SKIPPING dnsmasq interop test: dnsmasq not installed (net/tests/setup.sh installs it) !!!!!");
        return None;
    };
    let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut args: Vec<String> = [
        "-k",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--pid-file=",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        "--local=/example.org/",
        "--user=root",
        "--log-facility=-",
        "--host-record=mx.example.org,192.0.2.25,2001:db8::25,300",
        "--mx-host=example.org,mx.example.org,10",
        "--txt-record=example.org,v=spf1 ip4:192.0.2.0/24 -all",
        "--cname=www.example.org,mx.example.org",
        // TLSA 3 1 1 <32 bytes of 0xab> (RFC 6698 2.1), type 52.
        "--dns-rr=_25._tcp.mx.example.org,52,030101ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--port={port}"));
    for i in 0..12 {
        args.push(format!("--txt-record=big.example.org,{i:02}-{}", "y".repeat(180)));
    }
    let child = Command::new(bin).args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Wait until it answers.
    let s = Server { child, port };
    std::thread::sleep(Duration::from_millis(300));
    Some(s)
}

/// Drive the resolver over std sockets to 127.0.0.1:`port`.
fn resolve(r: &mut Resolver, port: u16, name: &str, t: Rtype, tcp_used: &mut bool) -> Answer {
    let start = Instant::now();
    let now = |s: &Instant| s.elapsed().as_millis() as u64;
    let q = r.query(name, t, now(&start));
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut buf = [0u8; 65535];
    while start.elapsed() < Duration::from_secs(15) {
        if let Some(a) = r.take_answer(q) {
            return a;
        }
        while let Some(tx) = r.poll_transmit(now(&start)) {
            assert_eq!(tx.server, IpAddr::V4(Ipv4Addr::LOCALHOST));
            if tx.tcp {
                *tcp_used = true;
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                let mut out = (tx.data.len() as u16).to_be_bytes().to_vec();
                out.extend_from_slice(&tx.data);
                s.write_all(&out).unwrap();
                let mut len = [0u8; 2];
                s.read_exact(&mut len).unwrap();
                let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
                s.read_exact(&mut msg).unwrap();
                r.handle_response(tx.query, tx.server, &msg, now(&start));
            } else {
                udp.send_to(&tx.data, ("127.0.0.1", port)).unwrap();
            }
        }
        if let Ok((n, _)) = udp.recv_from(&mut buf) {
            r.handle_response(q, IpAddr::V4(Ipv4Addr::LOCALHOST), &buf[..n], now(&start));
        }
        r.handle_timeout(now(&start));
    }
    panic!("no answer for {name}");
}

#[test]
fn resolver_against_dnsmasq() {
    let Some(srv) = start() else { return };
    let mut x = 0x9e37_79b9u32;
    let mut r = Resolver::new(
        ResolverConfig::new(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        Box::new(move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        }),
    );
    let mut tcp = false;
    let recs = |a: Answer| match a {
        Answer::Records { records, .. } => records,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        recs(resolve(&mut r, srv.port, "mx.example.org", Rtype::A, &mut tcp)),
        vec![Record::A(Ipv4Addr::new(192, 0, 2, 25))]
    );
    assert_eq!(
        recs(resolve(&mut r, srv.port, "mx.example.org", Rtype::Aaaa, &mut tcp)),
        vec![Record::Aaaa("2001:db8::25".parse().unwrap())]
    );
    assert_eq!(
        recs(resolve(&mut r, srv.port, "example.org", Rtype::Mx, &mut tcp)),
        vec![Record::Mx { preference: 10, exchange: "mx.example.org".into() }]
    );
    assert_eq!(
        recs(resolve(&mut r, srv.port, "example.org", Rtype::Txt, &mut tcp)),
        vec![Record::Txt(vec![b"v=spf1 ip4:192.0.2.0/24 -all".to_vec()])]
    );
    let ptr = ptr_name(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 25)));
    assert_eq!(recs(resolve(&mut r, srv.port, &ptr, Rtype::Ptr, &mut tcp)), vec![Record::Ptr("mx.example.org".into())]);
    assert_eq!(
        recs(resolve(&mut r, srv.port, "_25._tcp.mx.example.org", Rtype::Tlsa, &mut tcp)),
        vec![Record::Tlsa { usage: 3, selector: 1, matching: 1, data: vec![0xab; 32] }]
    );
    match resolve(&mut r, srv.port, "www.example.org", Rtype::A, &mut tcp) {
        Answer::Records { records, canonical, .. } => {
            assert_eq!(records, vec![Record::A(Ipv4Addr::new(192, 0, 2, 25))]);
            assert_eq!(canonical, "mx.example.org");
        }
        a => panic!("{a:?}"),
    }
    assert!(!tcp, "small answers over UDP");
    assert_eq!(resolve(&mut r, srv.port, "nothere.example.org", Rtype::A, &mut tcp), Answer::NxDomain);
    let big = recs(resolve(&mut r, srv.port, "big.example.org", Rtype::Txt, &mut tcp));
    assert_eq!(big.len(), 12);
    assert!(tcp, "the 2 KiB TXT set came over TCP after a truncated UDP reply");
}

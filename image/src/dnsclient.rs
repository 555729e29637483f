//! A small stub resolver for the host tool: one question to one server
//! over UDP (RFC 1035 4.2.1), retried, and over TCP (4.2.2) when the UDP
//! answer is truncated. Messages are built and parsed by hickory-proto, as
//! in the kernel's resolver (net/src/dns.rs).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

/// The outcome of one question.
#[derive(Debug)]
pub enum Lookup {
    Records(Vec<RData>),
    /// The name exists but has no record of the type (RFC 2308 2.2).
    NoData,
    NxDomain,
    /// No usable answer (timeout, SERVFAIL, REFUSED, garbage).
    Failed(String),
}

pub struct Client {
    server: SocketAddr,
    timeout: Duration,
    next_id: u16,
}

impl Client {
    /// `IP`, `IP:PORT` or `[IPv6]:PORT`; port 53 by default.
    pub fn new(server: &str) -> Result<Client, String> {
        let addr = if let Ok(ip) = server.parse::<IpAddr>() {
            SocketAddr::new(ip, 53)
        } else {
            server.parse().map_err(|_| format!("`{server}` is not IP[:PORT]"))?
        };
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(1);
        Ok(Client { server: addr, timeout: Duration::from_secs(2), next_id: (seed ^ std::process::id()) as u16 })
    }

    pub fn query(&mut self, name: &str, rtype: RecordType) -> Lookup {
        let Ok(qname) = Name::from_ascii(name) else { return Lookup::Failed(format!("bad name {name}")) };
        self.next_id = self.next_id.wrapping_add(0x9e37);
        let id = self.next_id;
        let mut m = Message::new(id, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(qname, rtype));
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        m.set_edns(edns);
        let Ok(wire) = m.to_vec() else { return Lookup::Failed("cannot encode the query".into()) };
        let reply = match self.udp(&wire, id) {
            Ok(r) if r.metadata.truncation => self.tcp(&wire, id),
            other => other,
        };
        match reply {
            Err(e) => Lookup::Failed(e),
            Ok(r) => match r.metadata.response_code {
                ResponseCode::NoError => {
                    let v: Vec<RData> =
                        r.answers.iter().filter(|a| a.record_type() == rtype).map(|a| a.data.clone()).collect();
                    if v.is_empty() {
                        Lookup::NoData
                    } else {
                        Lookup::Records(v)
                    }
                }
                ResponseCode::NXDomain => Lookup::NxDomain,
                c => Lookup::Failed(format!("{c}")),
            },
        }
    }

    fn udp(&self, wire: &[u8], id: u16) -> Result<Message, String> {
        let bind: SocketAddr = if self.server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().unwrap();
        let s = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
        s.connect(self.server).map_err(|e| format!("{}: {e}", self.server))?;
        s.set_read_timeout(Some(self.timeout)).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 65535];
        for _ in 0..3 {
            s.send(wire).map_err(|e| format!("{}: {e}", self.server))?;
            loop {
                match s.recv(&mut buf) {
                    Ok(n) => match Message::from_vec(&buf[..n]) {
                        Ok(m) if m.metadata.id == id && m.metadata.message_type == MessageType::Response => {
                            return Ok(m)
                        }
                        _ => continue, // stray or garbage datagram
                    },
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                        break
                    }
                    Err(e) => return Err(format!("{}: {e}", self.server)),
                }
            }
        }
        Err(format!("{}: no answer (timeout)", self.server))
    }

    fn tcp(&self, wire: &[u8], id: u16) -> Result<Message, String> {
        let e = |e: std::io::Error| format!("{} (TCP): {e}", self.server);
        let mut s = TcpStream::connect_timeout(&self.server, self.timeout).map_err(e)?;
        s.set_read_timeout(Some(self.timeout)).map_err(e)?;
        let mut out = (wire.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(wire);
        s.write_all(&out).map_err(e)?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len).map_err(e)?;
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf).map_err(e)?;
        let m = Message::from_vec(&buf).map_err(|x| format!("{} (TCP): bad reply: {x}", self.server))?;
        if m.metadata.id != id {
            return Err(format!("{} (TCP): reply to another query", self.server));
        }
        Ok(m)
    }

    /// RFC 1035 3.5: the PTR name of an address, if any.
    pub fn reverse(&mut self, ip: IpAddr) -> Option<String> {
        match self.query(&crate::config_cmds::ptr_name(ip), RecordType::PTR) {
            Lookup::Records(v) => v.iter().find_map(|r| match r {
                RData::PTR(p) => Some(p.0.to_ascii().trim_end_matches('.').to_string()),
                _ => None,
            }),
            _ => None,
        }
    }
}

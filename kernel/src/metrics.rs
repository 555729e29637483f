//! Statistics like `rspamc stat` and `postscreen` logs give: the figures
//! of the screen, the greylist, the content filter and the DMARC reports
//! read, as Prometheus text at `GET /metrics` on `[stats] listen` (HTTP
//! Basic authentication by the configured users), and as a summary on the
//! serial console every hour.
//!
//! The endpoint is plain HTTP/1.0-style: one request per connection,
//! bounded (8 KiB of request head, 10 s), answered and closed. Put it on an
//! address only the monitoring network reaches: the password crosses the
//! wire in the clear (RFC 7617 4).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::IpAddr;
use net::{ConnId, ListenerId, NetError, Stack};

use crate::nic::VirtioPhy;

const MAX_REQUEST: usize = 8 * 1024;
const TIMEOUT_MS: u64 = 10_000;
/// A failed login is answered this much later (brute-force brake).
const FAIL_DELAY_MS: u64 = 2_000;
const MAX_CONNS: usize = 16;
/// The console summary's period.
const SUMMARY_EVERY_MS: u64 = 3_600_000;

struct Conn {
    id: ConnId,
    peer: IpAddr,
    req: Vec<u8>,
    out: Vec<u8>,
    started: u64,
    /// A 401 held back until then.
    delayed: Option<u64>,
}

pub struct Metrics {
    listener: Option<(ListenerId, IpAddr)>,
    users: Vec<String>,
    conns: Vec<Conn>,
    last_summary: u64,
    pub requests: u64,
    pub refused: u64,
}

/// What the endpoint reports; gathered by the caller each time.
pub struct Figures<'a> {
    pub smtp: Option<&'a crate::smtp::SmtpService>,
    pub dmarc: &'a mail_dmarc_report::Counters,
    pub uptime_ms: u64,
    pub refused_per_peer: u64,
    /// Repeated SYNs a second LISTEN socket took and gave back.
    pub duplicate_syns: u64,
    pub tcp_sockets: usize,
}

impl Metrics {
    pub fn new(stack: &mut Stack<VirtioPhy>, cfg: &mail_config::Config) -> Result<Metrics, String> {
        let listener = match cfg.stats.listen {
            None => None,
            Some(a) => {
                let ours = match a.ip() {
                    IpAddr::V4(v4) => stack.config().ipv4.is_some_and(|c| c.address() == v4),
                    IpAddr::V6(v6) => stack.config().ipv6.is_some_and(|c| c.address() == v6),
                };
                if !ours && !a.ip().is_unspecified() {
                    return Err(alloc::format!("[stats] listen {a}: not an address of this machine"));
                }
                let l = stack.listen(a.port(), 2).map_err(|e| alloc::format!("stats: listen on {a}: {e}"))?;
                Some((l, a.ip()))
            }
        };
        Ok(Metrics {
            listener,
            users: cfg.stats.users.clone(),
            conns: Vec::new(),
            last_summary: crate::time::now_ms(),
            requests: 0,
            refused: 0,
        })
    }

    /// Accepts, reads, answers. `figures` is called only when a request is
    /// to be answered.
    pub fn poll(
        &mut self,
        stack: &mut Stack<VirtioPhy>,
        cfg: &mail_config::Config,
        now: u64,
        figures: &dyn Fn() -> String,
    ) -> bool {
        let mut active = false;
        if now.saturating_sub(self.last_summary) >= SUMMARY_EVERY_MS {
            self.last_summary = now;
            for line in figures().lines().filter(|l| l.starts_with("# summary ")) {
                log::info!("stats: {}", &line["# summary ".len()..]);
            }
        }
        let Some((l, bound)) = self.listener else { return false };
        while let Some(c) = stack.accept(l) {
            active = true;
            let local_ok = stack.local(c).map(|e| bound.is_unspecified() || crate::smtp::ip_of(e.addr) == bound);
            let peer = stack.peer(c).map(|e| crate::smtp::ip_of(e.addr));
            match (local_ok, peer) {
                (Ok(true), Ok(peer)) if self.conns.len() < MAX_CONNS => {
                    self.conns.push(Conn { id: c, peer, req: Vec::new(), out: Vec::new(), started: now, delayed: None })
                }
                _ => stack.abort(c),
            }
        }
        let mut buf = [0u8; 1024];
        let mut i = 0;
        while i < self.conns.len() {
            let c = &mut self.conns[i];
            let mut done = false;
            if c.out.is_empty() && c.delayed.is_none() {
                match stack.recv(c.id, &mut buf) {
                    Ok(0) => done = true,
                    Ok(n) => {
                        active = true;
                        c.req.extend_from_slice(&buf[..n]);
                        if c.req.len() > MAX_REQUEST {
                            c.out = response(431, "Request Header Fields Too Large", "", "request too large\n");
                        } else if let Some(end) = find(&c.req, b"\r\n\r\n") {
                            let head = core::mem::take(&mut c.req);
                            self.requests += 1;
                            match authorised(&head[..end], cfg, &self.users) {
                                Err(resp) => {
                                    self.refused += 1;
                                    log::warn!("stats: {}: refused", c.peer);
                                    c.out = resp;
                                    c.delayed = Some(now + FAIL_DELAY_MS);
                                }
                                Ok(path) if path == "/metrics" => {
                                    c.out = response(200, "OK", "text/plain; version=0.0.4", &figures())
                                }
                                Ok(_) => c.out = response(404, "Not Found", "", "try /metrics\n"),
                            }
                        }
                    }
                    Err(NetError::WouldBlock) => {}
                    Err(_) => done = true,
                }
            }
            if c.delayed.is_some_and(|t| now >= t) {
                c.delayed = None;
            }
            if !c.out.is_empty() && c.delayed.is_none() {
                match stack.send(c.id, &c.out) {
                    Ok(n) => {
                        c.out.drain(..n);
                        active = true;
                        if c.out.is_empty() {
                            done = true;
                        }
                    }
                    Err(NetError::WouldBlock) => {}
                    Err(_) => done = true,
                }
            }
            if now.saturating_sub(c.started) > TIMEOUT_MS {
                done = true;
            }
            if done {
                stack.close(c.id);
                self.conns.swap_remove(i);
            } else {
                i += 1;
            }
        }
        active
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn response(code: u16, reason: &str, ctype: &str, body: &str) -> Vec<u8> {
    let mut s = alloc::format!("HTTP/1.1 {code} {reason}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !ctype.is_empty() {
        let _ = write!(s, "Content-Type: {ctype}\r\n");
    }
    if code == 401 {
        s.push_str("WWW-Authenticate: Basic realm=\"unimail metrics\", charset=\"UTF-8\"\r\n");
    }
    s.push_str("\r\n");
    s.push_str(body);
    s.into_bytes()
}

/// The request path if the request is a GET with valid Basic credentials
/// of an allowed user (RFC 7617 2); else the response to send.
fn authorised(head: &[u8], cfg: &mail_config::Config, users: &[String]) -> Result<String, Vec<u8>> {
    let text = core::str::from_utf8(head).map_err(|_| response(400, "Bad Request", "", "bad request\n"))?;
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        return Err(response(405, "Method Not Allowed", "", "GET only\n"));
    }
    let unauthorised = || response(401, "Unauthorized", "", "authentication required\n");
    let cred = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|b| mail_smtp::base64::decode(b.trim().as_bytes()))
        .ok_or_else(unauthorised)?;
    let cred = core::str::from_utf8(&cred).map_err(|_| unauthorised())?;
    let (user, pass) = cred.split_once(':').ok_or_else(unauthorised)?;
    match cfg.authenticate(user, pass.as_bytes()) {
        Some(u) if users.iter().any(|x| *x == u.address.to_string()) => Ok(String::from(path)),
        _ => Err(unauthorised()),
    }
}

/// The Prometheus text for everything the image counts, and `# summary`
/// comment lines that the console prints every hour.
pub fn render(f: &Figures<'_>) -> String {
    let mut s = String::new();
    let (used, high, size) = crate::mem::heap_stats();
    let _ = writeln!(s, "# TYPE unimail_uptime_seconds gauge\nunimail_uptime_seconds {}", f.uptime_ms / 1000);
    let _ = writeln!(s, "# TYPE unimail_heap_bytes gauge\nunimail_heap_bytes{{kind=\"used\"}} {used}");
    let _ = writeln!(s, "unimail_heap_bytes{{kind=\"high_water\"}} {high}\nunimail_heap_bytes{{kind=\"size\"}} {size}");
    let _ = writeln!(s, "# TYPE unimail_tcp_sockets gauge\nunimail_tcp_sockets {}", f.tcp_sockets);
    let _ = writeln!(
        s,
        "# TYPE unimail_tcp_refused_per_peer_total counter\nunimail_tcp_refused_per_peer_total {}",
        f.refused_per_peer
    );
    let _ = writeln!(
        s,
        "# TYPE unimail_tcp_duplicate_syns_total counter\nunimail_tcp_duplicate_syns_total {}",
        f.duplicate_syns
    );
    if let Some(smtp) = f.smtp {
        let _ = writeln!(s, "# TYPE unimail_delivered_total counter\nunimail_delivered_total {}", smtp.delivered);
        smtp.screen.stats.write_prometheus(&mut s);
        s.push_str(&smtp.filter.stats.prometheus());
        let mut sum = String::new();
        smtp.screen.stats.write_summary(&mut sum);
        for l in sum.lines().chain(smtp.filter.stats.text().lines()) {
            let _ = writeln!(s, "# summary {l}");
        }
    }
    f.dmarc.prometheus(&mut s);
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

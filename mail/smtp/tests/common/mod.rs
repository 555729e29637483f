//! Test driver: runs a Server over a scripted client input with a chosen
//! fragmentation and records a normalised transcript.
#![allow(dead_code)]

use mail_smtp::*;

/// How the test "kernel" answers requests.
#[derive(Clone)]
pub struct Policy {
    pub rcpt: fn(&Mailbox) -> Reply,
    pub sender: fn(&ReversePath) -> Reply,
    pub message: fn(&Envelope, &[u8]) -> Reply,
    pub auth: fn(&AuthRequest) -> AuthAnswer,
    /// Answer requests only after one more (refused) feed attempt.
    pub deferred: bool,
}

pub fn rcpt_default(m: &Mailbox) -> Reply {
    if m.local.starts_with("unknown") {
        Reply::user_unknown()
    } else {
        Reply::rcpt_ok()
    }
}

pub fn message_default(_e: &Envelope, _d: &[u8]) -> Reply {
    Reply::queued("Q1")
}

pub fn auth_default(a: &AuthRequest) -> AuthAnswer {
    if a.username == "alice" && a.password == "secret" {
        AuthAnswer::Success(a.username.clone())
    } else {
        AuthAnswer::Invalid
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            rcpt: rcpt_default,
            sender: |_| Reply::sender_ok(),
            message: message_default,
            auth: auth_default,
            deferred: false,
        }
    }
}

/// Normalised record of a run: data chunks merged per message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rec {
    Helo(String, bool),
    Sender(ReversePath),
    Rcpt(Mailbox),
    Message(Envelope, Vec<u8>),
    Aborted(AbortReason, Vec<u8>),
    StartTls,
    Auth(AuthRequest),
    Close,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transcript {
    pub out: Vec<u8>,
    pub recs: Vec<Rec>,
    pub closed: bool,
    /// Largest data chunk handed out.
    pub max_chunk: usize,
}

impl Transcript {
    pub fn out_str(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }
    /// Reply lines (code + text), without the greeting.
    pub fn lines(&self) -> Vec<String> {
        self.out_str().split("\r\n").filter(|l| !l.is_empty()).skip(1).map(String::from).collect()
    }
    /// Final-line reply codes, in order (greeting excluded).
    pub fn codes(&self) -> Vec<u16> {
        self.lines().iter().filter(|l| l.as_bytes().get(3) == Some(&b' ')).map(|l| l[..3].parse().unwrap()).collect()
    }
    pub fn messages(&self) -> Vec<(Envelope, Vec<u8>)> {
        self.recs
            .iter()
            .filter_map(|r| match r {
                Rec::Message(e, d) => Some((e.clone(), d.clone())),
                _ => None,
            })
            .collect()
    }
    pub fn has_line(&self, prefix: &str) -> bool {
        self.lines().iter().any(|l| l.starts_with(prefix))
    }
}

pub struct Harness {
    pub s: Server,
    pub policy: Policy,
    pub t: Transcript,
    cur: Vec<u8>,
    pending: Option<Event>,
    pub tls_requested: bool,
}

impl Harness {
    pub fn new(cfg: Config, policy: Policy) -> Self {
        Harness {
            s: Server::new(cfg),
            policy,
            t: Transcript { out: Vec::new(), recs: Vec::new(), closed: false, max_chunk: 0 },
            cur: Vec::new(),
            pending: None,
            tls_requested: false,
        }
    }

    fn answer(&mut self, ev: Event) {
        match ev {
            Event::CheckSender { sender, .. } => {
                let r = (self.policy.sender)(&sender);
                self.s.answer_sender(r).unwrap();
            }
            Event::CheckRecipient(m) => {
                let r = (self.policy.rcpt)(&m);
                self.s.answer_recipient(r).unwrap();
            }
            Event::MessageComplete(env) => {
                let r = (self.policy.message)(&env, &self.cur);
                self.s.answer_message(r).unwrap();
            }
            Event::Authenticate(a) => {
                let r = (self.policy.auth)(&a);
                self.s.answer_auth(r).unwrap();
            }
            _ => unreachable!(),
        }
    }

    fn drain_events(&mut self) {
        while let Some(ev) = self.s.poll_event() {
            match &ev {
                Event::Helo { name, esmtp } => self.t.recs.push(Rec::Helo(name.clone(), *esmtp)),
                Event::CheckSender { sender, .. } => self.t.recs.push(Rec::Sender(sender.clone())),
                Event::CheckRecipient(m) => self.t.recs.push(Rec::Rcpt(m.clone())),
                Event::MessageStart => self.cur.clear(),
                Event::Data(d) => {
                    self.t.max_chunk = self.t.max_chunk.max(d.len());
                    self.cur.extend_from_slice(d)
                }
                Event::MessageComplete(env) => self.t.recs.push(Rec::Message(env.clone(), self.cur.clone())),
                Event::MessageAborted(why) => {
                    self.t.recs.push(Rec::Aborted(*why, core::mem::take(&mut self.cur)));
                    continue;
                }
                Event::StartTls => {
                    self.t.recs.push(Rec::StartTls);
                    self.tls_requested = true;
                    continue;
                }
                Event::Authenticate(a) => self.t.recs.push(Rec::Auth(a.clone())),
                Event::Close => {
                    self.t.recs.push(Rec::Close);
                    self.t.closed = true;
                    continue;
                }
            }
            if matches!(
                ev,
                Event::CheckSender { .. }
                    | Event::CheckRecipient(_)
                    | Event::MessageComplete(_)
                    | Event::Authenticate(_)
            ) {
                if self.policy.deferred {
                    self.pending = Some(ev);
                } else {
                    self.answer(ev);
                }
            }
        }
        self.t.out.extend(self.s.take_output());
    }

    /// Feed one fragment completely (looping while the machine is blocked).
    pub fn feed(&mut self, mut frag: &[u8]) {
        self.drain_events();
        let mut spins = 0;
        while !frag.is_empty() {
            let n = self.s.feed(frag);
            frag = &frag[n..];
            if n == 0 {
                if let Some(ev) = self.pending.take() {
                    self.answer(ev);
                } else {
                    spins += 1;
                    assert!(spins < 3, "server stuck without a pending request");
                }
            } else {
                spins = 0;
            }
            self.drain_events();
        }
        if let Some(ev) = self.pending.take() {
            self.answer(ev);
            self.drain_events();
        }
    }

    pub fn tls_done(&mut self) {
        self.s.tls_established(TlsInfo { version: "TLSv1.3".into(), cipher: "TLS_AES_256_GCM_SHA384".into() }).unwrap();
        self.tls_requested = false;
    }
}

/// Run `input` split at the given cut points.
pub fn run_split(cfg: &Config, policy: &Policy, input: &[u8], sizes: &mut dyn FnMut() -> usize) -> Transcript {
    let mut h = Harness::new(cfg.clone(), policy.clone());
    let mut i = 0;
    while i < input.len() {
        let n = sizes().max(1).min(input.len() - i);
        h.feed(&input[i..i + n]);
        i += n;
    }
    h.feed(b"");
    h.t
}

pub fn run(cfg: &Config, input: &[u8]) -> Transcript {
    run_split(cfg, &Policy::default(), input, &mut || usize::MAX)
}

pub fn run_with(cfg: &Config, policy: &Policy, input: &[u8]) -> Transcript {
    run_split(cfg, policy, input, &mut || usize::MAX)
}

/// Run whole, byte-at-a-time, with fixed sizes and with pseudo-random
/// splits (synchronous and deferred answers), assert all transcripts are
/// identical and return it.
pub fn run_all_splits(cfg: &Config, policy: &Policy, input: &[u8]) -> Transcript {
    let whole = run_with(cfg, policy, input);
    let check = |name: &str, t: Transcript| {
        assert_eq!(t.out_str(), whole.out_str(), "output differs for split {}", name);
        assert_eq!(t.recs, whole.recs, "events differ for split {}", name);
    };
    check("bytes", run_split(cfg, policy, input, &mut || 1));
    for k in [2usize, 3, 5, 7, 64] {
        check(&format!("fixed {}", k), run_split(cfg, policy, input, &mut || k));
    }
    let mut deferred = policy.clone();
    deferred.deferred = true;
    check("deferred whole", run_with(cfg, &deferred, input));
    check("deferred bytes", run_split(cfg, &deferred, input, &mut || 1));
    for seed in 1..=20u64 {
        let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15);
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 40) as usize + 1
        };
        let p = if seed % 2 == 0 { &deferred } else { policy };
        check(&format!("random {}", seed), run_split(cfg, p, input, &mut next));
    }
    whole
}

pub fn cfg() -> Config {
    Config::new("mx.example.org")
}

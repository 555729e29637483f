//! Property-style test: random operation sequences applied to both the
//! Maildir store (on an in-RAM ext2 image, remounted now and then) and
//! mail-imap's `MemStore`; every observable result must agree: errors,
//! returned UIDs, folder lists, per-message UID/flags/size/date, and the
//! STATUS figures.

mod common;
use common::*;
use mail_imap::{Flags, MemStore, Store, SystemFlag};
use mail_store::flags::normalized;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

const FOLDERS: &[&str] = &["INBOX", "A", "B", "A/B", "A/C", "Entwürfe", "C"];
const KEYWORDS: &[&str] = &["Work", "work", "$Junk", "$Forwarded", "$forwarded", "todo", "Later", "x-1"];

fn random_flags(r: &mut Rng) -> Flags {
    let mut f = Flags::new();
    for s in SystemFlag::ALL {
        if r.below(3) == 0 {
            f.set(s, true);
        }
    }
    for _ in 0..r.below(3) {
        let k: &&str = r.pick(KEYWORDS);
        f.add_keyword(k);
    }
    f
}

fn random_message(r: &mut Rng, n: usize) -> Vec<u8> {
    let eol = if r.below(2) == 0 { "\r\n" } else { "\n" };
    format!("Subject: message {n}{eol}X-Pad: {}{eol}{eol}body {n}{eol}", "p".repeat(r.below(300))).into_bytes()
}

fn uids_of(m: &mut MemStore, folder: &str, r: &mut Rng) -> Vec<u32> {
    let mut v: Vec<u32> = match m.list_messages(folder) {
        Ok((_, l)) => l.iter().map(|x| x.uid).filter(|_| r.below(2) == 0).collect(),
        Err(_) => Vec::new(),
    };
    if r.below(5) == 0 {
        v.push(999); // not there: skipped by both
    }
    if r.below(3) == 0 {
        v.reverse(); // COPYUID order follows the request
    }
    v
}

/// Everything a client can observe, in a comparable form.
fn snapshot(st: &mut dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    let mut folders = st.list_folders().unwrap();
    folders.sort();
    out.push(format!("folders {folders:?}"));
    let mut subs = st.subscriptions().unwrap();
    subs.sort();
    out.push(format!("subs {subs:?}"));
    for f in &folders {
        let s = st.folder_status(f).unwrap();
        out.push(format!(
            "{f}: next {} messages {} unseen {} deleted {} size {}",
            s.uid_next, s.messages, s.unseen, s.deleted, s.size
        ));
        let (_, list) = st.list_messages(f).unwrap();
        for m in list {
            let body = mail_imap::mime::to_crlf(&st.read_message(f, m.uid).unwrap()).into_owned();
            out.push(format!(
                "{f} {} {:?} size {} date {} body {}",
                m.uid,
                normalized(&m.flags),
                m.size,
                m.internal_date,
                body.len()
            ));
            assert_eq!(body.len() as u32, m.size, "{f} {}", m.uid);
        }
    }
    out
}

fn run_seed(seed: u64, steps: usize) {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut env = ram_env(24);
    let mut mem = MemStore::new();
    env.store().ensure_user().unwrap();
    let mut n = 0;
    let trace = std::env::var_os("MODEL_TRACE").is_some();
    for step in 0..steps {
        n += 1;
        let op = r.below(100);
        let from = *r.pick(FOLDERS);
        let to = *r.pick(FOLDERS);
        let desc;
        let (a, b): (String, String) = {
            let mut ours = env.store();
            macro_rules! both {
                ($e:expr) => {{
                    let x = {
                        let st: &mut dyn Store = &mut mem;
                        $e(st)
                    };
                    let y = {
                        let st: &mut dyn Store = &mut ours;
                        $e(st)
                    };
                    (format!("{x:?}"), format!("{y:?}"))
                }};
            }
            if op < 30 {
                let f = random_flags(&mut r);
                let msg = random_message(&mut r, n);
                let date = 1_500_000_000 + r.below(100_000_000) as i64;
                desc = format!("append {from} {f:?}");
                both!(|st: &mut dyn Store| st.append(from, &f, Some(date), &msg).map(|x| x.1))
            } else if op < 50 {
                let uids = uids_of(&mut mem, from, &mut r);
                let f = random_flags(&mut r);
                desc = format!("set_flags {from} {uids:?} {f:?}");
                both!(|st: &mut dyn Store| uids.iter().map(|&u| st.set_flags(from, u, &f)).collect::<Vec<_>>())
            } else if op < 60 {
                let uids = uids_of(&mut mem, from, &mut r);
                desc = format!("copy {from} {uids:?} {to}");
                both!(|st: &mut dyn Store| st.copy(from, &uids, to).map(|x| x.1))
            } else if op < 70 {
                let uids = uids_of(&mut mem, from, &mut r);
                desc = format!("move {from} {uids:?} {to}");
                both!(|st: &mut dyn Store| st.move_messages(from, &uids, to).map(|x| x.1))
            } else if op < 78 {
                let uids = uids_of(&mut mem, from, &mut r);
                desc = format!("expunge {from} {uids:?}");
                both!(|st: &mut dyn Store| st.expunge(from, &uids))
            } else if op < 86 {
                desc = format!("create {from}");
                both!(|st: &mut dyn Store| st.create_folder(from))
            } else if op < 90 {
                desc = format!("delete {from}");
                both!(|st: &mut dyn Store| st.delete_folder(from))
            } else if op < 94 {
                desc = format!("rename {from} {to}");
                both!(|st: &mut dyn Store| st.rename_folder(from, to))
            } else {
                let on = r.below(3) != 0;
                desc = format!("subscribe {from} {on}");
                both!(|st: &mut dyn Store| st.set_subscribed(from, on))
            }
        };
        if a != b {
            for d in ["", ".C/", ".Entw&APw-rfe/"] {
                for sub in ["cur", "new"] {
                    eprintln!("{d}{sub}: {:?}", env.ls(&format!("{d}{sub}")));
                }
                eprintln!("{d} uidlist: {:?}", env.cat(&format!("{d}dovecot-uidlist")));
            }
        }
        assert_eq!(a, b, "seed {seed} step {step}: {desc}");
        if trace {
            eprintln!("step {step}: {desc} -> {a}");
        }
        if r.below(25) == 0 {
            env = env.remount();
        }
        // The uidlists hold exactly the live messages (expunged and
        // moved-away lines are dropped), and nothing is left in tmp/.
        let folders = env.store().list_folders().unwrap();
        for f in folders {
            let d = mail_store::names::to_disk(&f).unwrap();
            let d = if d == "INBOX" { String::new() } else { format!(".{d}/") };
            let n = env.store().folder_status(&f).unwrap().messages as usize;
            assert_eq!(env.uidlist(&d).len(), n, "seed {seed} step {step}: {desc}: {f}");
            assert!(env.ls(&format!("{d}tmp")).is_empty());
        }
        let want = snapshot(&mut mem);
        let got = snapshot(&mut env.store());
        assert_eq!(got, want, "seed {seed} step {step}: {desc}");
        // Acknowledged means durable: the device as it is right now (the
        // block cache not written back, as after a power cut) mounts and
        // shows the same mailboxes.
        if step % 3 == 0 {
            let bytes = env.fs.device().as_bytes().to_vec();
            let mut crashed = Env::mount(disk::RamDevice::from_vec(bytes));
            let got = snapshot(&mut crashed.store());
            assert_eq!(got, want, "seed {seed} step {step}: {desc}: after a crash");
        }
    }
}

#[test]
fn maildir_store_behaves_like_memstore() {
    let seeds: u64 = std::env::var("MODEL_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(12);
    for seed in 1..=seeds {
        run_seed(seed, 120);
    }
}

//! ManageSieve (RFC 5804) session fed arbitrary client bytes; requests are
//! answered the way the kernel does, from the disk crate's `SieveStore` on
//! an in-memory ext2 filesystem (so script names and contents from the
//! client reach the filesystem too).
#![no_main]
use disk::sievestore::{SieveStore, SieveStoreError};
use fuzz_common::{empty_fs, fragments, Reader};
use libfuzzer_sys::fuzz_target;
use mail_sieve::managesieve::{Config, Event, QuotaKind, Reply, Request, Session};

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let (flags, split) = (r.byte(), r.byte());
    let input = r.rest();
    let cfg = Config {
        allow_plain_without_tls: flags & 1 != 0,
        max_line: 64 + (flags as usize >> 4) * 64,
        max_script_size: 2000,
        ..Config::default()
    };
    let mut fs = empty_fs();
    let mut s = Session::new(cfg, flags & 2 != 0);
    let mut user: Option<String> = None;
    for piece in fragments(input, split) {
        s.feed(piece);
        while let Some(e) = s.poll() {
            match e {
                Event::Request(Request::Authenticate { user: u, password, .. }) => {
                    let ok = (u == "bob" || u == "alice@example.org") && password == "secret";
                    if ok {
                        user = Some(u);
                    }
                    s.reply(if ok { Reply::AuthOk } else { Reply::AuthFailed });
                }
                Event::Request(req) => {
                    let Some(u) = &user else {
                        s.reply(Reply::Failed("not logged in".into()));
                        continue;
                    };
                    let mut st = SieveStore::new(&mut fs, "/mail", u, 4, 2000, 1_700_000_000);
                    let done = |r: Result<(), SieveStoreError>| r.map(|_| Reply::Done);
                    let res = match req {
                        Request::ListScripts => st.list().map(Reply::Scripts),
                        Request::GetScript { name } => st.get(&name).map(Reply::Script),
                        Request::PutScript { name, content } => done(st.put(&name, &content)),
                        Request::DeleteScript { name } => done(st.delete(&name)),
                        Request::RenameScript { old, new } => done(st.rename(&old, &new)),
                        Request::SetActive { name } => done(st.set_active(name.as_deref())),
                        Request::HaveSpace { name, size } => done(st.have_space(&name, size)),
                        Request::Authenticate { .. } => unreachable!(),
                    };
                    let _ = st.active_script();
                    s.reply(match res {
                        Ok(r) => r,
                        Err(SieveStoreError::NotFound) => Reply::NotFound,
                        Err(SieveStoreError::AlreadyExists) => Reply::AlreadyExists,
                        Err(SieveStoreError::Active) => Reply::Active,
                        Err(SieveStoreError::TooMany) => Reply::Quota(QuotaKind::MaxScripts),
                        Err(SieveStoreError::TooBig) => Reply::Quota(QuotaKind::MaxSize),
                        Err(SieveStoreError::BadName) => Reply::Failed("bad script name".into()),
                        Err(SieveStoreError::Fs(e)) => Reply::Failed(format!("storage error {e:?}")),
                    });
                }
                Event::StartTls => s.tls_established(),
                Event::Write(_) | Event::Close => {}
            }
        }
        if s.is_closed() {
            break;
        }
    }
});

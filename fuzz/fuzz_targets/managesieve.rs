//! ManageSieve (RFC 5804) session fed arbitrary client bytes; requests are
//! answered from a small in-memory script store.
#![no_main]
use fuzz_common::{fragments, Reader};
use libfuzzer_sys::fuzz_target;
use mail_sieve::managesieve::{Config, Event, Reply, Request, Session};

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
    let mut s = Session::new(cfg, flags & 2 != 0);
    let mut scripts: Vec<(String, String, bool)> = vec![("a".into(), "keep;".into(), true)];
    for piece in fragments(input, split) {
        s.feed(piece);
        while let Some(e) = s.poll() {
            match e {
                Event::Request(req) => {
                    let reply = match req {
                        Request::Authenticate { user, password, .. } => {
                            if user == "bob" && password == "secret" {
                                Reply::AuthOk
                            } else {
                                Reply::AuthFailed
                            }
                        }
                        Request::ListScripts => {
                            Reply::Scripts(scripts.iter().map(|(n, _, a)| (n.clone(), *a)).collect())
                        }
                        Request::GetScript { name } => match scripts.iter().find(|s| s.0 == name) {
                            Some(s) => Reply::Script(s.1.clone()),
                            None => Reply::NotFound,
                        },
                        Request::PutScript { name, content } => {
                            scripts.retain(|s| s.0 != name);
                            if scripts.len() < 4 {
                                scripts.push((name, content, false));
                                Reply::Done
                            } else {
                                Reply::Quota(mail_sieve::managesieve::QuotaKind::MaxScripts)
                            }
                        }
                        Request::DeleteScript { name } => {
                            let n = scripts.len();
                            scripts.retain(|s| s.0 != name || s.2);
                            if scripts.len() < n { Reply::Done } else { Reply::NotFound }
                        }
                        Request::RenameScript { old, new } => {
                            if scripts.iter().any(|s| s.0 == new) {
                                Reply::AlreadyExists
                            } else if let Some(s) = scripts.iter_mut().find(|s| s.0 == old) {
                                s.0 = new;
                                Reply::Done
                            } else {
                                Reply::NotFound
                            }
                        }
                        Request::SetActive { name } => {
                            for s in &mut scripts {
                                s.2 = Some(&s.0) == name.as_ref();
                            }
                            Reply::Done
                        }
                        Request::HaveSpace { size, .. } => {
                            if size < 2000 { Reply::Done } else { Reply::Quota(mail_sieve::managesieve::QuotaKind::MaxSize) }
                        }
                    };
                    s.reply(reply);
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

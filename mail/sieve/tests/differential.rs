//! Differential test against Pigeonhole (Debian's dovecot-sieve `sieve-test`).
//!
//! Every script in tests/differential/scripts is run over every message in
//! tests/differential/messages (envelopes in messages/envelopes.txt) by both
//! Pigeonhole and this crate, and so is every "before script + main script"
//! sequence listed in sequences.txt (Pigeonhole `sieve-test -s`, ours
//! `evaluate_sequence`); the normalised action sets must be equal:
//!
//! * `store:<folder> [flags]` (flags lower-cased and sorted: Pigeonhole
//!   lower-cases system flags), for keep, implicit keep and fileinto;
//! * `redirect:<address>`, `discard`, `vacation`;
//! * `error` + `store:INBOX` for a run-time error (RFC 5228 2.10.6);
//! * `compile-error` when the script is rejected.
//!
//! Vacation: `sieve-test` without `-e` lists the vacation action even when
//! Pigeonhole would then decide not to send it (mailing lists, automatic
//! senders, message not addressed to the user, RFC 5230 4.5/4.6); that
//! decision is made when the action is executed. Our evaluator makes the same
//! decision during evaluation. So when Pigeonhole lists a vacation action,
//! the runner executes the pair once more with `-e` (in a throw-away mail
//! store with the named folders created) and counts `vacation` only if
//! Pigeonhole reports "sent vacation response".
//!
//! Deliberate differences, kept out of the corpus:
//! * Pigeonhole 0.5.19's `:matches` accepts any value for a pattern where a
//!   `?` is followed by literal text and a later `*` (`"?xyz*"` matches
//!   "Hello Bob"); we follow RFC 5228 2.7.1 (unit test
//!   `glob_question_then_star` pins our behaviour).
//! * Pigeonhole ignores `:index` on the `date` test (always the first
//!   occurrence); we honour RFC 5260 6 (unit test `date_and_index`).
//!
//! Setup: tests/setup.sh installs dovecot-sieve. Without `sieve-test` the test
//! tries setup.sh; if that fails it is skipped loudly, unless CI is set, in
//! which case it fails.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use mail_sieve::{compile, evaluate_sequence, Action, DateTime, Environment, ExtSet, MimeMessage, RunLimits};

struct Env {
    from: String,
    to: String,
}

impl Environment for Env {
    fn envelope_from(&self) -> &str {
        &self.from
    }
    fn envelope_to(&self) -> &str {
        &self.to
    }
    fn mailbox_exists(&mut self, mailbox: &str) -> bool {
        // sieve-test runs against an empty mail store: only INBOX exists.
        mailbox.eq_ignore_ascii_case("INBOX")
    }
    fn vacation_sent_recently(&mut self, _: &str, _: &str, _: u32) -> bool {
        false
    }
    fn now(&self) -> Option<DateTime> {
        // The machine's zone is UTC (sieve-test shows dates in local time).
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(DateTime { timestamp: t.as_secs() as i64, offset_minutes: 0 })
    }
}

fn norm_flags(flags: &[String]) -> String {
    let mut f: Vec<String> = flags.iter().map(|s| s.to_ascii_lowercase()).collect();
    f.sort();
    f.dedup();
    f.join(" ")
}

/// Our result for the script sequence `scripts` (before scripts, then main).
fn ours(scripts: &[String], msg: &str, from: &str, to: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut compiled = Vec::new();
    for src in scripts {
        match compile(src, ExtSet::all()) {
            Ok(s) => compiled.push(s),
            Err(_) => {
                out.insert("compile-error".to_string());
                return out;
            }
        }
    }
    let refs: Vec<&mail_sieve::Script> = compiled.iter().collect();
    // The delivery path's Message: mail-mime (RFC 2047 decoding included).
    let m = MimeMessage::parse(msg.as_bytes());
    let mut env = Env { from: from.to_string(), to: to.to_string() };
    let o = evaluate_sequence(&refs, &m, &mut env, &RunLimits::default());
    if o.error.is_some() {
        out.insert("error".to_string());
    }
    for a in &o.actions {
        out.insert(match a {
            Action::Keep { flags } => format!("store:INBOX [{}]", norm_flags(flags)),
            Action::FileInto { mailbox, flags, .. } => format!("store:{} [{}]", mailbox, norm_flags(flags)),
            Action::Redirect { address } => format!("redirect:{}", address.to_ascii_lowercase()),
            Action::Discard => "discard".to_string(),
            Action::Vacation(_) => "vacation".to_string(),
        });
    }
    out
}

struct Pigeon {
    work: PathBuf,
}

impl Pigeon {
    fn cmd(&self, home: &Path) -> Command {
        let mut c = Command::new("sieve-test");
        c.env("TZ", "UTC");
        c.args(["-c", "/dev/null", "-o", "mail_uid=65534", "-o", "mail_gid=65534", "-C", "-x", "+editheader"]);
        c.arg("-o").arg(format!("mail_location=maildir:{}", home.display()));
        c
    }

    fn fresh_dir(&self, name: &str) -> PathBuf {
        let d = self.work.join(name);
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        chmod_777(&d);
        d
    }

    /// Pigeonhole's result for `before` scripts (`-s`) then `script`.
    fn run(&self, before: &[PathBuf], script: &Path, msg: &Path, from: &str, to: &str) -> BTreeSet<String> {
        let sdir = self.fresh_dir("script");
        let sp = sdir.join("s.sieve");
        fs::copy(script, &sp).unwrap();
        chmod_777(&sp);
        let mut befores = Vec::new();
        for (i, b) in before.iter().enumerate() {
            let p = sdir.join(format!("before{i}.sieve"));
            fs::copy(b, &p).unwrap();
            chmod_777(&p);
            befores.push(p);
        }
        let home = self.fresh_dir("home");
        let mut cmd = self.cmd(&home);
        // sieve-test opens -s scripts only by a relative path.
        cmd.current_dir(&sdir);
        for b in &befores {
            cmd.arg("-s").arg(b.file_name().unwrap());
        }
        let o = cmd.args(["-a", to, "-r", to, "-f", from]).arg(&sp).arg(msg).output().expect("run sieve-test");
        let stdout = String::from_utf8_lossy(&o.stdout).to_string();
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        let mut out = BTreeSet::new();
        if stderr.contains("final result: failed") {
            out.insert("error".to_string());
            out.insert("store:INBOX []".to_string());
            return out;
        }
        if !o.status.success() {
            assert!(
                stderr.contains("error") || stdout.contains("error"),
                "sieve-test failed oddly:\n{stdout}\n{stderr}"
            );
            out.insert("compile-error".to_string());
            return out;
        }
        // Parse the "Performed actions:" and "Implicit keep:" sections (one
        // pair per script with -s); only the last script's implicit keep
        // counts, the earlier ones were deferred to the next script.
        let mut folders = Vec::new();
        let mut performed: Vec<(String, Vec<String>)> = Vec::new();
        let mut implicit: Vec<(String, Vec<String>)> = Vec::new();
        let mut in_implicit = false;
        for line in stdout.lines() {
            let t = line.trim();
            if t.starts_with("## Executing script") {
                implicit.clear();
                in_implicit = false;
            } else if t == "Performed actions:" {
                in_implicit = false;
            } else if t == "Implicit keep:" {
                in_implicit = true;
                implicit.clear();
            } else if let Some(rest) = t.strip_prefix("* ") {
                let list = if in_implicit { &mut implicit } else { &mut performed };
                list.push((rest.to_string(), Vec::new()));
            } else if let Some(rest) = t.strip_prefix("+ add IMAP flags: ") {
                let list = if in_implicit { &mut implicit } else { &mut performed };
                if let Some(c) = list.last_mut() {
                    c.1.extend(rest.split(' ').map(|s| s.to_string()));
                }
            }
        }
        let mut vacation = false;
        for (what, flags) in performed.into_iter().chain(implicit) {
            let what = if what == "keep" { "store message in folder: INBOX".to_string() } else { what };
            if let Some(f) = what.strip_prefix("store message in folder: ") {
                // Across scripts Pigeonhole lists a store again, but executes
                // only the first one (checked with -e: one file, the first
                // script's flags); within a script the listing is merged.
                if folders.iter().any(|x| x == f) {
                    continue;
                }
                folders.push(f.to_string());
                out.insert(format!("store:{} [{}]", f, norm_flags(&flags)));
            } else if let Some(a) = what.strip_prefix("redirect message to: ") {
                out.insert(format!("redirect:{}", a.trim_matches(|c| c == '<' || c == '>').to_ascii_lowercase()));
            } else if what == "discard" {
                out.insert("discard".to_string());
            } else if what.starts_with("send vacation message") {
                vacation = true;
            } else {
                panic!("unknown Pigeonhole action line: {what}\n{stdout}");
            }
        }
        if vacation && self.vacation_sent(&sp, msg, from, to, &folders) {
            out.insert("vacation".to_string());
        }
        out
    }

    /// Executes the actions (`-e`) to learn whether the reply is really sent.
    fn vacation_sent(&self, script: &Path, msg: &Path, from: &str, to: &str, folders: &[String]) -> bool {
        let home = self.fresh_dir("home-e");
        for f in folders {
            if f != "INBOX" {
                for sub in ["cur", "new", "tmp"] {
                    let d = home.join(format!(".{f}")).join(sub);
                    fs::create_dir_all(&d).unwrap();
                }
            }
        }
        chmod_r(&home);
        let o = self
            .cmd(&home)
            .args(["-e", "-a", to, "-r", to, "-f", from])
            .arg(script)
            .arg(msg)
            .output()
            .expect("run sieve-test -e");
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        all.contains("sent vacation response")
    }
}

fn chmod_777(p: &Path) {
    let _ = Command::new("chmod").arg("777").arg(p).status();
}
fn chmod_r(p: &Path) {
    let _ = Command::new("chmod").arg("-R").arg("777").arg(p).status();
}

fn have_sieve_test() -> bool {
    Command::new("sieve-test").arg("-h").output().is_ok()
}

#[test]
fn differential_against_pigeonhole() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    if !have_sieve_test() {
        let _ = Command::new("sh").arg(dir.join("setup.sh")).status();
    }
    if !have_sieve_test() {
        if std::env::var_os("CI").is_some() {
            panic!("sieve-test (dovecot-sieve) is missing and CI is set: run mail/sieve/tests/setup.sh");
        }
        eprintln!("\n\n*** SKIPPING the Pigeonhole differential test: sieve-test not installed ***\n\n");
        return;
    }
    let corpus = dir.join("differential");
    let work = std::env::temp_dir().join(format!("sieve-diff-{}", std::process::id()));
    fs::create_dir_all(&work).unwrap();
    chmod_777(&work);
    let pig = Pigeon { work: work.clone() };

    let envs = fs::read_to_string(corpus.join("messages/envelopes.txt")).unwrap();
    let mut messages = Vec::new();
    for line in envs.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        messages.push((f[0].to_string(), f[1].to_string(), f[2].to_string()));
    }
    let mut scripts: Vec<PathBuf> = fs::read_dir(corpus.join("scripts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sieve"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 25 && messages.len() >= 6);

    // Sequences: before scripts x main scripts (sequences.txt).
    let seq = fs::read_to_string(corpus.join("sequences.txt")).unwrap();
    let list = |key: &str| -> Vec<String> {
        seq.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|r| r.split_whitespace().map(|s| s.to_string()).collect())
            .unwrap_or_default()
    };
    let (befores, mains) = (list("before:"), list("main:"));
    assert!(!befores.is_empty() && !mains.is_empty());
    let mut jobs: Vec<(Vec<PathBuf>, PathBuf)> = scripts.iter().map(|s| (Vec::new(), s.clone())).collect();
    for b in &befores {
        for m in &mains {
            jobs.push((vec![corpus.join("before").join(b)], corpus.join("scripts").join(m)));
        }
    }

    let mut pairs = 0;
    let mut failures = Vec::new();
    let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
    for (before, sp) in &jobs {
        let mut srcs: Vec<String> = before.iter().map(|b| fs::read_to_string(b).unwrap()).collect();
        srcs.push(fs::read_to_string(sp).unwrap());
        let label = before
            .iter()
            .chain(std::iter::once(sp))
            .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
            .collect::<Vec<_>>()
            .join(" + ");
        for (m, from, to) in &messages {
            let mp = corpus.join("messages").join(m);
            let raw = fs::read_to_string(&mp).unwrap();
            let a = ours(&srcs, &raw, from, to);
            let b = pig.run(before, sp, &mp, from, to);
            pairs += 1;
            for x in &b {
                let kind = x.split([':', ' ']).next().unwrap_or("").to_string();
                *seen.entry(kind).or_default() += 1;
            }
            if a != b {
                failures.push(format!("{} x {}:\n   ours:       {:?}\n   pigeonhole: {:?}", label, m, a, b));
            }
        }
    }
    let _ = fs::remove_dir_all(&work);
    eprintln!("differential: {pairs} script x message pairs, {} disagreements", failures.len());
    eprintln!("differential: outcome kinds seen (Pigeonhole side): {seen:?}");
    assert!(pairs >= 100);
    // The corpus must exercise every kind of outcome.
    for k in ["store", "redirect", "discard", "vacation", "error", "compile-error"] {
        assert!(seen.get(k).copied().unwrap_or(0) > 0, "corpus never produced {k}");
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
}

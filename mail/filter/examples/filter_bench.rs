//! Throughput and accuracy of the whole content filter on a mail corpus
//! (host tool for docs/BENCHMARKS.md; figures, no asserts).
//!
//! ```text
//! cargo run --release -p mail-filter --example filter_bench -- \
//!     --spam DIR --ham DIR [--train 0.66] [--min-learned N] [--per-message]
//! ```
//!
//! Files of each directory are sorted by name; the first `--train` part of
//! each is learned (Engine::learn, as IMAP Junk moves would), the rest goes
//! through Engine::check (antivirus + Bayes + verdict) and is timed.
//! `--per-message` prints `path class probability action score` lines, for
//! comparing with another classifier (rspamd) message by message.

use std::path::PathBuf;
use std::time::Instant;

use mail_antivirus::default_database;
use mail_bayes::{BayesConfig, Store};
use mail_config::FilterThresholds;
use mail_filter::{Auth, Engine, Learn, Policy};

fn files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let (Some(spam_dir), Some(ham_dir)) = (arg("--spam"), arg("--ham")) else {
        eprintln!("usage: filter_bench --spam DIR --ham DIR [--train 0.66] [--min-learned N] [--per-message]");
        std::process::exit(2);
    };
    let train: f64 = arg("--train").map_or(0.66, |s| s.parse().expect("--train"));
    let min_learned: u64 = arg("--min-learned").map_or(200, |s| s.parse().expect("--min-learned"));
    let per_message = args.iter().any(|a| a == "--per-message");

    let cfg = BayesConfig { min_learned, ..BayesConfig::default() };
    let mut engine = Engine::new(default_database(), Store::new(cfg), Policy::default());
    let thresholds = FilterThresholds::default();
    let mut test = Vec::new();
    let t0 = Instant::now();
    let mut learned = 0usize;
    for (dir, class) in [(&spam_dir, Learn::Spam), (&ham_dir, Learn::Ham)] {
        let all = files(dir);
        let n_train = (all.len() as f64 * train) as usize;
        for p in &all[..n_train] {
            engine.learn(&std::fs::read(p).expect("read"), class);
            learned += 1;
        }
        test.extend(all[n_train..].iter().map(|p| (p.clone(), class)));
    }
    let learn_secs = t0.elapsed().as_secs_f64();

    let msgs: Vec<(PathBuf, Learn, Vec<u8>)> =
        test.into_iter().map(|(p, c)| (p.clone(), c, std::fs::read(&p).expect("read"))).collect();
    let bytes: usize = msgs.iter().map(|m| m.2.len()).sum();
    // Auto-learn off while measuring, so the test set does not train itself.
    engine.policy.autolearn.spam_at = Some(mail_config::Score(i32::MAX));
    engine.policy.autolearn.ham_at = None;
    let (mut tp, mut fp, mut fn_, mut tn, mut nv) = (0u32, 0u32, 0u32, 0u32, 0u32);
    let t1 = Instant::now();
    for (path, class, raw) in &msgs {
        let c = engine.check(raw, Auth::default(), 0, Vec::new(), &thresholds);
        let said_spam = c.bayes.is_some_and(|p| p > 0.5);
        if c.bayes.is_none() {
            nv += 1;
        }
        match (class, said_spam) {
            (Learn::Spam, true) => tp += 1,
            (Learn::Ham, true) => fp += 1,
            (Learn::Spam, false) => fn_ += 1,
            (Learn::Ham, false) => tn += 1,
        }
        if per_message {
            let cls = if *class == Learn::Spam { "spam" } else { "ham" };
            let prob = c.bayes.map_or(String::from("-"), |p| format!("{p:.4}"));
            println!(
                "{} {cls} {prob} {} {}",
                path.display(),
                c.verdict.action.name().replace(' ', "_"),
                c.verdict.score
            );
        }
    }
    let secs = t1.elapsed().as_secs_f64();
    let n = msgs.len().max(1) as f64;
    println!("learned {learned} messages in {learn_secs:.3} s ({:.0} msg/s)", learned as f64 / learn_secs.max(1e-9));
    println!(
        "checked {} messages ({:.1} MB) in {secs:.3} s: {:.0} msg/s, {:.2} MB/s, {:.1} us/msg",
        msgs.len(),
        bytes as f64 / 1e6,
        n / secs.max(1e-9),
        bytes as f64 / 1e6 / secs.max(1e-9),
        secs * 1e6 / n
    );
    let precision = f64::from(tp) / f64::from(tp + fp).max(1.0);
    let recall = f64::from(tp) / f64::from(tp + fn_).max(1.0);
    println!("bayes: TP {tp} FP {fp} FN {fn_} TN {tn} no-vote {nv}; precision {precision:.4} recall {recall:.4}");
    print!("{}", engine.stats.text());
}

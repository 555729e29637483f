//! Writes the generated test corpus (tests/common) as files, for
//! benchmarks that feed the same mail to this filter and to rspamd.
//!
//! ```text
//! cargo run -p mail-bayes --example gen_corpus -- OUT_DIR [PER_CLASS]
//! ```
//!
//! Creates `OUT_DIR/spam/NNNNN.eml` and `OUT_DIR/ham/NNNNN.eml`, PER_CLASS
//! (default 1200) of each, the same messages as the corpus test.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Gen, Rng};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: gen_corpus OUT_DIR [PER_CLASS]");
        std::process::exit(2);
    };
    let per_class: usize = args.get(1).map_or(1200, |s| s.parse().expect("PER_CLASS"));
    let g = Gen::new();
    let mut r = Rng(0x5eed_1234_abcd_0001);
    for d in ["spam", "ham"] {
        std::fs::create_dir_all(format!("{out}/{d}")).expect("create dir");
    }
    for i in 0..2 * per_class {
        let spam = i % 2 == 0;
        let m = g.message(&mut r, spam);
        let path = format!("{out}/{}/{:05}.eml", if spam { "spam" } else { "ham" }, i / 2);
        std::fs::write(&path, m).expect("write");
    }
    println!("wrote {per_class} spam and {per_class} ham messages under {out}");
}

//! Scanner throughput with many signatures (host tool for
//! docs/BENCHMARKS.md; figures, no asserts).
//!
//! ```text
//! cargo run --release -p mail-antivirus --example av_bench -- [SIGS] [MB]
//! ```
//!
//! Generates SIGS random `.ndb` signatures (default 50000: literals, `??`,
//! `{n-m}`, `*` and alternatives, 8 to 40 bytes) and MB megabytes (default
//! 16) of mixed text and binary data, then times loading and scanning.

use std::time::Instant;

use mail_antivirus::{Database, Format};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n_sigs: usize = args.first().map_or(50_000, |s| s.parse().expect("SIGS"));
    let mb: usize = args.get(1).map_or(16, |s| s.parse().expect("MB"));
    let mut r = Rng(0x1234_5678);
    let mut text = String::new();
    for i in 0..n_sigs {
        let mut hex = String::new();
        for part in 0..(2 + r.below(3)) {
            if part > 0 {
                hex.push_str(match r.below(4) {
                    0 => "??",
                    1 => "{2-8}",
                    2 => "*",
                    _ => "(41|42|43)",
                });
            }
            for _ in 0..(4 + r.below(10)) {
                hex.push_str(&format!("{:02x}", r.below(256)));
            }
        }
        text.push_str(&format!("Bench.{i}:0:*:{hex}\n"));
    }
    let t = Instant::now();
    let mut db = Database::new();
    let report = db.load(Format::Ndb, &text).expect("generated signatures parse");
    let load = t.elapsed().as_secs_f64();
    let mut data = Vec::with_capacity(mb << 20);
    let words: [&[u8]; 8] = [b"the ", b"mail ", b"server ", b"attachment ", b"\r\n", b"base64 ", b"0000", b"MZ\x90\0"];
    while data.len() < mb << 20 {
        if r.below(4) == 0 {
            data.extend((0..64).map(|_| r.next() as u8));
        } else {
            data.extend_from_slice(words[r.below(words.len() as u64) as usize]);
        }
    }
    let t = Instant::now();
    let hit = db.scan_bytes(&data).map(str::to_string);
    let secs = t.elapsed().as_secs_f64();
    println!("loaded {} signatures in {load:.3} s", report.loaded);
    println!(
        "scanned {} MB in {secs:.3} s: {:.1} MB/s (hit: {hit:?})",
        data.len() >> 20,
        data.len() as f64 / 1e6 / secs.max(1e-9)
    );
}

//! Token store and classifier: per-token (spam, ham) counts plus learned
//! message counts, Robinson's f(w) with Fisher's chi-square combining (the
//! SpamBayes / bogofilter scheme; rspamd's Bayes is a close relative), a
//! learn cache so re-learning a message as the other class moves it
//! instead of counting it twice, bounded size with pruning, and a compact
//! binary serialisation for `bayes/tokens` on the mail disk.

use alloc::collections::{BTreeMap, VecDeque};

use crate::table::Table;
use alloc::vec::Vec;
use core::fmt;

use crate::hash::TokenHasher;
use crate::tokenize::Tokens;

/// Classifier and store settings.
#[derive(Clone, Debug, PartialEq)]
pub struct BayesConfig {
    /// Messages of each class learned before the classifier votes (rspamd's
    /// `min_learns`; its default is 200).
    pub min_learned: u64,
    /// Known tokens a message must have before the classifier votes
    /// (rspamd's `min_tokens` is 11).
    pub min_tokens: usize,
    /// Most significant tokens combined per message (SpamBayes: 150).
    pub max_discriminators: usize,
    /// Tokens kept; past this the rarest are pruned.
    pub max_tokens: usize,
    /// Message keys remembered for the learn cache.
    pub learn_cache: usize,
}

impl Default for BayesConfig {
    fn default() -> Self {
        BayesConfig {
            min_learned: 200,
            min_tokens: 11,
            max_discriminators: 150,
            max_tokens: 500_000,
            learn_cache: 20_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Spam,
    Ham,
}

impl Class {
    fn other(self) -> Class {
        match self {
            Class::Spam => Class::Ham,
            Class::Ham => Class::Spam,
        }
    }
}

/// What a learn call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearnOutcome {
    Learned,
    /// The message was learned as the other class before; it was unlearned
    /// there and learned here (a move out of / into Junk).
    Relearned,
    /// Already learned as this class: nothing changed.
    AlreadyLearned,
}

/// Why the classifier abstains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoVote {
    /// Too few messages of a class learned yet.
    NotEnoughLearned { spam: u64, ham: u64, need: u64 },
    /// Too few of the message's tokens are known.
    NotEnoughTokens { found: usize, need: usize },
}

/// Classifier output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Classification {
    NoVote(NoVote),
    /// Spam probability in [0, 1] and the number of tokens it rests on.
    Probability {
        spam: f64,
        tokens: usize,
    },
}

impl Classification {
    pub fn probability(&self) -> Option<f64> {
        match self {
            Classification::Probability { spam, .. } => Some(*spam),
            Classification::NoVote(_) => None,
        }
    }
}

/// Counts of one token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub spam: u32,
    pub ham: u32,
}

/// The per-installation token store.
#[derive(Clone, Debug)]
pub struct Store {
    cfg: BayesConfig,
    tokens: Table,
    spam_msgs: u64,
    ham_msgs: u64,
    cache: BTreeMap<u64, Class>,
    cache_order: VecDeque<u64>,
    dirty: bool,
}

/// A `bayes/tokens` file that cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    BadMagic,
    UnsupportedVersion(u32),
    Truncated,
    /// More tokens or cache entries than the configuration allows.
    TooLarge,
    /// Token hashes not strictly ascending.
    NotSorted,
    BadClass,
    /// A token with both counts zero (never written).
    ZeroCounts,
    BadChecksum,
    TrailingBytes,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::BadMagic => write!(f, "not a unimail Bayes token file"),
            LoadError::UnsupportedVersion(v) => write!(f, "unsupported token file version {v}"),
            LoadError::Truncated => write!(f, "token file truncated"),
            LoadError::TooLarge => write!(f, "token file larger than the configured limits"),
            LoadError::NotSorted => write!(f, "token file not sorted"),
            LoadError::BadClass => write!(f, "bad class in learn cache"),
            LoadError::ZeroCounts => write!(f, "token with zero counts"),
            LoadError::BadChecksum => write!(f, "token file checksum mismatch"),
            LoadError::TrailingBytes => write!(f, "trailing bytes after token file"),
        }
    }
}

/// File magic and version of the serialisation.
pub const MAGIC: &[u8; 8] = b"UMBAYES\0";
pub const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 8 + 8 + 4 + 4;

// Robinson's f(w): strength of the prior and its value.
const PRIOR_S: f64 = 1.0;
const PRIOR_X: f64 = 0.5;
// Tokens closer than this to 0.5 carry no information.
const MIN_DEV: f64 = 0.1;

/// SpamBayes's chi2Q: the probability that chi-square with `v` (even)
/// degrees of freedom exceeds `x2`.
fn chi2q(x2: f64, v: usize) -> f64 {
    let m = x2 / 2.0;
    let mut term = libm::exp(-m);
    let mut sum = term;
    for i in 1..v / 2 {
        term *= m / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

impl Store {
    pub fn new(cfg: BayesConfig) -> Store {
        Store {
            cfg,
            tokens: Table::default(),
            spam_msgs: 0,
            ham_msgs: 0,
            cache: BTreeMap::new(),
            cache_order: VecDeque::new(),
            dirty: false,
        }
    }

    pub fn config(&self) -> &BayesConfig {
        &self.cfg
    }

    /// Messages learned as (spam, ham).
    pub fn learned(&self) -> (u64, u64) {
        (self.spam_msgs, self.ham_msgs)
    }

    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    pub fn counts(&self, token: u64) -> Counts {
        self.tokens.get(token).unwrap_or_default()
    }

    /// True after a change not yet saved; the caller writes
    /// [`Store::to_bytes`] to `bayes/tokens` and calls [`Store::saved`].
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub fn saved(&mut self) {
        self.dirty = false;
    }

    /// Learns a message. `key` identifies the message (e.g.
    /// [`crate::message_key`]) for the learn cache; `None` skips the cache.
    pub fn learn(&mut self, tokens: &Tokens, class: Class, key: Option<u64>) -> LearnOutcome {
        let mut outcome = LearnOutcome::Learned;
        if let Some(k) = key {
            match self.cache.get(&k) {
                Some(&c) if c == class => return LearnOutcome::AlreadyLearned,
                Some(&c) => {
                    self.apply(tokens, c, false);
                    outcome = LearnOutcome::Relearned;
                }
                None => {}
            }
            self.remember(k, class);
        }
        self.apply(tokens, class, true);
        if self.tokens.len() > self.cfg.max_tokens {
            self.prune();
        }
        outcome
    }

    /// Unlearns a message learned as `class`. With a key, only when the
    /// cache says it was learned so (returns false otherwise).
    pub fn unlearn(&mut self, tokens: &Tokens, class: Class, key: Option<u64>) -> bool {
        if let Some(k) = key {
            if self.cache.get(&k) != Some(&class) {
                return false;
            }
            self.cache.remove(&k);
            self.cache_order.retain(|&x| x != k);
        }
        self.apply(tokens, class, false);
        true
    }

    fn remember(&mut self, k: u64, class: Class) {
        if self.cache.insert(k, class).is_none() {
            self.cache_order.push_back(k);
        }
        while self.cache_order.len() > self.cfg.learn_cache {
            if let Some(old) = self.cache_order.pop_front() {
                self.cache.remove(&old);
            }
        }
    }

    fn apply(&mut self, tokens: &Tokens, class: Class, add: bool) {
        self.dirty = true;
        let msgs = match class {
            Class::Spam => &mut self.spam_msgs,
            Class::Ham => &mut self.ham_msgs,
        };
        // Saturating: the counts come from the disk file, which may say anything.
        *msgs = if add { msgs.saturating_add(1) } else { msgs.saturating_sub(1) };
        for &t in &tokens.0 {
            if add {
                self.tokens.update(t, |c| match class {
                    Class::Spam => c.spam = c.spam.saturating_add(1),
                    Class::Ham => c.ham = c.ham.saturating_add(1),
                });
            } else if self.tokens.get(t).is_some() {
                self.tokens.update(t, |c| match class {
                    Class::Spam => c.spam = c.spam.saturating_sub(1),
                    Class::Ham => c.ham = c.ham.saturating_sub(1),
                });
            }
        }
    }

    /// Drops the rarest tokens (total count 1, then up to 2, 4, 8, ...)
    /// until the store is at 90% of its bound: rare tokens carry the least
    /// evidence. The doubling keeps the passes few whatever the counts.
    pub fn prune(&mut self) {
        let target = self.cfg.max_tokens - self.cfg.max_tokens / 10;
        let mut floor = 1u64;
        while self.tokens.len() > target {
            self.tokens.retain(|c| u64::from(c.spam) + u64::from(c.ham) > floor);
            floor = floor.saturating_mul(2);
        }
        self.dirty = true;
    }

    /// Robinson's f(w) for a token, if known.
    fn token_prob(&self, c: Counts) -> Option<f64> {
        let n = f64::from(c.spam) + f64::from(c.ham);
        if n == 0.0 {
            return None;
        }
        let sf = f64::from(c.spam) / self.spam_msgs.max(1) as f64;
        let hf = f64::from(c.ham) / self.ham_msgs.max(1) as f64;
        let p = sf / (sf + hf);
        Some((PRIOR_S * PRIOR_X + n * p) / (PRIOR_S + n))
    }

    /// Spam probability of a message, or why there is none.
    pub fn classify(&self, tokens: &Tokens) -> Classification {
        let need = self.cfg.min_learned;
        if self.spam_msgs < need || self.ham_msgs < need {
            return Classification::NoVote(NoVote::NotEnoughLearned { spam: self.spam_msgs, ham: self.ham_msgs, need });
        }
        let mut clues: Vec<f64> = tokens
            .0
            .iter()
            .filter_map(|&t| self.tokens.get(t))
            .filter_map(|c| self.token_prob(c))
            .filter(|f| (f - 0.5).abs() >= MIN_DEV)
            .collect();
        if clues.len() < self.cfg.min_tokens {
            return Classification::NoVote(NoVote::NotEnoughTokens { found: clues.len(), need: self.cfg.min_tokens });
        }
        clues.sort_unstable_by(|a, b| (b - 0.5).abs().total_cmp(&(a - 0.5).abs()));
        clues.truncate(self.cfg.max_discriminators);
        let (mut ln_f, mut ln_1f) = (0.0, 0.0);
        for &f in &clues {
            let f = f.clamp(0.01, 0.99);
            ln_f += libm::log(f);
            ln_1f += libm::log(1.0 - f);
        }
        let n = clues.len();
        // Fisher: S near 1 when the f are near 1 (spammy), H likewise for ham.
        let s = 1.0 - chi2q(-2.0 * ln_1f, 2 * n);
        let h = 1.0 - chi2q(-2.0 * ln_f, 2 * n);
        Classification::Probability { spam: ((s - h + 1.0) / 2.0).clamp(0.0, 1.0), tokens: n }
    }

    /// The `bayes/tokens` file: magic, version, learned counts, token and
    /// learn-cache counts, the tokens ascending as (hash, spam, ham), the
    /// cache oldest first as (key, class), then a 64-bit checksum of all
    /// the preceding bytes. Little-endian; 16 bytes per token.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + 16 * self.tokens.len() + 9 * self.cache_order.len() + 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.spam_msgs.to_le_bytes());
        out.extend_from_slice(&self.ham_msgs.to_le_bytes());
        out.extend_from_slice(&(self.tokens.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.cache_order.len() as u32).to_le_bytes());
        for (h, c) in self.tokens.iter() {
            out.extend_from_slice(&h.to_le_bytes());
            out.extend_from_slice(&c.spam.to_le_bytes());
            out.extend_from_slice(&c.ham.to_le_bytes());
        }
        for k in &self.cache_order {
            out.extend_from_slice(&k.to_le_bytes());
            out.push(match self.cache[k] {
                Class::Spam => b'S',
                Class::Ham => b'H',
            });
        }
        let sum = TokenHasher::default().write(&out).finish();
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Loads a `bayes/tokens` file; every size is checked against the
    /// input length and the configuration before allocating.
    pub fn from_bytes(bytes: &[u8], cfg: BayesConfig) -> Result<Store, LoadError> {
        let mut r = Reader { b: bytes, pos: 0 };
        if r.take(8).ok_or(LoadError::BadMagic)? != MAGIC {
            return Err(LoadError::BadMagic);
        }
        let version = r.u32()?;
        if version != VERSION {
            return Err(LoadError::UnsupportedVersion(version));
        }
        let spam_msgs = r.u64()?;
        let ham_msgs = r.u64()?;
        let n_tokens = r.u32()? as usize;
        let n_cache = r.u32()? as usize;
        if n_tokens > cfg.max_tokens || n_cache > cfg.learn_cache {
            return Err(LoadError::TooLarge);
        }
        let body = n_tokens.checked_mul(16).and_then(|t| t.checked_add(n_cache * 9 + 8)).ok_or(LoadError::TooLarge)?;
        match bytes.len().checked_sub(r.pos) {
            Some(left) if left == body => {}
            Some(left) if left > body => return Err(LoadError::TrailingBytes),
            _ => return Err(LoadError::Truncated),
        }
        let sum_at = bytes.len() - 8;
        let want = u64::from_le_bytes(bytes[sum_at..].try_into().map_err(|_| LoadError::Truncated)?);
        if TokenHasher::default().write(&bytes[..sum_at]).finish() != want {
            return Err(LoadError::BadChecksum);
        }
        let mut store = Store::new(cfg);
        store.spam_msgs = spam_msgs;
        store.ham_msgs = ham_msgs;
        let mut prev: Option<u64> = None;
        let mut base = Vec::with_capacity(n_tokens);
        for _ in 0..n_tokens {
            let h = r.u64()?;
            if prev.is_some_and(|p| p >= h) {
                return Err(LoadError::NotSorted);
            }
            prev = Some(h);
            let c = Counts { spam: r.u32()?, ham: r.u32()? };
            if c.spam == 0 && c.ham == 0 {
                return Err(LoadError::ZeroCounts);
            }
            base.push((h, c));
        }
        store.tokens = Table::from_sorted(base);
        for _ in 0..n_cache {
            let k = r.u64()?;
            let class = match r.take(1).ok_or(LoadError::Truncated)?[0] {
                b'S' => Class::Spam,
                b'H' => Class::Ham,
                _ => return Err(LoadError::BadClass),
            };
            store.remember(k, class);
        }
        Ok(store)
    }
}

impl Class {
    /// For callers that hold the other class (Junk move out).
    pub fn opposite(self) -> Class {
        self.other()
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u32(&mut self) -> Result<u32, LoadError> {
        Ok(u32::from_le_bytes(self.take(4).ok_or(LoadError::Truncated)?.try_into().map_err(|_| LoadError::Truncated)?))
    }
    fn u64(&mut self) -> Result<u64, LoadError> {
        Ok(u64::from_le_bytes(self.take(8).ok_or(LoadError::Truncated)?.try_into().map_err(|_| LoadError::Truncated)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn toks(v: &[u64]) -> Tokens {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.dedup();
        Tokens(v)
    }

    fn small() -> BayesConfig {
        BayesConfig { min_learned: 2, min_tokens: 2, ..BayesConfig::default() }
    }

    #[test]
    fn learn_classify_unlearn() {
        let mut s = Store::new(small());
        let spam = toks(&[1, 2, 3, 10]);
        let ham = toks(&[4, 5, 6, 10]);
        assert_eq!(s.classify(&spam), Classification::NoVote(NoVote::NotEnoughLearned { spam: 0, ham: 0, need: 2 }));
        for i in 0..3 {
            s.learn(&spam, Class::Spam, Some(100 + i));
            s.learn(&ham, Class::Ham, Some(200 + i));
        }
        assert_eq!(s.learned(), (3, 3));
        assert_eq!(s.counts(10), Counts { spam: 3, ham: 3 });
        let p = s.classify(&toks(&[1, 2, 3])).probability().unwrap();
        assert!(p > 0.9, "{p}");
        let p = s.classify(&toks(&[4, 5, 6])).probability().unwrap();
        assert!(p < 0.1, "{p}");
        // Token 10 is neutral, 99 unknown: not enough evidence.
        assert_eq!(
            s.classify(&toks(&[10, 99, 1])),
            Classification::NoVote(NoVote::NotEnoughTokens { found: 1, need: 2 })
        );
        assert!(s.unlearn(&spam, Class::Spam, Some(100)));
        assert!(!s.unlearn(&spam, Class::Spam, Some(100)));
        assert!(!s.unlearn(&spam, Class::Ham, Some(101)));
        assert_eq!(s.learned(), (2, 3));
        assert_eq!(s.counts(1), Counts { spam: 2, ham: 0 });
        // Unlearning to zero removes the token.
        s.unlearn(&toks(&[1]), Class::Spam, None);
        s.unlearn(&toks(&[1]), Class::Spam, None);
        assert_eq!(s.token_count(), 7 - 1);
    }

    #[test]
    fn learn_cache_moves_between_classes() {
        let mut s = Store::new(small());
        let t = toks(&[7, 8]);
        assert_eq!(s.learn(&t, Class::Spam, Some(1)), LearnOutcome::Learned);
        assert_eq!(s.learn(&t, Class::Spam, Some(1)), LearnOutcome::AlreadyLearned);
        assert_eq!(s.learned(), (1, 0));
        assert_eq!(s.learn(&t, Class::Ham, Some(1)), LearnOutcome::Relearned);
        assert_eq!(s.learned(), (0, 1));
        assert_eq!(s.counts(7), Counts { spam: 0, ham: 1 });
        // The cache is bounded: the oldest key is forgotten.
        let mut s = Store::new(BayesConfig { learn_cache: 2, ..small() });
        for k in 0..3 {
            s.learn(&t, Class::Spam, Some(k));
        }
        assert_eq!(s.learn(&t, Class::Spam, Some(0)), LearnOutcome::Learned);
        assert_eq!(s.learn(&t, Class::Spam, Some(2)), LearnOutcome::AlreadyLearned);
    }

    #[test]
    fn pruning_keeps_frequent_tokens() {
        let mut s = Store::new(BayesConfig { max_tokens: 100, ..small() });
        let common = toks(&[1, 2, 3]);
        for i in 0..50u64 {
            let mut v = vec![1, 2, 3];
            v.extend((0..5).map(|j| 1000 + i * 5 + j));
            s.learn(&toks(&v), Class::Spam, None);
            s.learn(&common, Class::Ham, None);
        }
        assert!(s.token_count() <= 100);
        assert!(s.counts(1).spam > 0 && s.counts(2).ham > 0);
        // A tiny bound with huge counts still ends quickly.
        let mut s = Store::new(BayesConfig { max_tokens: 1, ..small() });
        for _ in 0..10_000 {
            s.learn(&common, Class::Spam, None);
        }
        assert!(s.token_count() <= 1);
    }

    #[test]
    fn serialisation_round_trip_and_corruption() {
        let mut s = Store::new(small());
        s.learn(&toks(&[1, 2, 3]), Class::Spam, Some(11));
        s.learn(&toks(&[3, 4]), Class::Ham, Some(12));
        assert!(s.is_dirty());
        let b = s.to_bytes();
        assert_eq!(b.len(), HEADER + 4 * 16 + 2 * 9 + 8);
        let t = Store::from_bytes(&b, small()).unwrap();
        assert_eq!(t.to_bytes(), b);
        assert!(!t.is_dirty());
        assert_eq!(t.learned(), (1, 1));
        assert_eq!(t.counts(3), Counts { spam: 1, ham: 1 });
        let mut t = t;
        assert_eq!(t.learn(&toks(&[1, 2, 3]), Class::Spam, Some(11)), LearnOutcome::AlreadyLearned);

        assert_eq!(Store::from_bytes(b"", small()).unwrap_err(), LoadError::BadMagic);
        assert_eq!(Store::from_bytes(b"NOTBAYES....", small()).unwrap_err(), LoadError::BadMagic);
        let mut v = b.clone();
        v[8] = 2;
        assert_eq!(Store::from_bytes(&v, small()).unwrap_err(), LoadError::UnsupportedVersion(2));
        assert_eq!(Store::from_bytes(&b[..b.len() - 1], small()).unwrap_err(), LoadError::Truncated);
        assert_eq!(Store::from_bytes(&[&b[..], &[0]].concat(), small()).unwrap_err(), LoadError::TrailingBytes);
        let mut v = b.clone();
        v[HEADER + 9] ^= 1;
        assert_eq!(Store::from_bytes(&v, small()).unwrap_err(), LoadError::BadChecksum);
        // A huge declared count is refused before allocating.
        let mut v = b.clone();
        v[HEADER - 8..HEADER - 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Store::from_bytes(&v, small()).unwrap_err(), LoadError::TooLarge);
        assert_eq!(Store::from_bytes(&b, BayesConfig { max_tokens: 3, ..small() }).unwrap_err(), LoadError::TooLarge);
        // Zero counts are refused even with a valid checksum.
        let mut v = b.clone();
        v[HEADER + 8..HEADER + 16].fill(0);
        let n = v.len() - 8;
        let sum = TokenHasher::default().write(&v[..n]).finish();
        v[n..].copy_from_slice(&sum.to_le_bytes());
        assert_eq!(Store::from_bytes(&v, small()).unwrap_err(), LoadError::ZeroCounts);
        // Every truncation point is an error, never a panic.
        for n in 0..b.len() {
            assert!(Store::from_bytes(&b[..n], small()).is_err());
        }
    }

    /// Fuzzing (bayes target): a store file claiming u64::MAX learned
    /// messages overflowed on the next learn.
    #[test]
    fn learned_counts_saturate() {
        let mut s = Store::new(small());
        s.learn(&toks(&[1, 2, 3]), Class::Spam, Some(11));
        s.learn(&toks(&[3, 4]), Class::Ham, Some(12));
        let mut v = s.to_bytes();
        v[12..28].fill(0xff);
        let n = v.len() - 8;
        let sum = TokenHasher::default().write(&v[..n]).finish();
        v[n..].copy_from_slice(&sum.to_le_bytes());
        let mut t = Store::from_bytes(&v, small()).unwrap();
        assert_eq!(t.learned(), (u64::MAX, u64::MAX));
        t.learn(&toks(&[5, 6]), Class::Spam, Some(13));
        t.learn(&toks(&[7]), Class::Ham, Some(14));
        assert_eq!(t.learned(), (u64::MAX, u64::MAX));
        assert!(t.unlearn(&toks(&[5, 6]), Class::Spam, Some(13)));
        assert_eq!(t.learned(), (u64::MAX - 1, u64::MAX));
    }

    #[test]
    fn chi2q_values() {
        // chi2Q(0, v) = 1; large x2 tends to 0; for v=2, Q = exp(-x/2).
        assert!((chi2q(0.0, 10) - 1.0).abs() < 1e-12);
        assert!((chi2q(4.0, 2) - libm::exp(-2.0)).abs() < 1e-12);
        assert!(chi2q(2000.0, 10) < 1e-100);
    }
}

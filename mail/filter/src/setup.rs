//! Building the filter from the configuration (`[filter]`, `[antivirus]`,
//! `[bayes]`) and the files the kernel reads: what the kernel does once at
//! boot.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use mail_antivirus::{Database, Format, DEFAULT_HDB, DEFAULT_NDB};
use mail_bayes::{BayesConfig, LoadError, Store};
use mail_config::{Builtin, Config, FileRef};

use crate::engine::Engine;
use crate::verdict::{AutoLearn, Policy};

/// The signature database `[antivirus] signatures` names. `read` returns a
/// config-disk file's bytes (or an error text). Disabled antivirus gives an
/// empty database (nothing matches). Errors name the file and line:
/// `sigs/main.ndb: line 3: bad hex digit`, and should stop the boot like a
/// config error.
pub fn load_antivirus(
    cfg: &mail_config::Antivirus,
    mut read: impl FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<Database, String> {
    let mut db = Database::new();
    if !cfg.enabled {
        return Ok(db);
    }
    for f in &cfg.signatures {
        match f {
            FileRef::Builtin(Builtin::Signatures) => {
                db.load(Format::Ndb, DEFAULT_NDB).map_err(|e| format!("builtin:signatures (ndb): {e}"))?;
                db.load(Format::Hdb, DEFAULT_HDB).map_err(|e| format!("builtin:signatures (hdb): {e}"))?;
            }
            FileRef::Builtin(other) => return Err(format!("builtin {other:?} is not a signature set")),
            FileRef::Path(p) => {
                let bytes = read(p).map_err(|e| format!("{p}: {e}"))?;
                if db.load_named(p, &bytes)?.is_none() {
                    return Err(format!("{p}: not a .hdb, .hsb, .ndb or .ldb signature file"));
                }
            }
        }
    }
    Ok(db)
}

/// Token store settings from `[bayes]`.
pub fn bayes_config(cfg: &mail_config::Bayes) -> BayesConfig {
    BayesConfig { min_learned: u64::from(cfg.min_learned), ..BayesConfig::default() }
}

/// The token store from the `bayes/tokens` bytes (None: no file yet). A
/// corrupt file gives an empty store and the error to log; the next save
/// replaces the file.
pub fn load_bayes(cfg: &mail_config::Bayes, bytes: Option<&[u8]>) -> (Store, Option<LoadError>) {
    let c = bayes_config(cfg);
    match bytes {
        None => (Store::new(c), None),
        Some(b) => match Store::from_bytes(b, c.clone()) {
            Ok(s) => (s, None),
            Err(e) => (Store::new(c), Some(e)),
        },
    }
}

impl Policy {
    /// Policy with `[bayes]` auto-learn thresholds.
    pub fn from_config(cfg: &Config) -> Policy {
        Policy {
            autolearn: AutoLearn {
                spam_at: cfg.bayes.autolearn_spam,
                ham_at: cfg.bayes.autolearn_ham,
                ..AutoLearn::default()
            },
            ..Policy::default()
        }
    }
}

impl Engine {
    /// The whole filter from the configuration, the config-disk reader and
    /// the `bayes/tokens` bytes. Returns the engine and, when the token
    /// file was corrupt, the error to log.
    pub fn from_config(
        cfg: &Config,
        read: impl FnMut(&str) -> Result<Vec<u8>, String>,
        bayes_tokens: Option<&[u8]>,
    ) -> Result<(Engine, Option<LoadError>), String> {
        let av = load_antivirus(&cfg.antivirus, read)?;
        let (store, err) = load_bayes(&cfg.bayes, bayes_tokens);
        let mut e = Engine::new(av, store, Policy::from_config(cfg));
        e.bayes_enabled = cfg.bayes.enabled;
        Ok((e, err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use mail_antivirus::{ScanLimits, EICAR};
    use mail_config::{default_config, Score};

    #[test]
    fn antivirus_from_config() {
        let mut av = mail_config::Antivirus::default();
        let db = load_antivirus(&av, |_| Err("no disk".to_string())).unwrap();
        assert_eq!(db.scan_message(EICAR, &ScanLimits::default()).virus(), Some("Unimail.Test.EICAR.HDB"));
        av.signatures = vec![FileRef::Path("sigs/local.ndb".into())];
        let db = load_antivirus(&av, |p| {
            assert_eq!(p, "sigs/local.ndb");
            Ok(b"Local.Test:0:*:6c6f63616c2d746573742d7061747465726e\n".to_vec())
        })
        .unwrap();
        assert_eq!(db.scan_bytes(b"a local-test-pattern here"), Some("Local.Test"));
        assert_eq!(db.scan_message(EICAR, &ScanLimits::default()).virus(), None);
        let err = load_antivirus(&av, |_| Ok(b"Bad:0:*:zz\n".to_vec())).unwrap_err();
        assert_eq!(err, "sigs/local.ndb: line 1: bad hex digit");
        let err = load_antivirus(&av, |_| Err("missing".into())).unwrap_err();
        assert_eq!(err, "sigs/local.ndb: missing");
        av.signatures = vec![FileRef::Path("sigs/readme.txt".into())];
        assert!(load_antivirus(&av, |_| Ok(Vec::new())).unwrap_err().contains("not a .hdb"));
        av.enabled = false;
        assert!(load_antivirus(&av, |_| panic!("not read when disabled")).unwrap().is_empty());
    }

    #[test]
    fn engine_from_default_config() {
        let cfg = default_config();
        let (mut e, err) = Engine::from_config(&cfg, |_| Err("none".into()), None).unwrap();
        assert!(err.is_none());
        assert_eq!(e.bayes.config().min_learned, u64::from(cfg.bayes.min_learned));
        assert_eq!(e.policy.autolearn.spam_at, cfg.bayes.autolearn_spam);
        let c = e.check(EICAR, Default::default(), 0, Vec::new(), &cfg.filter);
        assert!(c.verdict.virus.is_some());
        // A corrupt token file: empty store plus the error.
        let (e, err) = Engine::from_config(&cfg, |_| Err("none".into()), Some(b"garbage")).unwrap();
        assert_eq!(err, Some(LoadError::BadMagic));
        assert_eq!(e.bayes.learned(), (0, 0));
        let _ = Score(0);
    }
}

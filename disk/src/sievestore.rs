//! Users' Sieve scripts on the mail disk, the way ManageSieve (RFC 5804)
//! manages them and delivery reads them:
//!
//! ```text
//! <base>/<user>/sieve/<name>.sieve    one file per script
//! <base>/<user>/sieve/.active         the active script's name ("" or absent: none)
//! ```
//!
//! Pigeonhole keeps the active script as a symlink (`~/.dovecot.sieve`);
//! a plain file holding the name is used here instead so that a host tool can
//! read it without following links. Every change is written to a temporary
//! name and renamed into place, then flushed, so a crash leaves the old or
//! the new script, never half of one.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::ext2::FsError;
use crate::fs::FileSystem;

/// What can go wrong, in ManageSieve's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SieveStoreError {
    NotFound,
    AlreadyExists,
    /// RFC 5804 2.10: the active script cannot be deleted.
    Active,
    TooMany,
    TooBig,
    BadName,
    Fs(FsError),
}

impl From<FsError> for SieveStoreError {
    fn from(e: FsError) -> Self {
        SieveStoreError::Fs(e)
    }
}

pub type Result<T> = core::result::Result<T, SieveStoreError>;

pub struct SieveStore<'a, F: FileSystem> {
    fs: &'a mut F,
    dir: String,
    max_scripts: usize,
    max_size: usize,
    now: u32,
}

/// RFC 5804 1.6: script names are UTF-8 without controls; on disk they must
/// also be one path component that is not hidden.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 200 || name.starts_with('.') || name.chars().any(|c| c == '/' || c.is_control())
    {
        return Err(SieveStoreError::BadName);
    }
    Ok(())
}

impl<'a, F: FileSystem> SieveStore<'a, F> {
    /// `base`: the mail root (e.g. `/mail`); `user`: `<domain>/<local>`.
    pub fn new(fs: &'a mut F, base: &str, user: &str, max_scripts: usize, max_size: usize, now: u32) -> Self {
        SieveStore { fs, dir: format!("{}/{}/sieve", base.trim_end_matches('/'), user), max_scripts, max_size, now }
    }

    fn path(&self, name: &str) -> String {
        format!("{}/{}.sieve", self.dir, name)
    }

    fn ensure_dir(&mut self) -> Result<()> {
        let mut cur = String::new();
        for c in self.dir.split('/').filter(|c| !c.is_empty()) {
            cur.push('/');
            cur.push_str(c);
            match self.fs.mkdir(&cur, self.now) {
                Ok(_) | Err(FsError::Exists) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Atomic replace: temporary file, rename over, flush.
    fn replace(&mut self, path: &str, data: &[u8]) -> Result<()> {
        self.ensure_dir()?;
        let tmp = format!("{}/.tmp-write", self.dir);
        let _ = self.fs.unlink(&tmp, self.now);
        self.fs.write_file(&tmp, data, self.now)?;
        self.fs.flush()?;
        self.fs.rename(&tmp, path, self.now)?;
        self.fs.flush()?;
        Ok(())
    }

    /// The active script's name, if any.
    pub fn active(&mut self) -> Result<Option<String>> {
        match self.fs.read_file(&format!("{}/.active", self.dir), 1024) {
            Ok(b) => {
                let n = String::from_utf8_lossy(&b).trim().into();
                Ok(if n == "" { None } else { Some(n) })
            }
            Err(FsError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Script names with their active flag, sorted.
    pub fn list(&mut self) -> Result<Vec<(String, bool)>> {
        let active = self.active()?;
        let mut names = Vec::new();
        let dir = self.dir.clone();
        match self.fs.read_dir(&dir, &mut |e| {
            if let Some(n) = e.name_str().and_then(|n| n.strip_suffix(".sieve")) {
                if !n.starts_with('.') {
                    names.push(String::from(n));
                }
            }
            true
        }) {
            Ok(()) | Err(FsError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        names.sort();
        Ok(names.into_iter().map(|n| (n.clone(), Some(&n) == active.as_ref())).collect())
    }

    pub fn get(&mut self, name: &str) -> Result<String> {
        check_name(name)?;
        match self.fs.read_file(&self.path(name), self.max_size) {
            Ok(b) => Ok(String::from_utf8_lossy(&b).into()),
            Err(FsError::NotFound) => Err(SieveStoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// RFC 5804 2.5 HAVESPACE, also checked by `put`.
    pub fn have_space(&mut self, name: &str, size: u64) -> Result<()> {
        check_name(name)?;
        if size > self.max_size as u64 {
            return Err(SieveStoreError::TooBig);
        }
        let list = self.list()?;
        if !list.iter().any(|(n, _)| n == name) && list.len() >= self.max_scripts {
            return Err(SieveStoreError::TooMany);
        }
        Ok(())
    }

    /// Stores a (validated) script, replacing one of the same name.
    pub fn put(&mut self, name: &str, content: &str) -> Result<()> {
        self.have_space(name, content.len() as u64)?;
        let p = self.path(name);
        self.replace(&p, content.as_bytes())
    }

    pub fn delete(&mut self, name: &str) -> Result<()> {
        check_name(name)?;
        if self.active()?.as_deref() == Some(name) {
            return Err(SieveStoreError::Active);
        }
        match self.fs.unlink(&self.path(name), self.now) {
            Ok(()) => Ok(self.fs.flush()?),
            Err(FsError::NotFound) => Err(SieveStoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    pub fn rename(&mut self, old: &str, new: &str) -> Result<()> {
        check_name(old)?;
        check_name(new)?;
        let (po, pn) = (self.path(old), self.path(new));
        if self.fs.lookup(&po).is_err() {
            return Err(SieveStoreError::NotFound);
        }
        if self.fs.lookup(&pn).is_ok() {
            return Err(SieveStoreError::AlreadyExists);
        }
        let was_active = self.active()?.as_deref() == Some(old);
        self.fs.rename(&po, &pn, self.now)?;
        self.fs.flush()?;
        if was_active {
            let a = format!("{}/.active", self.dir);
            self.replace(&a, new.as_bytes())?;
        }
        Ok(())
    }

    /// `None` deactivates.
    pub fn set_active(&mut self, name: Option<&str>) -> Result<()> {
        if let Some(n) = name {
            check_name(n)?;
            if self.fs.lookup(&self.path(n)).is_err() {
                return Err(SieveStoreError::NotFound);
            }
        }
        let a = format!("{}/.active", self.dir);
        self.replace(&a, name.unwrap_or("").as_bytes())
    }

    /// The active script's text, for delivery.
    pub fn active_script(&mut self) -> Result<Option<(String, String)>> {
        match self.active()? {
            Some(n) => match self.get(&n) {
                Ok(t) => Ok(Some((n, t))),
                Err(SieveStoreError::NotFound) => Ok(None),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{format as mkfs, Ext2, FormatOptions, RamDevice};

    fn fs() -> Ext2<RamDevice> {
        let mut dev = RamDevice::new(16 * 2048);
        mkfs(&mut dev, &FormatOptions::default()).unwrap();
        Ext2::mount(dev).unwrap()
    }

    #[test]
    fn lifecycle() {
        let mut f = fs();
        let mut s = SieveStore::new(&mut f, "/mail", "example.test/demo", 3, 100, 1);
        assert_eq!(s.list().unwrap(), []);
        assert_eq!(s.active().unwrap(), None);
        s.put("main", "keep;").unwrap();
        s.put("other", "discard;").unwrap();
        assert_eq!(s.list().unwrap(), [("main".into(), false), ("other".into(), false)]);
        s.set_active(Some("main")).unwrap();
        assert_eq!(s.list().unwrap()[0], ("main".into(), true));
        assert_eq!(s.active_script().unwrap(), Some(("main".into(), "keep;".into())));
        assert_eq!(s.delete("main"), Err(SieveStoreError::Active));
        s.rename("main", "renamed").unwrap();
        assert_eq!(s.active().unwrap().as_deref(), Some("renamed"));
        assert_eq!(s.rename("renamed", "other"), Err(SieveStoreError::AlreadyExists));
        assert_eq!(s.rename("nope", "x"), Err(SieveStoreError::NotFound));
        s.set_active(None).unwrap();
        assert_eq!(s.active().unwrap(), None);
        s.delete("renamed").unwrap();
        assert_eq!(s.get("renamed"), Err(SieveStoreError::NotFound));
        assert_eq!(s.set_active(Some("gone")), Err(SieveStoreError::NotFound));
    }

    #[test]
    fn limits_and_names() {
        let mut f = fs();
        let mut s = SieveStore::new(&mut f, "/mail", "u", 2, 10, 1);
        assert_eq!(s.put("a", "01234567890"), Err(SieveStoreError::TooBig));
        s.put("a", "keep;").unwrap();
        s.put("b", "keep;").unwrap();
        assert_eq!(s.put("c", "keep;"), Err(SieveStoreError::TooMany));
        s.put("a", "stop;").unwrap(); // replacing is not a new script
        assert_eq!(s.get("a").unwrap(), "stop;");
        for bad in ["", ".hidden", "a/b", "x\ny"] {
            assert_eq!(s.put(bad, "keep;"), Err(SieveStoreError::BadName), "{bad:?}");
        }
        assert_eq!(s.have_space("c", 5), Err(SieveStoreError::TooMany));
        assert_eq!(s.have_space("a", 11), Err(SieveStoreError::TooBig));
    }
}

//! The configuration: `unimail.conf` and the files it names, read from the
//! config disk (ext2, read-only), or the embedded demo default when no config
//! disk is attached. A bad config stops boot with `file:line: problem` lines.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use disk::ext2::Ext2;
use mail_config::Config;

use crate::storage::VirtioBlock;

/// Largest config file or referenced file we read (keys, certs, scripts).
const MAX_FILE: usize = 1 << 20;

pub struct Loaded {
    pub config: Config,
    /// Where it came from, for the log.
    pub source: &'static str,
    /// Contents of every file the config references, by config path.
    pub files: BTreeMap<String, Vec<u8>>,
}

pub fn load(disk: Option<VirtioBlock>) -> Result<Loaded, String> {
    let Some(dev) = disk else {
        return Ok(Loaded {
            config: mail_config::default_config(),
            source: "embedded default",
            files: BTreeMap::new(),
        });
    };
    let opts = disk::ext2::MountOptions { read_only: true, ..Default::default() };
    let mut fs = Ext2::mount_with(dev, opts).map_err(|e| alloc::format!("config disk: cannot mount: {e:?}"))?;
    let text =
        fs.read_file("/unimail.conf", MAX_FILE).map_err(|e| alloc::format!("config disk: /unimail.conf: {e:?}"))?;
    let text = String::from_utf8(text).map_err(|_| String::from("unimail.conf: not UTF-8"))?;
    // The parser asks which referenced files exist; answer from the disk.
    let fs = core::cell::RefCell::new(fs);
    let exists = |p: &str| fs.borrow_mut().stat(&alloc::format!("/{p}")).is_ok();
    let config = mail_config::parse(&text, &exists).map_err(|errs| {
        let mut s = String::from("bad configuration:");
        for e in errs {
            s.push_str(&alloc::format!("\nfatal: {e}"));
        }
        s
    })?;
    let mut files = BTreeMap::new();
    for p in config.referenced_files() {
        if p.starts_with("builtin:") {
            continue;
        }
        let data = fs
            .borrow_mut()
            .read_file(&alloc::format!("/{p}"), MAX_FILE)
            .map_err(|e| alloc::format!("config disk: {p}: {e:?}"))?;
        files.insert(String::from(p), data);
    }
    Ok(Loaded { config, source: "config disk", files })
}

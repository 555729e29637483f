//! Host-only helper (feature `std`): answer [`crate::Files`] from a
//! directory, for the image tool that builds the config disk.

use std::path::PathBuf;

/// Files under a host directory (the future config disk's root).
#[derive(Clone, Debug)]
pub struct DirFiles(pub PathBuf);

impl crate::Files for DirFiles {
    fn exists(&self, path: &str) -> bool {
        // The parser has already refused absolute paths and `..`.
        self.0.join(path).is_file()
    }
}

//! Block devices, the ext2 filesystem, the Maildir store and the outbound queue (no_std).
#![no_std]
#![forbid(unsafe_code)]
#[cfg(any(test, feature = "std"))]
extern crate std;
extern crate alloc;

pub mod block;
pub mod ext2;
pub mod fs;
pub mod maildir;

pub use block::{BlockDevice, DevError, RamDevice};
pub use ext2::{DirEntry, Ext2, FileType, FsError, Metadata, MountOptions};
pub use fs::FileSystem;

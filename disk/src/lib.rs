//! Block devices, the ext2 filesystem, the Maildir store and the outbound queue (no_std).
//!
//! Layers, bottom up:
//!
//! * [`block`]: the [`BlockDevice`] trait (512-byte sectors, `flush` =
//!   durability barrier), [`RamDevice`], and `FileDevice` (feature `std`).
//! * [`ext2`]: a read-write ext2 rev 1 filesystem ([`Ext2`]) that Linux and
//!   e2fsprogs read, with [`ext2::format`] for blank disks. Sans-IO: every
//!   mutating call takes `now` (unix time); nothing reads a clock.
//! * [`fs`]: the small [`FileSystem`] trait the higher layers use.
//! * [`maildir`]: a Dovecot-compatible Maildir++ store with group commit.
//!
//! Durability model: nothing is promised until `flush()` returns. A flush
//! writes file data, fresh blocks and allocation bitmaps, issues a device
//! flush, writes the remaining metadata, flushes again, and only then
//! releases freed blocks and inodes (a third flush when anything was freed).
//! A rename over an existing name adds a barrier before the directory
//! blocks and drops the replaced inode only after them (one more flush), so
//! the name always leads to the complete old or the complete new file.
//! Without a journal a crash can leave work for `e2fsck` (stale link
//! counts, leaked blocks, an unacknowledged file without a name), but never
//! a pointer to unwritten or doubly used space, and acknowledged mail is
//! never lost: Maildir moves link the new name, flush, then drop the old.
//! The test `crash_at_any_write_is_repairable` replays crashes after every
//! write (and with reordered writes) and checks this with e2fsck.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod block;
pub mod ext2;
pub mod fs;
pub mod maildir;
pub mod sievestore;

#[cfg(any(test, feature = "std"))]
pub use block::FileDevice;
pub use block::{BlockDevice, DevError, RamDevice};
pub use ext2::{format, DirEntry, Ext2, FileType, FormatOptions, FsError, Metadata, MountOptions};
pub use fs::FileSystem;
pub use maildir::{Delivered, Flags, Limits, MailError, Maildir, MessageInfo, Staged, UidState};

//! Signature scanner reading ClamAV .hdb/.hsb/.ndb formats over decoded MIME parts, sans-IO, no_std.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

//! DMARC aggregate report (RFC 7489 appendix C) parsing from XML, gzip and zip, and summaries, no_std.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

//! Content filter verdicts: symbols, scores, rspamd-style actions, headers and statistics, sans-IO, no_std.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

//! Connection screening before SMTP (postscreen-like pre-greet, DNSBL/DNSWL scoring, access lists, pass cache) and greylisting (RFC 6647), sans-IO, no_std.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

//! Bayesian spam classifier with OSB token pairs and a persistent token store, sans-IO, no_std.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

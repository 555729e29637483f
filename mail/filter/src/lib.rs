//! Content filter verdicts: named symbols with scores, summed in hundredths
//! and mapped to rspamd's actions (reject, soft reject, rewrite subject, add
//! header, greylist, no action) with the operator's thresholds; the SMTP
//! reply, the headers to prepend, the Subject rewrite and the auto-learn
//! decision; and `rspamc stat`-like statistics. Sans-IO, no_std.
//!
//! SPF/DKIM/DMARC (mail-authn) and DNSBL (the screen) results come in as
//! plain values; antivirus (mail-antivirus) and Bayes (mail-bayes) run
//! inside [`Engine::check`], or the caller runs them and calls
//! [`evaluate`] with [`Inputs`] itself.
//!
//! ```
//! use mail_config::FilterThresholds;
//! use mail_filter::{evaluate, Action, Inputs, Policy, SpfResult};
//! let inputs = Inputs { spf: SpfResult::Fail, bayes: Some(0.99), ..Inputs::default() };
//! let v = evaluate(&inputs, &FilterThresholds::default(), &Policy::default());
//! assert_eq!(v.action, Action::AddHeader);
//! assert_eq!(v.score.to_string(), "6.05");
//! let out = v.apply_to(b"Subject: hi\r\n\r\nbody\r\n", &FilterThresholds::default());
//! assert!(out.starts_with(b"X-Spam: Yes\r\nX-Spam-Score: 6.05\r\n"));
//! ```

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod engine;
pub mod inputs;
pub mod setup;
pub mod stats;
pub mod verdict;

pub use engine::{Auth, Checked, Engine};
pub use inputs::{DkimResult, DmarcPolicy, DmarcResult, Inputs, SpfResult, Symbol, Weights};
pub use mail_config::{FilterThresholds, Score};
pub use setup::{bayes_config, load_antivirus, load_bayes};
pub use stats::Stats;
pub use verdict::{evaluate, Action, AutoLearn, Learn, Policy, SmtpReply, Verdict};

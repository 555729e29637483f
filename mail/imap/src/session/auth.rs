//! LOGIN / AUTHENTICATE PLAIN (RFC 3501 6.2, RFC 4616, RFC 4959) and
//! the raw-line modes (SASL responses, IDLE's DONE).

use super::*;

impl Session {
    // ---- authentication -------------------------------------------------

    pub(super) fn request_auth(&mut self, tag: &str, authzid: Option<String>, user: String, password: Vec<u8>) {
        let req = Action::Authenticate { authzid, user: user.clone(), password };
        self.mode = Mode::AuthPending { tag: tag.to_string(), req: Some(req), user };
    }

    /// RFC 4616 PLAIN: `[authzid] NUL authcid NUL passwd`.
    pub(super) fn sasl_plain(&mut self, tag: &str, data: Option<Vec<u8>>) -> Exec {
        let Some(data) = data else {
            return Exec::Done(bad("Invalid base64 data"));
        };
        let parts: Vec<&[u8]> = data.split(|&b| b == 0).collect();
        if parts.len() != 3 || parts[1].is_empty() {
            return Exec::Done(bad("Invalid PLAIN response"));
        }
        let (Ok(authz), Ok(user)) = (core::str::from_utf8(parts[0]), core::str::from_utf8(parts[1])) else {
            return Exec::Done(bad("Invalid PLAIN response"));
        };
        let authz = if authz.is_empty() { None } else { Some(authz.to_string()) };
        self.request_auth(tag, authz, user.to_string(), parts[2].to_vec());
        Exec::Pending
    }

    pub(super) fn finish_auth(&mut self, store: &mut dyn Store, tag: &str, user: String, result: AuthResult) {
        match result {
            AuthResult::Ok => {
                self.state = State::Authenticated;
                self.user = Some(user);
                if self.cfg.create_special_use {
                    // Issue 4: Sent, Drafts, Junk, Trash, Archive exist from
                    // the first login on; failures here do not fail login.
                    let existing = store.list_folders().unwrap_or_default();
                    let wanted: Vec<String> = self.cfg.special_use.iter().map(|(n, _)| n.clone()).collect();
                    for name in wanted {
                        if !existing.contains(&name) && store.create_folder(&name).is_ok() {
                            let _ = store.set_subscribed(&name, true);
                        }
                    }
                }
                let caps = self.capabilities();
                self.tagged(tag, &ok_code(format!("CAPABILITY {}", caps), "Logged in"));
            }
            AuthResult::Failed => {
                self.auth_failures += 1;
                self.tagged(tag, &no_code("AUTHENTICATIONFAILED", "Authentication failed"));
                if self.auth_failures >= self.cfg.max_auth_failures {
                    self.untagged("BYE Too many failed authentication attempts");
                    self.state = State::Logout;
                    self.closing = true;
                }
            }
            AuthResult::Unavailable => {
                self.tagged(tag, &no_code("UNAVAILABLE", "Authentication temporarily unavailable"));
            }
        }
    }

    /// A raw line: the SASL response or IDLE's DONE.
    pub(super) fn handle_line(&mut self, store: &mut dyn Store, line: Vec<u8>) {
        self.framer.set_raw(false);
        match core::mem::replace(&mut self.mode, Mode::Commands) {
            Mode::SaslResponse { tag } => {
                // RFC 3501 6.2.2: "*" cancels the exchange.
                if line == b"*" {
                    self.tagged(&tag, &bad("Authentication cancelled"));
                    return;
                }
                if let Exec::Done(d) = self.sasl_plain(&tag, base64::decode(&line)) {
                    self.tagged(&tag, &d);
                }
            }
            Mode::Idle { tag } => {
                if line.eq_ignore_ascii_case(b"DONE") {
                    self.sync(store, true);
                    self.tagged(&tag, &ok("IDLE terminated"));
                } else {
                    self.tagged(&tag, &bad("Expected DONE"));
                }
            }
            other => self.mode = other,
        }
    }
}

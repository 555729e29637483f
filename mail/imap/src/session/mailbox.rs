//! Authenticated-state commands (RFC 3501 6.3): SELECT/EXAMINE, CREATE,
//! DELETE, RENAME, (UN)SUBSCRIBE, LIST/LSUB (RFC 5258, RFC 6154), STATUS,
//! APPEND.

use super::*;

/// Matches a LIST pattern (RFC 3501 6.3.8): `*` matches anything, `%`
/// anything but the hierarchy delimiter.
///
/// One pass per pattern character over the name's prefixes (`at[j]`: the
/// pattern so far matches the first `j` characters), so the cost is
/// |pattern| x |name| whatever the wildcards. A backtracking matcher is
/// exponential in the number of wildcards: one `LIST "" "%%%...%Junk"`
/// with 64 `%` held the (single-threaded) image for good, found by the
/// imap_session fuzz target.
fn pattern_match(pat: &[char], name: &[char]) -> bool {
    let mut at = vec![false; name.len() + 1];
    at[0] = true;
    for &p in pat {
        let mut next = vec![false; name.len() + 1];
        match p {
            '*' | '%' => {
                // next[j]: some k <= j with at[k], and for `%` no
                // delimiter in name[k..j].
                let mut open = false;
                for j in 0..=name.len() {
                    if p == '%' && j > 0 && name[j - 1] == DELIMITER {
                        open = false;
                    }
                    open |= at[j];
                    next[j] = open;
                }
            }
            c => {
                for j in 0..name.len() {
                    next[j + 1] = at[j] && name[j] == c;
                }
            }
        }
        if !next.contains(&true) {
            return false;
        }
        at = next;
    }
    at[name.len()]
}

pub(super) fn list_matches(pattern: &str, name: &str) -> bool {
    // Wildcard runs match what their widest member matches ("%%" is "%",
    // "%*" and "*%" are "*"): collapse them, which keeps the pattern no
    // longer than about twice its literal characters.
    let mut pat: Vec<char> = Vec::new();
    for c in pattern.chars() {
        let last = pat.last().copied();
        if ((c == '*' || c == '%') && last == Some('*')) || (c == '%' && last == Some('%')) {
            continue;
        }
        if c == '*' && last == Some('%') {
            pat.pop();
        }
        pat.push(c);
    }
    let n: Vec<char> = name.chars().collect();
    // Each literal matches one character: a pattern with more of them
    // than the name has characters cannot match.
    if pat.iter().filter(|&&c| c != '*' && c != '%').count() > n.len() {
        return false;
    }
    // RFC 3501 5.1: "INBOX" matches case-insensitively.
    if name == "INBOX" || name.starts_with("INBOX/") {
        let up: Vec<char> =
            pat.iter().enumerate().map(|(i, c)| if i < 5 { c.to_ascii_uppercase() } else { *c }).collect();
        if pattern_match(&up, &n) {
            return true;
        }
    }
    pattern_match(&pat, &n)
}

impl Session {
    // ---- mailbox commands -----------------------------------------------

    pub(super) fn select(&mut self, store: &mut dyn Store, raw: &[u8], read_only: bool, condstore: bool) -> Done {
        if matches!(self.state, State::Selected(_)) {
            self.state = State::Authenticated;
            // RFC 9051 7.1: [CLOSED] marks the end of the old mailbox's responses.
            self.untagged("OK [CLOSED] Previous mailbox closed");
        }
        if condstore {
            if !self.cfg.condstore {
                return bad("CONDSTORE is not supported");
            }
            self.condstore = true;
        }
        let name = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        let (uid_validity, list) = match store.list_messages(&name) {
            Ok(v) => v,
            Err(e) => return store_err(e),
        };
        // A fresh listing: earlier change notices are covered.
        self.changed = false;
        let recent: BTreeSet<Uid> = if read_only {
            store.peek_recent(&name).unwrap_or_default().into_iter().collect()
        } else {
            store.claim_recent(&name).unwrap_or_default().into_iter().collect()
        };
        let status = store.folder_status(&name).unwrap_or_default();
        let uid_next = list.last().map_or(1, |m| m.uid + 1).max(status.uid_next);
        // RFC 3501 6.3.1: FLAGS, EXISTS, RECENT, UNSEEN, PERMANENTFLAGS,
        // UIDNEXT, UIDVALIDITY.
        let mut kw: Vec<String> = Vec::new();
        for m in &list {
            for k in m.flags.keywords() {
                if !kw.iter().any(|x| x.eq_ignore_ascii_case(k)) && kw.len() < 256 {
                    kw.push(k.clone());
                }
            }
        }
        let mut flags = String::from("\\Answered \\Flagged \\Deleted \\Seen \\Draft");
        for k in &kw {
            flags.push(' ');
            flags.push_str(k);
        }
        // The order Dovecot uses (any order is valid).
        self.untagged(&format!("FLAGS ({})", flags));
        if read_only {
            self.untagged("OK [PERMANENTFLAGS ()] Read-only mailbox");
        } else {
            self.untagged(&format!("OK [PERMANENTFLAGS ({} \\*)] Flags permitted", flags));
        }
        self.untagged(&format!("{} EXISTS", list.len()));
        if !self.rev2 {
            self.untagged(&format!("{} RECENT", recent.len()));
            if let Some(p) = list.iter().position(|m| !m.flags.has(SystemFlag::Seen)) {
                self.untagged(&format!("OK [UNSEEN {}] First unseen", p + 1));
            }
        }
        self.untagged(&format!("OK [UIDVALIDITY {}] UIDs valid", uid_validity));
        self.untagged(&format!("OK [UIDNEXT {}] Predicted next UID", uid_next));
        if self.condstore {
            let hm = status.highest_modseq.max(list.iter().map(|m| m.modseq).max().unwrap_or(0)).max(1);
            self.untagged(&format!("OK [HIGHESTMODSEQ {}] Highest", hm));
        }
        if self.rev2 {
            // RFC 9051 6.3.2: a LIST response with accurate attributes.
            let folders = store.list_folders().unwrap_or_default();
            let prefix = format!("{}{}", name, DELIMITER);
            let mut attrs: Vec<&str> = Vec::new();
            attrs.push(if folders.iter().any(|f| f.starts_with(&prefix)) {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            });
            if let Some(su) = self.special_use_of(&name) {
                attrs.push(su);
            }
            let mut o = Out::default();
            o.s("* LIST (").s(&attrs.join(" ")).s(") \"/\" ");
            self.mbox_out(&mut o, &name);
            o.s("\r\n");
            self.out.extend_from_slice(&o.buf);
        }
        let slots = list.into_iter().map(|meta| Slot { meta, gone: false }).collect();
        let show_recent = !self.rev2;
        self.state = State::Selected(Selected {
            name,
            read_only,
            uid_validity,
            slots,
            recent,
            saved: Vec::new(),
            show_recent,
            keywords: kw,
        });
        if read_only {
            ok_code("READ-ONLY", "EXAMINE completed")
        } else {
            ok_code("READ-WRITE", "SELECT completed")
        }
    }

    pub(super) fn create(&mut self, store: &mut dyn Store, raw: &[u8]) -> Done {
        let mut name = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        // RFC 3501 6.3.3: a trailing delimiter only declares intent.
        while name.ends_with(DELIMITER) {
            name.pop();
        }
        if name == "INBOX" {
            return no_code("ALREADYEXISTS", "INBOX always exists");
        }
        if !Self::valid_new_name(&name) {
            return no_code("CANNOT", "Invalid mailbox name");
        }
        let existing = match store.list_folders() {
            Ok(v) => v,
            Err(e) => return store_err(e),
        };
        if existing.contains(&name) {
            return no_code("ALREADYEXISTS", "Mailbox already exists");
        }
        // RFC 3501 6.3.3: create superior hierarchy levels as needed.
        let mut acc = String::new();
        let levels: Vec<&str> = name.split(DELIMITER).collect();
        for (i, level) in levels.iter().enumerate() {
            if i > 0 {
                acc.push(DELIMITER);
            }
            acc.push_str(level);
            if i + 1 < levels.len() && !existing.contains(&acc) {
                if let Err(e) = store.create_folder(&acc) {
                    if e != StoreError::AlreadyExists {
                        return store_err(e);
                    }
                }
            }
        }
        match store.create_folder(&name) {
            Ok(()) => ok(""),
            Err(e) => store_err(e),
        }
    }

    pub(super) fn delete(&mut self, store: &mut dyn Store, raw: &[u8]) -> Done {
        let name = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        if name == "INBOX" {
            return no_code("CANNOT", "INBOX cannot be deleted");
        }
        if self.selected() == Some(name.as_str()) {
            // RFC 9051 6.3.4: deleting the selected mailbox deselects it.
            self.state = State::Authenticated;
            self.untagged("OK [CLOSED] Mailbox deleted");
        }
        // RFC 9051 6.3.9 (RFC 3501 6.3.6): the server MUST NOT remove a
        // name from the subscriptions because its mailbox went away; LIST
        // (SUBSCRIBED) then shows it \NonExistent (RFC 5258 3).
        match store.delete_folder(&name) {
            Ok(()) => ok(""),
            Err(e) => store_err(e),
        }
    }

    pub(super) fn rename(&mut self, store: &mut dyn Store, from: &[u8], to: &[u8]) -> Done {
        let (from, mut to) = match (self.mbox_in(from), self.mbox_in(to)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(d), _) | (_, Err(d)) => return d,
        };
        while to.ends_with(DELIMITER) {
            to.pop();
        }
        if !Self::valid_new_name(&to) || to == "INBOX" {
            return no_code("CANNOT", "Invalid target mailbox name");
        }
        if to.starts_with(&format!("{}{}", from, DELIMITER)) {
            return no_code("CANNOT", "Cannot rename a mailbox into itself");
        }
        match store.rename_folder(&from, &to) {
            Ok(()) => {
                if let Ok(subs) = store.subscriptions() {
                    if subs.contains(&from) && from != "INBOX" {
                        let _ = store.set_subscribed(&from, false);
                        let _ = store.set_subscribed(&to, true);
                    }
                }
                if self.selected() == Some(from.as_str()) && from != "INBOX" {
                    self.state = State::Authenticated;
                    self.untagged("OK [CLOSED] Mailbox renamed");
                }
                ok("")
            }
            Err(e) => store_err(e),
        }
    }

    pub(super) fn subscribe(&mut self, store: &mut dyn Store, raw: &[u8], on: bool) -> Done {
        let name = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        if on && !store.list_folders().unwrap_or_default().contains(&name) {
            return no_code("NONEXISTENT", "No such mailbox");
        }
        match store.set_subscribed(&name, on) {
            Ok(()) => ok(""),
            Err(e) => store_err(e),
        }
    }

    pub(super) fn list(&mut self, store: &mut dyn Store, l: ListCommand) -> Done {
        let reference = match self.mbox_in(&l.reference) {
            Ok(n) => n,
            Err(_) if l.reference.is_empty() => String::new(),
            Err(d) => return d,
        };
        // RFC 5258 3: RECURSIVEMATCH needs another selection option.
        if l.recursive_match && !l.select_subscribed && !l.select_special_use {
            return bad("RECURSIVEMATCH needs a selection option");
        }
        // RFC 3501 6.3.8: an empty pattern asks for the delimiter.
        if l.patterns.len() == 1 && l.patterns[0].is_empty() {
            self.untagged(&format!("LIST (\\Noselect) \"{}\" \"\"", DELIMITER));
            return ok("");
        }
        let folders = match store.list_folders() {
            Ok(v) => v,
            Err(e) => return store_err(e),
        };
        let subs = store.subscriptions().unwrap_or_default();
        // Candidates: folders, their implied parents, and (for SUBSCRIBED
        // selection) subscriptions to folders that no longer exist.
        let mut all: BTreeSet<String> = BTreeSet::new();
        for f in &folders {
            let mut acc = String::new();
            for (i, level) in f.split(DELIMITER).enumerate() {
                if i > 0 {
                    acc.push(DELIMITER);
                }
                acc.push_str(level);
                all.insert(acc.clone());
            }
        }
        if l.select_subscribed {
            all.extend(subs.iter().cloned());
        }
        let mut patterns = Vec::new();
        for p in &l.patterns {
            let p = if self.utf8 {
                String::from_utf8(p.clone()).ok()
            } else {
                utf7::decode(p).or_else(|| String::from_utf8(p.clone()).ok())
            };
            match p {
                Some(p) => patterns.push(format!("{}{}", reference, p)),
                None => return bad("Invalid pattern encoding"),
            }
        }
        let mut lines: Vec<(String, Vec<String>, bool)> = Vec::new();
        for name in &all {
            if !patterns.iter().any(|p| list_matches(p, name)) {
                continue;
            }
            let exists = folders.contains(name);
            let subscribed = subs.contains(name);
            let special = self.special_use_of(name);
            // RFC 5258 3 (RECURSIVEMATCH) and 4: a parent is listed with
            // CHILDINFO ("SUBSCRIBED") when it has a subscribed descendant
            // that the patterns do not return themselves (a descendant the
            // patterns match is listed on its own line instead).
            let prefix = format!("{}{}", name, DELIMITER);
            let child_subscribed = l.recursive_match
                && subs.iter().any(|x| x.starts_with(&prefix) && !patterns.iter().any(|p| list_matches(p, x)));
            if l.select_subscribed && !subscribed && !child_subscribed {
                continue;
            }
            if l.select_special_use && special.is_none() {
                continue;
            }
            let mut attrs: Vec<String> = Vec::new();
            if !exists {
                // RFC 5258 3: \NonExistent implies \Noselect.
                attrs.push(if l.extended { "\\NonExistent".into() } else { "\\Noselect".into() });
            }
            let has_children = all.iter().any(|f| f.starts_with(&prefix));
            attrs.push(if has_children { "\\HasChildren".into() } else { "\\HasNoChildren".into() });
            if let Some(s) = special {
                attrs.push(s.into());
            }
            if subscribed && (l.return_subscribed || l.select_subscribed) {
                attrs.push("\\Subscribed".into());
            }
            lines.push((name.clone(), attrs, child_subscribed && l.select_subscribed));
        }
        for (name, attrs, childinfo) in lines {
            let mut o = Out::default();
            o.s("* LIST (").s(&attrs.join(" ")).s(") \"/\" ");
            self.mbox_out(&mut o, &name);
            if childinfo {
                o.s(" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
            }
            o.s("\r\n");
            self.out.extend_from_slice(&o.buf);
            // RFC 5819 LIST-STATUS.
            if let Some(items) = &l.return_status {
                if folders.contains(&name) {
                    if let Some(line) = self.status_line(store, &name, items) {
                        self.out.extend_from_slice(&line);
                    }
                }
            }
        }
        ok("")
    }

    pub(super) fn lsub(&mut self, store: &mut dyn Store, reference: &[u8], pattern: &[u8]) -> Done {
        let reference = self.mbox_in(reference).unwrap_or_default();
        let pattern = match self.mbox_in(pattern) {
            Ok(p) => p,
            Err(d) => return d,
        };
        let pat = format!("{}{}", reference, pattern);
        let subs = store.subscriptions().unwrap_or_default();
        let folders = store.list_folders().unwrap_or_default();
        // RFC 3501 6.3.9: when "foo/bar" is subscribed but "foo" is not, a
        // "%" pattern returns "foo" flagged \Noselect, not "foo/bar". So a
        // parent of a subscribed name is a candidate when the pattern does
        // not reach that subscribed name itself.
        let mut names: alloc::collections::BTreeMap<String, bool> = alloc::collections::BTreeMap::new();
        for name in &subs {
            names.insert(name.clone(), true);
        }
        for name in &subs {
            if list_matches(&pat, name) {
                continue;
            }
            let mut acc = String::new();
            let levels: Vec<&str> = name.split(DELIMITER).collect();
            for (i, level) in levels[..levels.len() - 1].iter().enumerate() {
                if i > 0 {
                    acc.push(DELIMITER);
                }
                acc.push_str(level);
                names.entry(acc.clone()).or_insert(false);
            }
        }
        for (name, subscribed) in names {
            if !list_matches(&pat, &name) {
                continue;
            }
            let mut o = Out::default();
            let attrs = if subscribed && folders.contains(&name) { "" } else { "\\Noselect" };
            o.s("* LSUB (").s(attrs).s(") \"/\" ");
            self.mbox_out(&mut o, &name);
            o.s("\r\n");
            self.out.extend_from_slice(&o.buf);
        }
        ok("")
    }

    pub(super) fn status_line(&self, store: &mut dyn Store, name: &str, items: &[StatusItem]) -> Option<Vec<u8>> {
        let st = store.folder_status(name).ok()?;
        let mut o = Out::default();
        o.s("* STATUS ");
        self.mbox_out(&mut o, name);
        o.s(" (");
        // In a fixed order, as Dovecot answers.
        const ORDER: [StatusItem; 8] = [
            StatusItem::Messages,
            StatusItem::Recent,
            StatusItem::UidNext,
            StatusItem::UidValidity,
            StatusItem::Unseen,
            StatusItem::HighestModSeq,
            StatusItem::Size,
            StatusItem::Deleted,
        ];
        let items = ORDER.iter().filter(|x| items.contains(x));
        for (i, it) in items.enumerate() {
            if i > 0 {
                o.s(" ");
            }
            match it {
                StatusItem::Messages => o.s("MESSAGES ").num(st.messages),
                // RFC 3501 6.3.10: messages no session has claimed as
                // \Recent yet (Maildir: still in new/), as Dovecot counts.
                StatusItem::Recent => o.s("RECENT ").num(store.peek_recent(name).map_or(0, |v| v.len())),
                StatusItem::UidNext => o.s("UIDNEXT ").num(st.uid_next),
                StatusItem::UidValidity => o.s("UIDVALIDITY ").num(st.uid_validity),
                StatusItem::Unseen => o.s("UNSEEN ").num(st.unseen),
                StatusItem::Size => o.s("SIZE ").num(st.size),
                StatusItem::Deleted => o.s("DELETED ").num(st.deleted),
                StatusItem::HighestModSeq => o.s("HIGHESTMODSEQ ").num(st.highest_modseq),
            };
        }
        o.s(")\r\n");
        Some(o.buf)
    }

    pub(super) fn status(&mut self, store: &mut dyn Store, raw: &[u8], items: &[StatusItem]) -> Done {
        let name = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        match self.status_line(store, &name, items) {
            Some(line) => {
                self.out.extend_from_slice(&line);
                ok("")
            }
            None => no_code("NONEXISTENT", "No such mailbox"),
        }
    }

    pub(super) fn append(
        &mut self,
        store: &mut dyn Store,
        raw: &[u8],
        flags: &[String],
        date: Option<i64>,
        msg: &[u8],
    ) -> Done {
        let name = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        if !store.list_folders().unwrap_or_default().contains(&name) {
            // RFC 3501 6.3.11: TRYCREATE tells the client to CREATE first.
            return no_code("TRYCREATE", "No such mailbox");
        }
        if msg.is_empty() {
            // Not a message (RFC 5322 needs at least a header); Dovecot
            // refuses it too. Left in, empty files would cost no quota and
            // `COPY 1:*` could double them for ever.
            return no_code("CANNOT", "Can't save an empty message");
        }
        let mut f = Flags::new();
        for fl in flags {
            f.add_named(fl);
        }
        if f.keywords().len() > self.cfg.max_keywords {
            return no_code("LIMIT", "Too many keywords");
        }
        let converted = mime::binary_to_base64(msg);
        let msg = converted.as_deref().unwrap_or(msg);
        match store.append(&name, &f, date, msg) {
            // RFC 4315 3: APPENDUID.
            Ok((validity, uid)) => ok_code(format!("APPENDUID {} {}", validity, uid), "APPEND completed"),
            Err(e) => store_err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::list_matches;
    use alloc::format;
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn list_wildcards() {
        // RFC 3501 6.3.8: "*" crosses the delimiter, "%" does not.
        assert!(list_matches("*", "a/b/c"));
        assert!(list_matches("%", "a"));
        assert!(!list_matches("%", "a/b"));
        assert!(list_matches("a/%", "a/b"));
        assert!(!list_matches("a/%", "a/b/c"));
        assert!(list_matches("a/*", "a/b/c"));
        assert!(list_matches("%/b", "a/b"));
        assert!(list_matches("*c", "a/b/c"));
        assert!(!list_matches("b*", "a/b"));
        assert!(list_matches("", ""));
        // INBOX is case-insensitive, other names are not.
        assert!(list_matches("inbox", "INBOX"));
        assert!(list_matches("Inbox/%", "INBOX/Sub"));
        assert!(!list_matches("sent", "Sent"));
        // Long wildcard runs collapse instead of backtracking for ages.
        let p = "*%".repeat(500) + "z";
        assert!(!list_matches(&p, &"a".repeat(200)));
        // Neither do many separate wildcards (the fuzz target's timeout).
        let p = "%".repeat(64) + "Junk";
        assert!(!list_matches(&p, &"x".repeat(300)));
        assert!(list_matches(&p, &("x".repeat(300) + "Junk")));
        assert!(!list_matches(&p, "x/Junk"));
        let p = "%a".repeat(40) + "b";
        assert!(!list_matches(&p, &"a".repeat(200)));
        assert!(list_matches(&p, &("a".repeat(200) + "b")));
        let p = "*a".repeat(40) + "b";
        assert!(!list_matches(&p, &"a/".repeat(100)));
    }

    /// The backtracking definition, for comparison on small cases.
    fn reference(pat: &[char], name: &[char]) -> bool {
        match pat.first() {
            None => name.is_empty(),
            Some('*') => (0..=name.len()).any(|i| reference(&pat[1..], &name[i..])),
            Some('%') => {
                (0..=name.len()).take_while(|&i| i == 0 || name[i - 1] != '/').any(|i| reference(&pat[1..], &name[i..]))
            }
            Some(c) => name.first() == Some(c) && reference(&pat[1..], &name[1..]),
        }
    }

    #[test]
    fn list_matches_the_backtracking_definition() {
        // Every pattern and name up to length 5 over a small alphabet.
        let alphabet = ['a', 'b', '/', '*', '%'];
        let all = |max: usize, with_wild: bool| {
            let letters: Vec<char> =
                alphabet.iter().copied().filter(|&c| with_wild || (c != '*' && c != '%')).collect();
            let mut out = vec![String::new()];
            let mut layer = vec![String::new()];
            for _ in 0..max {
                layer = layer.iter().flat_map(|s| letters.iter().map(move |&c| format!("{s}{c}"))).collect();
                out.extend(layer.iter().cloned());
            }
            out
        };
        let names = all(5, false);
        for p in all(5, true) {
            let pc: Vec<char> = p.chars().collect();
            for n in &names {
                let nc: Vec<char> = n.chars().collect();
                assert_eq!(list_matches(&p, n), reference(&pc, &nc), "pattern {p:?} name {n:?}");
            }
        }
    }
}

//! Selected-state commands (RFC 3501 6.4): untagged updates (sync),
//! EXPUNGE, SEARCH, FETCH, STORE, COPY/MOVE.

use super::*;

impl Session {
    // ---- selected state -------------------------------------------------

    /// Brings the snapshot of the selected mailbox up to date with the
    /// store and emits the untagged responses (RFC 3501 5.2, 7.3.1, 7.4.1).
    pub(super) fn sync(&mut self, store: &mut dyn Store, allow_expunge: bool) {
        let State::Selected(sel) = &mut self.state else { return };
        self.changed = false;
        let Ok((validity, list)) = store.list_messages(&sel.name) else {
            // The mailbox vanished under us (deleted by another session).
            self.out.extend_from_slice(b"* BYE Selected mailbox was deleted\r\n");
            self.state = State::Logout;
            self.closing = true;
            return;
        };
        if validity != sel.uid_validity {
            // RFC 3501 2.3.1.1: UIDs are no longer valid; the client must
            // start over.
            self.out.extend_from_slice(b"* BYE UIDVALIDITY changed\r\n");
            self.state = State::Logout;
            self.closing = true;
            return;
        }
        let mut out = Out::default();
        let recent_start = sel.recent.len();
        let old = core::mem::take(&mut sel.slots);
        let mut kept: Vec<Slot> = Vec::with_capacity(list.len());
        let mut expunged_seqs: Vec<u32> = Vec::new();
        // Indexes (in the new numbering) of messages whose flags changed.
        let mut flag_changed: Vec<usize> = Vec::new();
        let mut new_iter = list.into_iter().peekable();
        for (i, slot) in old.into_iter().enumerate() {
            while new_iter.peek().map_or(false, |m| m.uid < slot.meta.uid) {
                // A UID below a known one cannot be new; skip it.
                new_iter.next();
            }
            match new_iter.peek() {
                Some(m) if m.uid == slot.meta.uid => {
                    let m = new_iter.next().unwrap();
                    if m.flags != slot.meta.flags && !slot.gone {
                        flag_changed.push(kept.len());
                    }
                    kept.push(Slot { meta: m, gone: slot.gone });
                }
                _ => {
                    if allow_expunge {
                        expunged_seqs.push(i as u32 + 1);
                        sel.recent.remove(&slot.meta.uid);
                    } else {
                        kept.push(Slot { meta: slot.meta, gone: true });
                    }
                }
            }
        }
        // Expunges held back (RFC 3501 7.4.1) are announced by a later sync.
        self.changed = kept.iter().any(|s| s.gone);
        let before = kept.len();
        kept.extend(new_iter.map(|meta| Slot { meta, gone: false }));
        let arrived = kept.len() > before;
        // Descending order keeps every number valid when it is sent.
        for seq in expunged_seqs.iter().rev() {
            out.s("* ").num(seq).s(" EXPUNGE\r\n");
        }
        sel.slots = kept;
        if arrived {
            // EXAMINE must not take \Recent away from others: peek.
            let r = if sel.read_only { store.peek_recent(&sel.name) } else { store.claim_recent(&sel.name) };
            if let Ok(r) = r {
                sel.recent.extend(r);
            }
            out.s("* ").num(sel.slots.len()).s(" EXISTS\r\n");
        }
        // RFC 3501 7.3.2: RECENT when the number changes (also after
        // expunges of recent messages), as Dovecot does.
        if !self.rev2 && sel.recent.len() != recent_start {
            out.s("* ").num(sel.recent.len()).s(" RECENT\r\n");
        }
        let touched: Vec<Flags> = flag_changed
            .iter()
            .map(|&i| sel.slots[i].meta.flags.clone())
            .chain(sel.slots[before..].iter().map(|s| s.meta.flags.clone()))
            .collect();
        sel.announce_keywords(&mut out, touched.iter());
        for i in flag_changed {
            // Unsolicited flag updates carry no UID (as Dovecot without
            // QRESYNC); MODSEQ once CONDSTORE is on (RFC 7162 3.2).
            out.s("* ").num(i + 1).s(" FETCH (");
            sel.flags_out(&mut out, &sel.slots[i]);
            if self.condstore {
                out.s(" MODSEQ (").num(sel.slots[i].meta.modseq).s(")");
            }
            out.s(")\r\n");
        }
        self.out.extend_from_slice(&out.buf);
    }

    /// Resolves a sequence or UID set to slot indexes (ascending).
    pub(super) fn resolve(&self, set: &SeqSet, uid: bool) -> Result<Vec<usize>, Done> {
        let State::Selected(sel) = &self.state else { return Ok(Vec::new()) };
        if let SeqSet::Saved = set {
            return Ok(sel
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| sel.saved.binary_search(&s.meta.uid).is_ok())
                .map(|(i, _)| i)
                .collect());
        }
        if uid {
            let norm = set.normalize(sel.max_uid());
            return Ok(sel
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| SeqSet::in_normalized(&norm, s.meta.uid))
                .map(|(i, _)| i)
                .collect());
        }
        let n = sel.slots.len() as u32;
        if let SeqSet::Ranges(r) = set {
            // RFC 9051 6.4: a message sequence number beyond the mailbox
            // is a client error.
            // `*` in an empty mailbox names no message either (Dovecot
            // answers BAD too).
            if n == 0 || r.iter().any(|r| (r.lo != STAR && r.lo > n) || (r.hi != STAR && r.hi > n)) {
                return Err(bad("Invalid message sequence number"));
            }
        }
        let norm = set.normalize(n);
        Ok((0..sel.slots.len()).filter(|&i| SeqSet::in_normalized(&norm, i as u32 + 1)).collect())
    }

    pub(super) fn expunge(&mut self, store: &mut dyn Store, uids: Option<&SeqSet>) -> Done {
        // See concurrent changes (including other sessions' \Deleted) first.
        self.sync(store, true);
        let limit = match uids {
            Some(set) => match self.resolve(set, true) {
                Ok(v) => Some(v),
                Err(d) => return d,
            },
            None => None,
        };
        let State::Selected(sel) = &mut self.state else { return bad("No mailbox selected") };
        if sel.read_only {
            return no_code("READ-ONLY", "Mailbox is read-only");
        }
        let mut in_limit = alloc::vec![limit.is_none(); sel.slots.len()];
        for &i in limit.iter().flatten() {
            in_limit[i] = true;
        }
        let idx: Vec<usize> = (0..sel.slots.len())
            .filter(|&i| in_limit[i])
            .filter(|&i| sel.slots[i].meta.flags.has(SystemFlag::Deleted) && !sel.slots[i].gone)
            .collect();
        let uids: Vec<Uid> = idx.iter().map(|&i| sel.slots[i].meta.uid).collect();
        if !uids.is_empty() {
            if let Err(e) = store.expunge(&sel.name, &uids) {
                return store_err(e);
            }
        }
        let mut o = Out::default();
        let recent_start = sel.recent.len();
        for &i in idx.iter().rev() {
            o.s("* ").num(i + 1).s(" EXPUNGE\r\n");
            let s = sel.slots.remove(i);
            sel.recent.remove(&s.meta.uid);
        }
        if !self.rev2 && sel.recent.len() != recent_start {
            o.s("* ").num(sel.recent.len()).s(" RECENT\r\n");
        }
        self.out.extend_from_slice(&o.buf);
        ok("")
    }

    pub(super) fn search(&mut self, store: &mut dyn Store, tag: &str, mut s: SearchCommand) -> Done {
        // RFC 7162 3.1: SEARCH MODSEQ enables CONDSTORE.
        if s.key.uses_modseq() && self.cfg.condstore {
            self.enable_condstore(store);
        }
        if let Some(cs) = &s.charset {
            // RFC 3501 6.4.4: UTF-8 (and US-ASCII) must be supported; the
            // single-byte charsets mail-mime knows are converted to UTF-8.
            match mail_mime::Charset::from_label(cs.as_bytes()) {
                Some(mail_mime::Charset::Utf8) | Some(mail_mime::Charset::UsAscii) => {}
                Some(c) => search::convert_charset(&mut s.key, c),
                None => {
                    return no_code(
                        "BADCHARSET (UTF-8 US-ASCII ISO-8859-1 ISO-8859-15 WINDOWS-1252)",
                        "Unsupported charset",
                    )
                }
            }
        }
        // Sequence numbers beyond the mailbox are not an error in SEARCH.
        let State::Selected(sel) = &self.state else { return bad("No mailbox selected") };
        let need = s.key.needs_content();
        let need_body = s.key.needs_body();
        let max_seq = sel.slots.len() as u32;
        let max_uid = sel.max_uid();
        let name = sel.name.clone();
        let mut hits: Vec<(u32, Uid)> = Vec::new();
        // RFC 7162 3.1.5: the MODSEQ of each match.
        let mut hit_modseqs: Vec<u64> = Vec::new();
        for (i, slot) in sel.slots.iter().enumerate() {
            if slot.gone {
                continue;
            }
            let data = match (need, need_body) {
                (false, _) => None,
                (true, false) => store.read_header(&name, slot.meta.uid).ok(),
                (true, true) => store.read_message(&name, slot.meta.uid).ok(),
            };
            let crlf = data.as_deref().map(mime::to_crlf);
            let parsed = crlf.as_deref().map(mime::parse);
            let ctx = search::Ctx {
                seq: i as u32 + 1,
                meta: &slot.meta,
                recent: sel.recent.contains(&slot.meta.uid),
                max_seq,
                max_uid,
                msg: parsed.as_ref(),
                saved: &sel.saved,
            };
            if search::matches(&s.key, &ctx) {
                hits.push((i as u32 + 1, slot.meta.uid));
                hit_modseqs.push(slot.meta.modseq);
            }
        }
        let nums: Vec<u32> = hits.iter().map(|&(q, u)| if s.uid { u } else { q }).collect();
        let with_modseq = s.key.uses_modseq() && !hits.is_empty();
        let modseq = with_modseq.then(|| hit_modseqs.iter().copied().max().unwrap_or(0));
        let ret = match (&s.ret, self.rev2) {
            (Some(r), _) => Some(r.clone()),
            // RFC 9051 6.4.4: IMAP4rev2 answers SEARCH with ESEARCH.
            (None, true) => Some(SearchReturn { all: true, ..Default::default() }),
            (None, false) => None,
        };
        let mut o = Out::default();
        match ret {
            None => {
                o.s("* SEARCH");
                for n in &nums {
                    o.s(" ").num(n);
                }
                if let Some(m) = modseq {
                    o.s(" (MODSEQ ").num(m).s(")");
                }
                o.s("\r\n");
            }
            Some(r) => {
                if r.save {
                    if let State::Selected(sel) = &mut self.state {
                        // RFC 5182 2.1: MIN/MAX alone save only those.
                        sel.saved = if r.all || r.count || (r.min == r.max) {
                            hits.iter().map(|h| h.1).collect()
                        } else {
                            let mut v = Vec::new();
                            if r.min {
                                v.extend(hits.first().map(|h| h.1));
                            }
                            if r.max {
                                v.extend(hits.last().map(|h| h.1));
                            }
                            v
                        };
                    }
                }
                // RFC 5182 2.1: SAVE alone produces no ESEARCH response.
                if r.min || r.max || r.all || r.count {
                    o.s("* ESEARCH (TAG ").string(tag.as_bytes()).s(")");
                    if s.uid {
                        o.s(" UID");
                    }
                    if !nums.is_empty() {
                        if r.min {
                            o.s(" MIN ").num(nums[0]);
                        }
                        if r.max {
                            o.s(" MAX ").num(nums[nums.len() - 1]);
                        }
                        if r.all {
                            o.s(" ALL ").s(&SeqSet::format(&nums));
                        }
                    }
                    if r.count {
                        o.s(" COUNT ").num(nums.len());
                    }
                    // RFC 7162 3.1.5: MODSEQ in ESEARCH too, the highest of
                    // the messages returned (only MIN and/or MAX: of those).
                    if with_modseq {
                        let m = if r.all || r.count {
                            modseq.unwrap_or(0)
                        } else {
                            let first = if r.min { hit_modseqs[0] } else { 0 };
                            let last = if r.max { hit_modseqs[hit_modseqs.len() - 1] } else { 0 };
                            first.max(last)
                        };
                        o.s(" MODSEQ ").num(m);
                    }
                    o.s("\r\n");
                }
            }
        }
        self.out.extend_from_slice(&o.buf);
        ok("")
    }

    /// Answers messages of a FETCH until the output reaches
    /// `max_output` (at least one per call); `Some` when done.
    pub(super) fn fetch(&mut self, store: &mut dyn Store, job: &mut FetchJob) -> Option<Done> {
        let (uid, changed_since) = (job.uid, job.changed_since);
        let items = &job.items[..];
        let max_output = self.cfg.max_output;
        let condstore = self.condstore;
        let State::Selected(sel) = &mut self.state else { return Some(bad("No mailbox selected")) };
        let need_content = items.iter().any(fetch::needs_content);
        // Header-only items read the header, not a large body.
        let header_only = items.iter().all(fetch::header_only);
        let mut unknown_cte = job.unknown_cte;
        let want_seen = !sel.read_only && items.iter().any(fetch::sets_seen);
        let mut answered = 0;
        while job.pos < job.idx.len() {
            if answered > 0 && self.out.len() >= max_output {
                job.unknown_cte = unknown_cte;
                return None;
            }
            let i = job.idx[job.pos];
            job.pos += 1;
            answered += 1;
            if sel.slots[i].gone {
                continue;
            }
            if let Some(cs) = changed_since {
                if sel.slots[i].meta.modseq <= cs {
                    continue;
                }
            }
            let uidv = sel.slots[i].meta.uid;
            let data = if need_content {
                let r =
                    if header_only { store.read_header(&sel.name, uidv) } else { store.read_message(&sel.name, uidv) };
                match r {
                    Ok(d) => Some(d),
                    // Expunged meanwhile: RFC 3501 7.4.1 lets us skip it.
                    Err(_) => continue,
                }
            } else {
                None
            };
            let mut flags_added = false;
            if want_seen && !sel.slots[i].meta.flags.has(SystemFlag::Seen) {
                let mut f = sel.slots[i].meta.flags.clone();
                f.set(SystemFlag::Seen, true);
                if store.set_flags(&sel.name, uidv, &f).is_ok() {
                    sel.slots[i].meta.flags = f;
                    flags_added = true;
                }
            }
            let msg = data.as_deref().map(mime::to_crlf);
            let msg_bytes: &[u8] = msg.as_deref().unwrap_or(&[]);
            let tree = if need_content { Some(mime::parse(msg_bytes)) } else { None };
            let mut o = Out::default();
            o.s("* ").num(i + 1).s(" FETCH (");
            let mut first = true;
            let mut sep = |o: &mut Out| {
                if !first {
                    o.s(" ");
                }
                first = false;
            };
            // RFC 3501 6.4.8: UID FETCH always includes UID.
            if uid && !items.contains(&FetchAttr::Uid) {
                sep(&mut o);
                o.s("UID ").num(uidv);
            }
            let slot = &sel.slots[i];
            for a in items {
                sep(&mut o);
                match a {
                    FetchAttr::Uid => {
                        o.s("UID ").num(uidv);
                    }
                    FetchAttr::Flags => sel.flags_out(&mut o, slot),
                    FetchAttr::InternalDate => {
                        let mut s = String::new();
                        crate::datetime::format_internal(slot.meta.internal_date, &mut s);
                        o.s("INTERNALDATE ").s(&s);
                    }
                    FetchAttr::Rfc822Size => {
                        o.s("RFC822.SIZE ").num(slot.meta.size);
                    }
                    FetchAttr::ModSeq => {
                        o.s("MODSEQ (").num(slot.meta.modseq).s(")");
                    }
                    FetchAttr::Envelope => {
                        o.s("ENVELOPE ");
                        fetch::envelope(&mut o, tree.as_ref().unwrap(), 0);
                    }
                    FetchAttr::Body => {
                        o.s("BODY ");
                        fetch::body_structure(&mut o, tree.as_ref().unwrap(), 0, false);
                    }
                    FetchAttr::BodyStructure => {
                        o.s("BODYSTRUCTURE ");
                        fetch::body_structure(&mut o, tree.as_ref().unwrap(), 0, true);
                    }
                    FetchAttr::Rfc822 => {
                        o.s("RFC822 ").literal(msg_bytes);
                    }
                    FetchAttr::Rfc822Header => {
                        let h = tree.as_ref().unwrap().root().header.range.clone();
                        o.s("RFC822.HEADER ").literal(&msg_bytes[h]);
                    }
                    FetchAttr::Rfc822Text => {
                        let b = tree.as_ref().unwrap().root().body.clone();
                        o.s("RFC822.TEXT ").literal(&msg_bytes[b]);
                    }
                    FetchAttr::Section { section, partial, .. } => {
                        fetch::section_name(&mut o, "BODY", section, *partial);
                        o.s(" ");
                        let bytes = mime::section_bytes(tree.as_ref().unwrap(), section).unwrap_or_default();
                        let bytes: &[u8] = &bytes;
                        o.literal(fetch::apply_partial(&bytes, *partial));
                    }
                    FetchAttr::Binary { part, partial, .. } => {
                        let sec = Section { part: part.clone(), text: None };
                        fetch::section_name(&mut o, "BINARY", &sec, *partial);
                        o.s(" ");
                        let bytes = match mime::binary(tree.as_ref().unwrap(), part) {
                            Binary::Data(b) => b,
                            // A part that does not exist is empty (as Dovecot).
                            Binary::NoPart => Vec::new(),
                            Binary::UnknownCte => {
                                unknown_cte = true;
                                Vec::new()
                            }
                        };
                        let b = fetch::apply_partial(&bytes, *partial);
                        // RFC 3516 4.3: literal8 when it holds NUL.
                        if b.contains(&0) {
                            o.s("~");
                        }
                        o.literal(b);
                    }
                    FetchAttr::BinarySize(part) => {
                        o.s("BINARY.SIZE[");
                        o.s(&part.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("."));
                        o.s("] ");
                        let n = match mime::binary(tree.as_ref().unwrap(), part) {
                            Binary::Data(b) => b.len(),
                            Binary::NoPart => 0,
                            Binary::UnknownCte => {
                                unknown_cte = true;
                                0
                            }
                        };
                        o.num(n);
                    }
                }
            }
            if flags_added && !items.contains(&FetchAttr::Flags) {
                sep(&mut o);
                sel.flags_out(&mut o, slot);
            }
            // RFC 7162 3.2: once CONDSTORE is on, FETCH responses that
            // carry FLAGS also carry MODSEQ.
            let has_flags = flags_added || items.contains(&FetchAttr::Flags);
            if condstore && !items.contains(&FetchAttr::ModSeq) && (changed_since.is_some() || has_flags) {
                sep(&mut o);
                o.s("MODSEQ (").num(slot.meta.modseq).s(")");
            }
            o.s(")\r\n");
            self.out.extend_from_slice(&o.buf);
        }
        if unknown_cte {
            // RFC 3516 4.2: a transfer encoding we cannot decode.
            return Some(no_code("UNKNOWN-CTE", "Cannot decode the content transfer encoding"));
        }
        Some(ok(""))
    }

    pub(super) fn store(&mut self, store: &mut dyn Store, s: StoreCommand) -> Done {
        let idx = match self.resolve(&s.set, s.uid) {
            Ok(v) => v,
            Err(d) => return d,
        };
        if s.unchanged_since.is_some() {
            if !self.cfg.condstore {
                return bad("CONDSTORE is not supported");
            }
            self.enable_condstore(store);
        }
        let condstore = self.condstore;
        let max_keywords = self.cfg.max_keywords;
        let State::Selected(sel) = &mut self.state else { return bad("No mailbox selected") };
        if sel.read_only {
            return no_code("READ-ONLY", "Mailbox is read-only");
        }
        let mut given = Flags::new();
        for f in &s.flags {
            given.add_named(f);
        }
        let mut modified: Vec<u32> = Vec::new();
        let mut answered: Vec<usize> = Vec::new();
        let mut changed = false;
        let mut o = Out::default();
        if s.mode != StoreMode::Remove {
            sel.announce_keywords(&mut o, core::iter::once(&given));
        }
        for i in idx {
            if sel.slots[i].gone {
                continue;
            }
            let slot = &sel.slots[i];
            // RFC 7162 3.2: UNCHANGEDSINCE fails for messages changed later.
            if let Some(us) = s.unchanged_since {
                if slot.meta.modseq > us {
                    modified.push(if s.uid { slot.meta.uid } else { i as u32 + 1 });
                    continue;
                }
            }
            let mut f = slot.meta.flags.clone();
            match s.mode {
                StoreMode::Replace => f = given.clone(),
                StoreMode::Add => f.union(&given),
                StoreMode::Remove => f.subtract(&given),
            }
            if f.keywords().len() > max_keywords {
                self.out.extend_from_slice(&o.buf);
                return no_code("LIMIT", "Too many keywords");
            }
            let uid = slot.meta.uid;
            if f != slot.meta.flags {
                if let Err(e) = store.set_flags(&sel.name, uid, &f) {
                    if e == StoreError::NotFound {
                        continue;
                    }
                    return store_err(e);
                }
                sel.slots[i].meta.flags = f;
                changed = true;
            }
            answered.push(i);
        }
        if condstore && changed {
            // Learn the new MODSEQs (one listing) so that our own changes
            // are not echoed as someone else's by the next sync.
            if let Ok((_, list)) = store.list_messages(&sel.name) {
                for &i in &answered {
                    let uid = sel.slots[i].meta.uid;
                    if let Ok(p) = list.binary_search_by_key(&uid, |m| m.uid) {
                        sel.slots[i].meta.modseq = list[p].modseq;
                    }
                }
            }
        }
        if !s.silent {
            for &i in &answered {
                o.s("* ").num(i + 1).s(" FETCH (");
                if s.uid {
                    o.s("UID ").num(sel.slots[i].meta.uid).s(" ");
                }
                sel.flags_out(&mut o, &sel.slots[i]);
                if condstore {
                    o.s(" MODSEQ (").num(sel.slots[i].meta.modseq).s(")");
                }
                o.s(")\r\n");
            }
        }
        self.out.extend_from_slice(&o.buf);
        if !modified.is_empty() {
            return ok_code(format!("MODIFIED {}", SeqSet::format(&modified)), "Conditional STORE failed");
        }
        ok("")
    }

    pub(super) fn copy_move(
        &mut self,
        store: &mut dyn Store,
        uid: bool,
        set: &SeqSet,
        raw: &[u8],
        is_move: bool,
    ) -> Done {
        let idx = match self.resolve(set, uid) {
            Ok(v) => v,
            Err(d) => return d,
        };
        let target = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        let State::Selected(sel) = &mut self.state else { return bad("No mailbox selected") };
        if is_move && sel.read_only {
            return no_code("READ-ONLY", "Mailbox is read-only");
        }
        if !store.list_folders().unwrap_or_default().contains(&target) {
            return no_code("TRYCREATE", "No such mailbox");
        }
        let idx: Vec<usize> = idx.into_iter().filter(|&i| !sel.slots[i].gone).collect();
        let uids: Vec<Uid> = idx.iter().map(|&i| sel.slots[i].meta.uid).collect();
        if uids.is_empty() {
            return ok("No messages");
        }
        let r = if is_move {
            store.move_messages(&sel.name, &uids, &target)
        } else {
            store.copy(&sel.name, &uids, &target)
        };
        let (validity, new) = match r {
            Ok(v) => v,
            Err(e) => return store_err(e),
        };
        // RFC 4315 3: COPYUID (source set, destination set, same order).
        let code = if new.len() == uids.len() {
            Some(format!("COPYUID {} {} {}", validity, uid_set(&uids), uid_set(&new)))
        } else {
            None
        };
        if !is_move {
            return match code {
                Some(c) => ok_code(c, "COPY completed"),
                None => ok("COPY completed"),
            };
        }
        // RFC 6851 3.3: COPYUID goes in an untagged OK, then EXPUNGEs.
        let mut o = Out::default();
        if let Some(c) = code {
            o.s("* OK [").s(&c).s("] Moved\r\n");
        }
        let recent_start = sel.recent.len();
        for &i in idx.iter().rev() {
            o.s("* ").num(i + 1).s(" EXPUNGE\r\n");
            let s = sel.slots.remove(i);
            sel.recent.remove(&s.meta.uid);
        }
        if !self.rev2 && sel.recent.len() != recent_start {
            o.s("* ").num(sel.recent.len()).s(" RECENT\r\n");
        }
        self.out.extend_from_slice(&o.buf);
        ok("MOVE completed")
    }
}

/// A UID list in compact form (`1:3,7`) when ascending, else as given:
/// COPYUID's two sets must list corresponding UIDs in the same order.
fn uid_set(v: &[Uid]) -> String {
    if v.windows(2).all(|w| w[0] < w[1]) {
        SeqSet::format(v)
    } else {
        v.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(",")
    }
}

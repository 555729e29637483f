//! `unimail dkim rotate DIR [--retire SELECTOR]...`: DKIM key rotation
//! (RFC 6376 3.1: selectors exist so a domain can change keys).
//!
//! Without `--retire`: a new selector pair named by the day (`sYYYYMMDDr`
//! RSA-2048, `sYYYYMMDDe` Ed25519, as `init` makes them) is added for each
//! domain with DKIM keys; the old selectors stay configured, so the
//! appliance keeps signing with them too (it signs with every selector of
//! the From domain) until the new records are published and cached
//! everywhere. Prints the records to add.
//!
//! With `--retire SELECTOR`: that selector's `[dkim]` sections leave the
//! config, its key file is kept as `KEY.retired` (so `dns --verify` can
//! report the record as stale), and the records to delete are printed.
//!
//! The config file is rewritten atomically (temporary file + rename) and
//! re-checked; on any problem the old one is put back.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use mail_config::{FileRef, CONFIG_FILE};

use crate::config_cmds::{check_files, load, txt, DkimKey, Loaded, Opts};

pub fn rotate_cmd(o: &Opts) -> Result<(), String> {
    let dir = o.dir()?;
    let l = loaded(&dir)?;
    let retire: Vec<&str> = o.all("retire").collect();
    if retire.is_empty() {
        add(&l, time::OffsetDateTime::now_utc())
    } else {
        retire_selectors(&l, &retire)
    }
}

fn loaded(dir: &Path) -> Result<Loaded, String> {
    let l = load(dir).map_err(|p| {
        let lines: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        format!("{}\nfix the config first (`unimail check`)", lines.join("\n"))
    })?;
    Ok(l)
}

/// Write `text` as the config atomically, then parse and check it again;
/// on failure the old text is restored and the problems returned.
fn replace_config(l: &Loaded, text: &str) -> Result<(), String> {
    let path = l.dir.join(CONFIG_FILE);
    let tmp = l.dir.join(format!("{CONFIG_FILE}.tmp"));
    let write = |p: &Path, body: &str| -> Result<(), String> {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(p).map_err(|e| format!("{}: {e}", p.display()))?;
        f.write_all(body.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| format!("{}: {e}", p.display()))
    };
    write(&tmp, text)?;
    fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    let problems = match load(&l.dir) {
        Ok(n) => check_files(&n).into_iter().filter(|p| !p.warning).collect(),
        Err(p) => p,
    };
    if problems.is_empty() {
        return Ok(());
    }
    write(&tmp, &l.text)?;
    fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    Err(format!("the rotated config does not check, left unchanged:\n{}", lines.join("\n")))
}

fn add(l: &Loaded, now: time::OffsetDateTime) -> Result<(), String> {
    use rand_core::OsRng;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let stamp = format!("{:04}{:02}{:02}", now.year(), now.month() as u8, now.day());
    let (sel_r, sel_e) = (format!("s{stamp}r"), format!("s{stamp}e"));
    let mut domains: Vec<String> = Vec::new();
    for k in &l.cfg.dkim {
        if matches!(k.key, FileRef::Path(_)) && !domains.contains(&k.domain) {
            domains.push(k.domain.clone());
        }
    }
    if domains.is_empty() {
        domains = l.cfg.domains.clone();
    }
    for d in &domains {
        if l.cfg.dkim.iter().any(|k| &k.domain == d && (k.selector == sel_r || k.selector == sel_e)) {
            return Err(format!("{d} already has selector {sel_r} or {sel_e}: rotate at most once a day"));
        }
    }
    let mut text = l.text.clone();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let date = format!("{:04}-{:02}-{:02}", now.year(), now.month() as u8, now.day());
    let mut written: Vec<PathBuf> = Vec::new();
    let mut records = String::new();
    let result = (|| -> Result<(), String> {
        for d in &domains {
            let rsa = rsa::RsaPrivateKey::new(&mut OsRng, 2048).map_err(|e| format!("RSA key generation: {e}"))?;
            let rsa_pem = rsa.to_pkcs8_pem(LineEnding::LF).map_err(|e| e.to_string())?.to_string();
            let ed = ed25519_dalek::SigningKey::generate(&mut OsRng);
            let ed_pem = ed.to_pkcs8_pem(LineEnding::LF).map_err(|e| e.to_string())?.to_string();
            text.push_str(&format!(
                "\n# Added by `unimail dkim rotate` on {date}. The older selectors keep signing until\n# `unimail dkim rotate DIR --retire SELECTOR` (after these records are published).\n"
            ));
            for (sel, alg, pem) in [(&sel_r, "rsa-sha256", rsa_pem), (&sel_e, "ed25519-sha256", ed_pem)] {
                let rel = format!("dkim/{d}.{sel}.pem");
                let p = l.dir.join(&rel);
                fs::create_dir_all(p.parent().unwrap()).map_err(|e| e.to_string())?;
                let mut opts = fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                written.push(p.clone());
                f.write_all(pem.as_bytes()).map_err(|e| format!("{}: {e}", p.display()))?;
                text.push_str(&format!("[dkim {d}]\nselector = {sel}\nalgorithm = {alg}\nkey = {rel}\n\n"));
                let key = DkimKey::from_pem(&pem).ok_or("generated key does not read back")?;
                records.push_str(&format!("{sel}._domainkey.{d}. 3600 IN TXT {}\n", txt(&key.dns_record())));
            }
        }
        replace_config(l, &format!("{}\n", text.trim_end()))
    })();
    if let Err(e) = result {
        for p in &written {
            let _ = fs::remove_file(p);
        }
        return Err(e);
    }
    for p in &written {
        println!("wrote {}", p.display());
    }
    println!("updated {}", l.dir.join(CONFIG_FILE).display());
    println!("; Records to add now. Both the old and the new selectors sign from the next boot;");
    println!("; retire the old ones (`unimail dkim rotate DIR --retire SELECTOR`) once these are published.");
    print!("{records}");
    Ok(())
}

/// Line ranges `[start, end)` of the `[dkim …]` sections whose selector is
/// `sel`. A section ends before the comment lines that lead into the next
/// section header.
fn sections_with_selector(text: &str, sel: &str) -> Vec<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let is_header = |l: &str| l.trim_start().starts_with('[');
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !is_header(lines[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        while end < lines.len() && !is_header(lines[end]) {
            end += 1;
        }
        let next = end;
        // Back off over the next section's leading comments and blanks.
        while end > start + 1 && {
            let t = lines[end - 1].trim();
            t.is_empty() || t.starts_with('#')
        } {
            end -= 1;
        }
        let header = lines[start].trim().trim_start_matches('[').split(']').next().unwrap_or("").trim();
        let is_dkim = header.split_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case("dkim"));
        let has_sel = lines[start + 1..end].iter().any(|l| {
            let l = l.split(" #").next().unwrap_or("").split("\t#").next().unwrap_or("");
            l.split_once('=').is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("selector") && v.trim() == sel)
        });
        if is_dkim && has_sel {
            // Drop the blank lines after it too, so no gap is left.
            let mut e = end;
            while e < next && lines[e].trim().is_empty() {
                e += 1;
            }
            out.push((start, e));
        }
        i = next;
    }
    out
}

fn retire_selectors(l: &Loaded, retire: &[&str]) -> Result<(), String> {
    let mut drop_lines: Vec<(usize, usize)> = Vec::new();
    let mut records = String::new();
    let mut renames: Vec<(PathBuf, PathBuf)> = Vec::new();
    for sel in retire {
        let keys: Vec<_> = l.cfg.dkim.iter().filter(|k| k.selector == *sel).collect();
        if keys.is_empty() {
            return Err(format!("no [dkim] section has selector {sel}"));
        }
        for k in &keys {
            let left =
                l.cfg.dkim.iter().filter(|o| o.domain == k.domain && !retire.contains(&o.selector.as_str())).count();
            if left == 0 {
                return Err(format!(
                    "retiring {} would leave {} without a DKIM key: run `unimail dkim rotate` first",
                    retire.join(", "),
                    k.domain
                ));
            }
            if let FileRef::Path(p) = &k.key {
                let pem = String::from_utf8(l.read(p)?).map_err(|_| format!("'{p}' is not PEM"))?;
                let key = DkimKey::from_pem(&pem).ok_or(format!("'{p}' is not a DKIM private key"))?;
                records.push_str(&format!("{sel}._domainkey.{}. 3600 IN TXT {}\n", k.domain, txt(&key.dns_record())));
                renames.push((l.dir.join(p), l.dir.join(format!("{p}.retired"))));
            }
        }
        drop_lines.extend(sections_with_selector(&l.text, sel));
    }
    let text: String = l
        .text
        .lines()
        .enumerate()
        .filter(|(i, _)| !drop_lines.iter().any(|(s, e)| (s..e).contains(&i)))
        .map(|(_, line)| format!("{line}\n"))
        .collect();
    // The key files are renamed only after the new config is in place and
    // checks, so a failed retirement changes nothing.
    let mut text_checked = text.clone();
    if !l.text.ends_with('\n') {
        text_checked.pop();
    }
    replace_config(l, &text_checked)?;
    for (from, to) in &renames {
        fs::rename(from, to).map_err(|e| format!("{}: {e}", from.display()))?;
        println!("kept {} as {}", from.display(), to.display());
    }
    println!("updated {}", l.dir.join(CONFIG_FILE).display());
    println!("; Records to delete: after the next boot nothing is signed with them; delete them a few");
    println!("; days later, once mail already sent has been verified (`unimail dns DIR --verify` lists");
    println!("; them as stale until then).");
    print!("{records}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sections_by_selector() {
        let t = "[server]\nhostname = h\n\n# two keys\n[dkim a]\nselector = old   # x\nkey = k\n\n[dkim a]\nselector = oldish\n\n# Added\n[dkim a]\nselector = new\n";
        assert_eq!(sections_with_selector(t, "old"), [(4, 8)]);
        assert_eq!(sections_with_selector(t, "oldish"), [(8, 11)]);
        assert_eq!(sections_with_selector(t, "new"), [(12, 14)]);
        assert!(sections_with_selector(t, "h").is_empty());
    }
}

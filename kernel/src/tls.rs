//! TLS for the services: the rustls server configuration built from the
//! config's `[tls]` sections (certificate chosen by SNI), the wall-clock
//! `TimeProvider`, and the getrandom backend rustls-rustcrypto draws from.

use alloc::string::String;
use alloc::sync::Arc;
use mail_config::{CertPair, FileRef};
use net::tls::{certified_key, certs_from_pem, key_from_pem, provider, server_config, SniResolver};
use rustls::pki_types::UnixTime;
use rustls::time_provider::TimeProvider;
use rustls::ServerConfig;

use crate::config::Loaded;

#[derive(Debug)]
pub struct KernelTime;

impl TimeProvider for KernelTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(core::time::Duration::from_secs(crate::time::unix_time())))
    }
}

/// getrandom 0.2 custom backend: everything comes from the seeded CSPRNG.
fn kernel_getrandom(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    crate::rand::fill(buf);
    Ok(())
}
getrandom::register_custom_getrandom!(kernel_getrandom);

/// `builtin:self-signed-cert`: a P-256 certificate for the host name made at
/// boot from the CSPRNG (valid from a day ago for a year; not stored, so it
/// changes at every boot — for the demo and first start only).
fn builtin(l: &Loaded) -> Result<Arc<rustls::sign::CertifiedKey>, String> {
    let now = crate::time::unix_time();
    let host = l.config.hostname.as_str();
    for _ in 0..8 {
        let mut secret = [0u8; 32];
        crate::rand::fill(&mut secret);
        match selfsigned::self_signed(&[host], now.saturating_sub(86_400), now + 365 * 86_400, secret) {
            Ok(ss) => {
                let chain = alloc::vec![rustls::pki_types::CertificateDer::from(ss.cert_der.clone())];
                let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
                    ss.key_pkcs8_der.to_vec(),
                ));
                log::info!("tls: generated a self-signed certificate for {host}");
                return certified_key(&provider(), chain, key)
                    .map_err(|e| alloc::format!("tls: built-in certificate: {e}"));
            }
            Err(selfsigned::Error::InvalidSecret) => continue,
            Err(e) => return Err(alloc::format!("tls: built-in certificate: {e:?}")),
        }
    }
    Err("tls: could not generate a key".into())
}

fn load_pair(l: &Loaded, p: &CertPair) -> Result<Option<Arc<rustls::sign::CertifiedKey>>, String> {
    let (c, k) = match (&p.cert, &p.key) {
        (FileRef::Path(c), FileRef::Path(k)) => (c, k),
        (FileRef::Builtin(_), FileRef::Builtin(_)) => return builtin(l).map(Some),
        _ => return Err("tls: cert and key must both be files or both builtin:".into()),
    };
    let cert = l.files.get(c).ok_or_else(|| alloc::format!("tls: {c}: not loaded"))?;
    let key = l.files.get(k).ok_or_else(|| alloc::format!("tls: {k}: not loaded"))?;
    let chain = certs_from_pem(cert).map_err(|e| alloc::format!("tls: {c}: {e}"))?;
    let key = key_from_pem(key).map_err(|e| alloc::format!("tls: {k}: {e}"))?;
    certified_key(&provider(), chain, key).map(Some).map_err(|e| alloc::format!("tls: {c} with {k}: {e}"))
}

/// Builds the server config (always `Some` today: without certificate
/// files a self-signed one is generated).
pub fn server(l: &Loaded) -> Result<Option<Arc<ServerConfig>>, String> {
    let mut r = SniResolver::new();
    let mut any = false;
    for (name, pair) in &l.config.tls.sni {
        if let Some(ck) = load_pair(l, pair)? {
            r.add(name, ck);
            any = true;
        }
    }
    if let Some(pair) = &l.config.tls.default {
        if let Some(ck) = load_pair(l, pair)? {
            r.set_default(ck);
            any = true;
        }
    }
    if !any {
        // CONFIG.md: without any [tls] section the kernel makes one.
        r.set_default(builtin(l)?);
    }
    server_config(Arc::new(r), Arc::new(KernelTime)).map(Some).map_err(|e| alloc::format!("tls: {e}"))
}

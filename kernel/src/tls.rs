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

fn load_pair(l: &Loaded, p: &CertPair) -> Result<Option<Arc<rustls::sign::CertifiedKey>>, String> {
    let (FileRef::Path(c), FileRef::Path(k)) = (&p.cert, &p.key) else {
        return Ok(None);
    };
    let cert = l.files.get(c).ok_or_else(|| alloc::format!("tls: {c}: not loaded"))?;
    let key = l.files.get(k).ok_or_else(|| alloc::format!("tls: {k}: not loaded"))?;
    let chain = certs_from_pem(cert).map_err(|e| alloc::format!("tls: {c}: {e}"))?;
    let key = key_from_pem(key).map_err(|e| alloc::format!("tls: {k}: {e}"))?;
    certified_key(&provider(), chain, key).map(Some).map_err(|e| alloc::format!("tls: {c} with {k}: {e}"))
}

/// Builds the server config. `Ok(None)` when no certificate is available
/// (only built-in ones named, which this build cannot generate yet).
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
        log::warn!("tls: no certificate files configured and built-in self-signed certificates are not implemented yet: TLS is off");
        return Ok(None);
    }
    server_config(Arc::new(r), Arc::new(KernelTime)).map(Some).map_err(|e| alloc::format!("tls: {e}"))
}

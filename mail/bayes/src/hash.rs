//! The 64-bit token hash: FNV-1a over the bytes, then the MurmurHash3
//! 64-bit finaliser to spread FNV's weak low bits. Unkeyed on purpose: the
//! token file stays valid across reboots and machines.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Hash state, fed with `write` and closed with `finish`.
#[derive(Clone, Copy, Debug)]
pub struct TokenHasher(u64);

impl Default for TokenHasher {
    fn default() -> Self {
        TokenHasher(FNV_OFFSET)
    }
}

impl TokenHasher {
    pub fn write(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
        self
    }

    pub fn finish(&self) -> u64 {
        fmix64(self.0)
    }
}

/// MurmurHash3's fmix64.
pub fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// Hash of one byte string.
pub fn hash(bytes: &[u8]) -> u64 {
    TokenHasher::default().write(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_spread() {
        // Pinned: the on-disk store depends on these values never changing.
        assert_eq!(hash(b""), fmix64(FNV_OFFSET));
        assert_eq!(TokenHasher::default().write(b"ab").write(b"c").finish(), hash(b"abc"));
        assert_ne!(hash(b"abc"), hash(b"acb"));
        // Values computed independently (Python) from the definition.
        assert_eq!(hash(b"viagra"), 0x133f_6799_f581_7800);
        assert_eq!(hash(b""), 0xefd0_1f60_ba99_2926);
    }
}

//! FNV-1a, for hash maps whose keys no adversary chooses (a rule and a
//! secret, a place in a pack): cheaper than SipHash, and as good here.
use std::hash::{BuildHasherDefault, Hasher};

pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The `BuildHasher` of [`Fnv`] for `HashMap`s.
pub type FnvState = BuildHasherDefault<Fnv>;

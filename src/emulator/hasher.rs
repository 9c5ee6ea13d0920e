//! The hash function of the emulator's growing maps: FxHash, the multiply-and-add hash rustc uses.
//! Keys are ids the emulator made, or names and secrets from a local caller, so SipHash's
//! resistance to crafted collisions buys nothing here, while hashing 20–40 byte keys with it was
//! a few percent of every call's instructions.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A hash map from string keys, hashed with [`FxHasher`].
pub(crate) type Map<V> = HashMap<String, V, BuildHasherDefault<FxHasher>>;

const SEED: u64 = 0xf135_7aea_2e62_a9c5;

/// FxHash over 8-byte words (as in rustc-hash 2), with a final rotation so that the low bits,
/// which pick the bucket, depend on every word.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = self.hash.wrapping_add(word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_spread_over_buckets() {
        let mut map: Map<usize> = Map::default();
        for i in 0..10_000 {
            map.insert(format!("aje{i:017}"), i);
        }
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.get("aje00000000000004242"), Some(&4242));
        // Low bits (the bucket) of near-identical ids differ.
        let low = |s: &str| {
            let mut h = FxHasher::default();
            h.write(s.as_bytes());
            h.write_u8(0xff);
            h.finish() & 0xff
        };
        let distinct: std::collections::BTreeSet<u64> = (0..64).map(|i| low(&format!("aje{i:017}"))).collect();
        assert!(distinct.len() > 40, "{}", distinct.len());
    }
}

//! `SchedRng`: the only source of randomness in the scheduler, seeded by the caller, so a
//! plan is a pure function of state, evaluation and seed.

/// A small, fast, seeded generator (SplitMix64).
#[derive(Clone, Debug)]
pub struct SchedRng {
    state: u64,
}

impl SchedRng {
    /// A generator from a seed.
    pub fn seeded(seed: u64) -> Self {
        SchedRng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (((self.next_u64() >> 32) * bound as u64) >> 32) as usize
    }

    /// Shuffles in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// A random UUID (version 4 layout) for allocation and deployment IDs.
    pub fn uuid(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        let bytes: [u8; 16] = {
            let mut out = [0u8; 16];
            out[..8].copy_from_slice(&a.to_be_bytes());
            out[8..].copy_from_slice(&b.to_be_bytes());
            out[6] = (out[6] & 0x0f) | 0x40;
            out[8] = (out[8] & 0x3f) | 0x80;
            out
        };
        uuid::Uuid::from_bytes(bytes).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_uuid_shape() {
        let (mut a, mut b) = (SchedRng::seeded(7), SchedRng::seeded(7));
        assert_eq!(a.uuid(), b.uuid());
        let id = a.uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        let mut v: Vec<u32> = (0..50).collect();
        a.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(v, sorted);
        assert!((0..1000).all(|_| a.below(3) < 3));
    }
}

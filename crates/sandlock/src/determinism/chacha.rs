//! ChaCha20 (RFC 8439) as a deterministic random generator: a key derivation for the tree of
//! per-process streams, and the streams themselves.
//!
//! Written here rather than taken from a crate (the workspace allows no new dependencies); it is
//! a few dozen lines, pinned by the RFC's test vector.

/// A 256-bit key.
pub(crate) type Key = [u8; 32];

/// What a derived key or stream is for: the third and fourth words of the nonce, so that keys
/// and streams of different purposes never share a ChaCha20 block sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domain {
    /// The root key, from the seed.
    Root = 1,
    /// The key of a child process, from its parent's key and its index.
    Child = 2,
    /// A process's `getrandom` stream.
    Getrandom = 3,
    /// The stream behind one open of `/dev/urandom` or `/dev/random`.
    Device = 4,
    /// A process whose place in the tree could not be found (not reproducible).
    Lost = 5,
    /// The key of a thread other than a process's main thread, from the process's key and the
    /// thread's index.
    Thread = 6,
}

/// The ChaCha20 block function: 64 bytes of key stream for `key`, block `counter` and the
/// 96-bit nonce `nonce`.
pub(crate) fn block(key: &Key, counter: u32, nonce: [u32; 3]) -> [u8; 64] {
    let mut s = [0u32; 16];
    s[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    for (i, w) in key.chunks_exact(4).enumerate() {
        s[4 + i] = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
    }
    s[12] = counter;
    s[13..].copy_from_slice(&nonce);
    let mut x = s;
    for _ in 0..10 {
        quarter(&mut x, 0, 4, 8, 12);
        quarter(&mut x, 1, 5, 9, 13);
        quarter(&mut x, 2, 6, 10, 14);
        quarter(&mut x, 3, 7, 11, 15);
        quarter(&mut x, 0, 5, 10, 15);
        quarter(&mut x, 1, 6, 11, 12);
        quarter(&mut x, 2, 7, 8, 13);
        quarter(&mut x, 3, 4, 9, 14);
    }
    let mut out = [0u8; 64];
    for (i, o) in out.chunks_exact_mut(4).enumerate() {
        o.copy_from_slice(&x[i].wrapping_add(s[i]).to_le_bytes());
    }
    out
}

fn quarter(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

fn nonce(domain: Domain, index: u64) -> [u32; 3] {
    [domain as u32, index as u32, (index >> 32) as u32]
}

/// The key for `domain` number `index` below `key`.
pub(crate) fn derive(key: &Key, domain: Domain, index: u64) -> Key {
    let b = block(key, 0, nonce(domain, index));
    let mut k = [0; 32];
    k.copy_from_slice(&b[..32]);
    k
}

/// The root key of seed `seed`.
pub(crate) fn root(seed: u64) -> Key {
    let mut k = *b"sandlock random seed v1.........";
    k[24..].copy_from_slice(&seed.to_le_bytes());
    derive(&k, Domain::Root, 0)
}

/// Fills `out` with the bytes at `pos..pos + out.len()` of stream `(domain, index)` of `key`.
///
/// Streams are 256 GiB long (a 32-bit block counter); past that they wrap, which no sandbox
/// reaches in practice.
pub(crate) fn fill(key: &Key, domain: Domain, index: u64, pos: u64, out: &mut [u8]) {
    let n = nonce(domain, index);
    let mut pos = pos;
    let mut done = 0;
    while done < out.len() {
        let b = block(key, (pos / 64) as u32, n);
        let skip = (pos % 64) as usize;
        let take = (64 - skip).min(out.len() - done);
        out[done..done + take].copy_from_slice(&b[skip..skip + take]);
        done += take;
        pos += take as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8439_block_test_vector() {
        let key: Key = std::array::from_fn(|i| i as u8);
        let out = block(&key, 1, [0x0900_0000, 0x4a00_0000, 0]);
        assert_eq!(
            out[..16],
            [
                0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20,
                0x71, 0xc4
            ]
        );
    }

    #[test]
    fn fill_is_position_independent() {
        let key = root(42);
        let mut whole = [0u8; 300];
        fill(&key, Domain::Getrandom, 0, 0, &mut whole);
        let mut parts = [0u8; 300];
        fill(&key, Domain::Getrandom, 0, 0, &mut parts[..7]);
        fill(&key, Domain::Getrandom, 0, 7, &mut parts[7..130]);
        fill(&key, Domain::Getrandom, 0, 130, &mut parts[130..]);
        assert_eq!(whole, parts);
    }

    #[test]
    fn keys_differ_by_seed_domain_and_index() {
        assert_ne!(root(1), root(2));
        let r = root(1);
        assert_ne!(derive(&r, Domain::Child, 0), derive(&r, Domain::Child, 1));
        assert_ne!(derive(&r, Domain::Child, 0), derive(&r, Domain::Device, 0));
        assert_eq!(root(7), root(7));
    }
}

//! The relay's fast check (see `visible.rs`): does a run of service output
//! contain a byte that needs a look — a control character other than tab and
//! newline, DEL, or any byte ≥ 0x80? Clean output must cost nearly nothing,
//! and the release profile optimises for size (`opt-level = "s"`), which does
//! not auto-vectorise: a plain loop checks ~0.2 GB/s there. So the check is
//! explicit: SSE2 on x86_64 (part of its baseline; ~19 GB/s), else eight bytes
//! at a time in a `u64` (exact bit tricks, no false positives; ~2.7 GB/s).
//! [`first_unsafe`] is the escaping path's search for the next such byte
//! (SSE2, else byte by byte). Figures from a busy 2-core machine.

/// Whether `b` holds no byte that needs a look.
pub(crate) fn is_plain(b: &[u8]) -> bool {
    if b.len() < BLOCK {
        return !b.iter().any(|&x| special(x));
    }
    // The tail as one more block, overlapping the last whole one: a short
    // text (a `logs -f` client checks one JSON line of ~170 bytes at a
    // time) would otherwise spend most of its check in the byte loop.
    let whole = b.len() - b.len() % BLOCK;
    blocks_plain(&b[..whole]) && (whole == b.len() || blocks_plain(&b[b.len() - BLOCK..]))
}

/// Bytes checked per step of the fast loops.
const BLOCK: usize = 64;

/// A byte that needs a look: below 0x20 but not tab or newline, or ≥ 0x7f.
pub(super) fn special(x: u8) -> bool {
    (x.wrapping_sub(0x20) >= 0x5f) & (x != b'\t') & (x != b'\n')
}

/// The index of the first byte of `b` that must not reach a terminal as it
/// is: one that needs a look (see [`special`]) or a newline (inside a line,
/// a newline is a control character too). The escaping path's search.
pub(super) fn first_unsafe(b: &[u8]) -> Option<usize> {
    let unsafe_byte = |x: u8| special(x) || x == b'\n';
    let whole = b.len() - b.len() % 16;
    let found = first_unsafe_16(&b[..whole]);
    found.or_else(|| {
        b[whole..]
            .iter()
            .position(|&x| unsafe_byte(x))
            .map(|i| whole + i)
    })
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn first_unsafe_16(b: &[u8]) -> Option<usize> {
    // SAFETY: the function only needs SSE2, statically enabled (the cfg above).
    unsafe { sse2_first_unsafe(b) }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn first_unsafe_16(b: &[u8]) -> Option<usize> {
    scalar_first_unsafe(b)
}

/// The portable search.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn scalar_first_unsafe(b: &[u8]) -> Option<usize> {
    b.iter().position(|&x| special(x) || x == b'\n')
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
fn sse2_first_unsafe(b: &[u8]) -> Option<usize> {
    use std::arch::x86_64::{
        _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8,
    };
    let (space, del, tab) = (
        _mm_set1_epi8(0x20),
        _mm_set1_epi8(0x7f),
        _mm_set1_epi8(b'\t' as i8),
    );
    for (n, v) in b.chunks_exact(16).enumerate() {
        // SAFETY: `v` is 16 readable bytes; loadu has no alignment requirement.
        let x = unsafe { _mm_loadu_si128(v.as_ptr().cast()) };
        let low = _mm_andnot_si128(_mm_cmpeq_epi8(x, tab), _mm_cmplt_epi8(x, space));
        let mask = _mm_movemask_epi8(_mm_or_si128(low, _mm_cmpeq_epi8(x, del)));
        if mask != 0 {
            return Some(n * 16 + mask.trailing_zeros() as usize);
        }
    }
    None
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn blocks_plain(blocks: &[u8]) -> bool {
    // SAFETY: the function only needs SSE2, statically enabled (the cfg above).
    unsafe { sse2_plain(blocks) }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn blocks_plain(blocks: &[u8]) -> bool {
    swar_plain(blocks)
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
fn sse2_plain(blocks: &[u8]) -> bool {
    use std::arch::x86_64::{
        _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8, _mm_setzero_si128,
    };
    let (space, del) = (_mm_set1_epi8(0x20), _mm_set1_epi8(0x7f));
    let (nl, tab) = (_mm_set1_epi8(b'\n' as i8), _mm_set1_epi8(b'\t' as i8));
    for block in blocks.chunks_exact(BLOCK) {
        let mut bad = _mm_setzero_si128();
        for v in block.chunks_exact(16) {
            // SAFETY: `v` is 16 readable bytes; loadu has no alignment requirement.
            let x = unsafe { _mm_loadu_si128(v.as_ptr().cast()) };
            // Signed compare: bytes below 0x20 and bytes ≥ 0x80 (negative).
            let low = _mm_cmplt_epi8(x, space);
            let fine = _mm_or_si128(_mm_cmpeq_epi8(x, nl), _mm_cmpeq_epi8(x, tab));
            let here = _mm_or_si128(_mm_andnot_si128(fine, low), _mm_cmpeq_epi8(x, del));
            bad = _mm_or_si128(bad, here);
        }
        if _mm_movemask_epi8(bad) != 0 {
            return false;
        }
    }
    true
}

/// The portable check, eight bytes per step.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn swar_plain(blocks: &[u8]) -> bool {
    blocks.chunks_exact(BLOCK).all(|block| {
        let bad = block.chunks_exact(8).fold(0, |acc, w| {
            acc | word_special(u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])))
        });
        bad == 0
    })
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each zero byte of `z` (exact: no carry between bytes).
fn zero_bytes(z: u64) -> u64 {
    !(((z & !HIGH) + !HIGH) | z) & HIGH
}

/// The high bit of each byte of `x` that needs a look (exact).
fn word_special(x: u64) -> u64 {
    // (x | 0x80) - 0x20 never borrows across bytes; its high bit is clear
    // exactly where the byte (high bit clear) is below 0x20.
    let low = !((x | HIGH) - ONES * 0x20) & HIGH & !x;
    let fine =
        zero_bytes(x ^ (ONES * u64::from(b'\n'))) | zero_bytes(x ^ (ONES * u64::from(b'\t')));
    let del = zero_bytes(x ^ (ONES * 0x7f));
    (low & !fine) | (x & HIGH) | del
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte at every position of a block and of the tail, through both
    /// implementations, agrees with the one-byte definition.
    #[test]
    fn both_checks_are_exact() {
        for b in 0..=255u8 {
            for at in [0, 7, 8, 15, 16, 63, 64, 100, 129] {
                let mut data = vec![b'x'; 130];
                data[at] = b;
                assert_eq!(is_plain(&data), !special(b), "byte {b:#x} at {at}");
                let in_blocks = at < 128 && special(b);
                assert_eq!(swar_plain(&data[..128]), !in_blocks, "swar {b:#x} at {at}");
            }
        }
        assert!(is_plain(b"tab\there\nand newline\n"));
        for b in 0..=255u8 {
            for at in [0, 5, 15, 16, 31, 40] {
                let mut data = vec![b'x'; 41];
                data[at] = b;
                let want = (special(b) || b == b'\n').then_some(at);
                assert_eq!(first_unsafe(&data), want, "byte {b:#x} at {at}");
                assert_eq!(scalar_first_unsafe(&data), want, "scalar {b:#x} at {at}");
                data[40] = 0x1b;
                assert_eq!(first_unsafe(&data), Some(want.unwrap_or(40)), "{b:#x} {at}");
            }
        }
        assert!(is_plain(b""));
        // Every length around the block size, the odd byte first or last.
        for len in 1..200 {
            for at in [0, len - 1] {
                let mut data = vec![b'x'; len];
                data[at] = 0x1b;
                assert!(!is_plain(&data), "len {len} at {at}");
                data[at] = b'y';
                assert!(is_plain(&data), "len {len}");
            }
        }
    }
}

//! Fuzz target: `parse_sockaddr` and `sockaddr_len` on arbitrary bytes never panic, and every
//! address parsed survives `encode` unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandlock_net::sockaddr::{MAX_SOCKADDR_LEN, encode, parse_sockaddr, sockaddr_len};

fuzz_target!(|data: &[u8]| {
    if let Some(arg) = data.first_chunk::<8>() {
        if let Ok(len) = sockaddr_len(u64::from_le_bytes(*arg)) {
            assert!(len <= MAX_SOCKADDR_LEN);
        }
    }
    if let Ok(addr) = parse_sockaddr(data) {
        assert!(data.len() <= MAX_SOCKADDR_LEN);
        let bytes = encode(&addr);
        assert_eq!(parse_sockaddr(&bytes), Ok(addr));
    }
});

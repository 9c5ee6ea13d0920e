//! Page tokens the emulator's list calls receive: any string is accepted or refused, never a panic;
//! a token is accepted only if it is the hex of `ycemu1:` and a key.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    if yc_iam::emulator::fuzz_page_token(&token) {
        assert!(token.len() % 2 == 0 && token.bytes().all(|b| b.is_ascii_hexdigit() || b == b'+'), "{token:?}");
    }
    // Hex-encoded inputs reach the decoder's inner checks too.
    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
    let _ = yc_iam::emulator::fuzz_page_token(&hex);
    let prefixed: String = b"ycemu1:".iter().chain(data).map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        yc_iam::emulator::fuzz_page_token(&prefixed),
        std::str::from_utf8(data).is_ok(),
        "{prefixed:?}"
    );
});

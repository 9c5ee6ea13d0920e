//! The API-key file `provision` reads back on a rerun (`StoredKey::from_yaml`): any text is read or
//! refused, never a panic; what is read writes back to the same key.

#![no_main]

use libfuzzer_sys::fuzz_target;
use yc_iam::provision::StoredKey;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(key) = StoredKey::from_yaml(&text) {
        assert!(!key.id.trim().is_empty());
        let again = StoredKey::from_yaml(&key.to_yaml()).expect("a key written back reads again");
        assert_eq!(again.id, key.id);
        assert_eq!(again.scopes, key.scopes);
        assert_eq!(again.expires_at, key.expires_at);
    }
});

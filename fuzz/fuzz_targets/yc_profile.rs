//! The yc CLI's profile file (`~/.config/yandex-cloud/config.yaml`): any text is parsed or refused
//! with an error naming the file, never a panic; a token in the file never shows in an error or in
//! `Debug`.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

const SECRET: &str = "y0_fuzz-secret-token";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Half the inputs get a known token planted, so that its leaks are recognisable.
    let text = if data.first().is_some_and(|b| b % 2 == 1) {
        format!("profiles:\n  p:\n    token: {SECRET}\n{text}")
    } else {
        text.into_owned()
    };
    let path = Path::new("/home/fuzz/.config/yandex-cloud/config.yaml");
    match yc_iam::config::YcConfig::parse(&text, path) {
        Ok(config) => {
            assert!(!format!("{config:?}").contains(SECRET));
            let _ = config.profile(None);
            for name in config.profiles().keys() {
                assert!(config.profile(Some(name)).is_ok());
            }
        }
        Err(err) => {
            let mut shown = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(s) = source {
                shown.push_str(&s.to_string());
                source = s.source();
            }
            assert!(shown.contains("/home/fuzz/"), "{shown}");
            assert!(!shown.contains(SECRET), "{shown}");
        }
    }
});

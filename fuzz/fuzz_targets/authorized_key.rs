//! Authorized key files (`yc iam key create` JSON), through the library's `AuthorizedKey` and the
//! CLI's `ServiceAccountKey`: any text is parsed into a key or rejected
//! with an error, never a panic. Half the inputs are raw text; the other half are split into the
//! three fields and wrapped in valid JSON, so the PEM and RSA parsing behind it is reached too.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let json = if mode % 2 == 0 {
        text.into_owned()
    } else {
        let mut parts = text.splitn(3, '\u{1}');
        let id = parts.next().unwrap_or_default();
        let sa = parts.next().unwrap_or_default();
        let pem = parts.next().unwrap_or_default();
        let pem = match mode % 8 {
            1 => format!("-----BEGIN PRIVATE KEY-----\n{pem}\n-----END PRIVATE KEY-----\n"),
            3 => format!("PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID {id}\n-----BEGIN RSA PRIVATE KEY-----\n{pem}"),
            _ => pem.to_owned(),
        };
        let case = if mode % 4 == 1 { ("service_account_id", "private_key") } else { ("serviceAccountId", "privateKey") };
        serde_json::json!({ "id": id, case.0: sa, case.1: pem }).to_string()
    };
    // The CLI's check of the same file, which keeps the document for the credentials.
    if let Err(problem) = yc_iam::config::ServiceAccountKey::from_json(&json) {
        assert!(!problem.contains("PRIVATE KEY"), "an error quotes the key: {problem}");
    }
    match yc_iam::AuthorizedKey::from_json(&json) {
        Ok(key) => {
            assert!(!key.id().is_empty() && !key.service_account_id().is_empty());
            // The private key never shows in Debug.
            assert!(!format!("{key:?}").contains("PRIVATE KEY"));
        }
        Err(err) => {
            let shown = err.to_string();
            assert!(!shown.is_empty());
            assert!(!shown.contains("PRIVATE KEY"), "an error quotes the key: {shown}");
        }
    }
});

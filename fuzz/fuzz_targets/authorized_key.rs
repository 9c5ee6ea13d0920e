//! Authorized key files (`yc iam key create` JSON), through the library's `AuthorizedKey`: any
//! text is parsed into a key or rejected with an error, never a panic. Half the inputs are raw
//! text; the other half are split into the three fields and wrapped in valid JSON, so the PEM and
//! RSA parsing behind it is reached too.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    // The private key's text, when the input puts one in the `private_key` field; an error may
    // name the key id and the account, so a key pasted into those fields is not counted.
    let (json, secret) = if mode % 2 == 0 {
        let fields: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let field = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| fields.as_ref()?.get(*n)?.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        let (id, sa) = (field(&["id"]), field(&["service_account_id", "serviceAccountId"]));
        let pem = field(&["private_key", "privateKey"]);
        (text.into_owned(), secret_part(&pem, &[&id, &sa]))
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
        let secret = secret_part(&pem, &[id, sa]);
        (serde_json::json!({ "id": id, case.0: sa, case.1: pem }).to_string(), secret)
    };
    let leaks = |shown: &str| secret.as_deref().is_some_and(|s| shown.contains(s));
    match yc_iam::AuthorizedKey::from_json(&json) {
        Ok(key) => {
            assert!(!key.id().is_empty() && !key.service_account_id().is_empty());
            assert!(!leaks(&format!("{key:?}")), "Debug shows the private key");
        }
        Err(err) => {
            let shown = err.to_string();
            assert!(!shown.is_empty());
            assert!(!leaks(&shown), "an error quotes the private key: {shown}");
        }
    }
});

/// A recognisable piece of the private key: 16 characters after the armour line that look like key
/// material (base64 with a digit and a capital, so never a phrase of an error message), unless it
/// also appears in one of the `public` fields.
fn secret_part(pem: &str, public: &[&str]) -> Option<String> {
    let body = pem.split_once("-----\n").map_or(pem, |(_, b)| b);
    let part: String = body.chars().take(16).collect();
    let base64 = part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
    let mixed = part.chars().any(|c| c.is_ascii_digit()) && part.chars().any(|c| c.is_ascii_uppercase());
    (part.chars().count() == 16 && base64 && mixed && public.iter().all(|p| !p.contains(&part))).then_some(part)
}

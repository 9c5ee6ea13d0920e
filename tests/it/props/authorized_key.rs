//! Authorized key files (`yc iam key create` JSON) through `AuthorizedKey::from_json` and
//! `Credentials::from_json`.

use proptest::prelude::*;
use yc_iam::{AuthorizedKey, Credentials, ErrorKind};

const PEM: &str = include_str!("../../fixtures/keys/sa.pem");
const MARKER: &str = "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID";

fn key_file(id: &str, sa: &str, pem: &str, camel: bool) -> String {
    let (sa_field, key_field) = if camel {
        ("serviceAccountId", "privateKey")
    } else {
        ("service_account_id", "private_key")
    };
    serde_json::json!({ "id": id, sa_field: sa, key_field: pem, "created_at": "2024-01-01T00:00:00Z" }).to_string()
}

/// An error that says nothing of the private key.
fn assert_clean_error(result: Result<AuthorizedKey, yc_iam::Error>) -> Result<(), TestCaseError> {
    if let Err(err) = result {
        prop_assert_eq!(err.kind(), ErrorKind::Credentials);
        let shown = format!("{err} {err:?}");
        prop_assert!(!shown.contains("PRIVATE KEY"), "an error shows key material: {}", shown);
        prop_assert!(!shown.contains(&PEM[40..80]), "an error shows key material: {}", shown);
    }
    Ok(())
}

proptest! {
    #![proptest_config(super::config(1))]

    #[test]
    fn arbitrary_text_is_rejected_without_panic(text in any::<String>()) {
        let result = AuthorizedKey::from_json(&text);
        prop_assert!(result.is_err());
        assert_clean_error(result)?;
        prop_assert!(Credentials::from_json(&text).is_err());
    }

    #[test]
    fn json_shaped_text_is_rejected_without_panic(text in r#"\{("[a-zA-Z_]{0,20}": ?("[^"\\]{0,40}"|[0-9]{1,5}|null|\[\]|\{\}),?){0,5}\}"#) {
        assert_clean_error(AuthorizedKey::from_json(&text))?;
    }

    #[test]
    fn valid_keys_parse_with_any_nonempty_ids(
        id in "[a-z0-9]{1,40}",
        sa in "[a-z0-9]{1,40}",
        camel in any::<bool>(),
        marker in any::<bool>(),
    ) {
        let pem = if marker { format!("{MARKER} {id}\n{PEM}") } else { PEM.to_owned() };
        let key = AuthorizedKey::from_json(&key_file(&id, &sa, &pem, camel));
        prop_assert!(key.is_ok(), "{:?}", key.err().map(|e| e.to_string()));
        let key = key.expect("checked");
        prop_assert_eq!(key.id(), id.as_str());
        prop_assert_eq!(key.service_account_id(), sa.as_str());
        let shown = format!("{key:?}");
        prop_assert!(!shown.contains("BEGIN"), "{}", shown);
    }

    #[test]
    fn empty_ids_are_rejected(id_empty in any::<bool>(), other in "[a-z0-9]{1,20}") {
        let (id, sa) = if id_empty { ("", other.as_str()) } else { (other.as_str(), "") };
        let result = AuthorizedKey::from_json(&key_file(id, sa, PEM, false));
        prop_assert!(result.is_err());
        assert_clean_error(result)?;
    }

    #[test]
    fn mutated_pem_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = PEM.as_bytes().to_vec();
        for (at, byte) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *byte;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        let pem = String::from_utf8_lossy(&bytes);
        assert_clean_error(AuthorizedKey::from_json(&key_file("ajekey", "ajesa", &pem, false)))?;
    }

    #[test]
    fn mutated_key_files_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = key_file("ajekey", "ajesa", PEM, true).into_bytes();
        for (at, byte) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *byte;
        }
        assert_clean_error(AuthorizedKey::from_json(&String::from_utf8_lossy(&bytes)))?;
    }

    #[test]
    fn a_key_pasted_into_the_wrong_field_never_shows(
        into_id in any::<bool>(),
        start in 0usize..200,
        // A pasted key spans lines; a short id-like run of base64 is indistinguishable from an id.
        len in 70usize..400,
        other in "[a-z0-9]{1,20}",
    ) {
        let piece = &PEM[start..(start + len).min(PEM.len())];
        let (id, sa) = if into_id { (piece, other.as_str()) } else { (other.as_str(), piece) };
        let result = AuthorizedKey::from_json(&key_file(id, sa, "not a key", false));
        if let Err(err) = &result {
            let shown = format!("{err} {err:?}");
            let probe: String = piece.chars().skip(30).take(24).collect();
            prop_assert!(!shown.contains(&probe), "the pasted key shows: {}", shown);
        }
    }
}

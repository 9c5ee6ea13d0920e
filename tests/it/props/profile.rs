//! The yc CLI's profile file (`~/.config/yandex-cloud/config.yaml`) through `YcConfig::parse`, and
//! embedded or standalone authorized keys through `AuthorizedKey::from_json`: any text parses
//! or is refused with an error naming the file, never a panic, never a secret in the message.

use std::path::Path;

use proptest::prelude::*;
use yc_iam::AuthorizedKey;
use yc_iam::config::YcConfig;

const TOKEN: &str = "y0_profile-secret-token-never-shown";
const PEM_BODY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDsecretbody";
const PATH: &str = "/home/someone/.config/yandex-cloud/config.yaml";

/// The whole error chain as text.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A value for any key but `token`.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("b1gfolder0000000001".to_owned()),
        Just("true".to_owned()),
        Just("[1, 2]".to_owned()),
        Just("{}".to_owned()),
        Just("~".to_owned()),
        Just("12".to_owned()),
        "[ -~]{0,24}",
    ]
}

/// A value for `token`: the secret, quoted or not, or a value of the wrong type.
fn token_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(TOKEN.to_owned()),
        1 => Just(format!("\"{TOKEN}\"")),
        1 => Just(format!("'{TOKEN}'")),
        1 => Just(format!("[{TOKEN}]")),
        1 => Just(format!("{{a: {TOKEN}}}")),
        1 => scalar(),
    ]
}

fn key_block() -> impl Strategy<Value = String> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(id, sa, pem)| {
        let mut out = String::from("    service-account-key:\n");
        if id {
            out.push_str("      id: ajekey\n");
        }
        if sa {
            out.push_str("      service_account_id: ajesa\n");
        }
        if pem {
            out.push_str(&format!(
                "      private_key: |\n        -----BEGIN PRIVATE KEY-----\n        {PEM_BODY}\n        -----END PRIVATE KEY-----\n"
            ));
        }
        out
    })
}

/// A profile file: right or wrong in many small ways.
fn profile_file() -> impl Strategy<Value = String> {
    let settings = proptest::collection::vec(
        (
            prop_oneof![
                Just("folder-id"),
                Just("cloud-id"),
                Just("endpoint"),
                Just("instance-service-account"),
                Just("service-account-key"),
                Just("compute-default-zone"),
            ],
            scalar(),
        ),
        0..6,
    );
    let token = proptest::option::of(token_value());
    (
        proptest::option::of(prop_oneof![Just("p".to_owned()), Just("q".to_owned()), scalar()]),
        proptest::collection::vec(("[a-z]{1,3}", settings, token, proptest::option::of(key_block())), 0..3),
        any::<u8>(),
    )
        .prop_map(|(current, profiles, indent_break)| {
            let mut out = String::new();
            if let Some(c) = current {
                out.push_str(&format!("current: {c}\n"));
            }
            out.push_str("profiles:\n");
            for (i, (name, settings, token, key)) in profiles.into_iter().enumerate() {
                out.push_str(&format!("  {name}:\n"));
                if let Some(token) = token {
                    out.push_str(&format!("    token: {token}\n"));
                }
                for (k, v) in settings {
                    // Now and then an indentation that breaks the document.
                    let pad = if indent_break % 7 == i as u8 { " " } else { "    " };
                    out.push_str(&format!("{pad}{k}: {v}\n"));
                }
                if let Some(key) = key {
                    out.push_str(&key);
                }
            }
            out
        })
}

fn check_error(err: &yc_iam::config::ConfigError) -> Result<(), TestCaseError> {
    let shown = format!("{} | {err:?}", chain(err));
    prop_assert!(shown.contains(PATH), "the error names the file: {}", shown);
    prop_assert!(!shown.contains(TOKEN), "the token is in an error: {}", shown);
    prop_assert!(!shown.contains(PEM_BODY), "the private key is in an error: {}", shown);
    Ok(())
}

proptest! {
    #![proptest_config(super::config(1))]

    #[test]
    fn arbitrary_text_parses_or_fails_cleanly(text in any::<String>()) {
        if let Err(err) = YcConfig::parse(&text, Path::new(PATH)) {
            prop_assert!(err.to_string().contains(PATH));
        }
    }

    #[test]
    fn yaml_shaped_text_parses_or_fails_cleanly(text in "([ -~]{0,12}(:|: |- |\\n  |\\n|&a |\\*a|\\{|\\}|\\[|\\]|!!|---\\n)){0,16}") {
        if let Err(err) = YcConfig::parse(&text, Path::new(PATH)) {
            prop_assert!(err.to_string().contains(PATH));
        }
    }

    #[test]
    fn profile_files_parse_or_fail_without_showing_secrets(text in profile_file()) {
        match YcConfig::parse(&text, Path::new(PATH)) {
            Ok(config) => {
                let shown = format!("{config:?}");
                prop_assert!(!shown.contains(TOKEN), "Debug shows the token: {}", shown);
                prop_assert!(!shown.contains(PEM_BODY), "Debug shows the key: {}", shown);
                for name in config.profiles().keys() {
                    prop_assert!(config.profile(Some(name)).is_ok());
                }
                if let Err(err) = config.profile(None) {
                    check_error(&err)?;
                }
                if let Err(err) = config.profile(Some("nope-not-there")) {
                    check_error(&err)?;
                }
            }
            Err(err) => check_error(&err)?,
        }
    }

    #[test]
    fn mutated_profile_files_never_panic(
        text in profile_file(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<char>()), 1..5),
    ) {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, c) in edits {
            if chars.is_empty() {
                break;
            }
            let i = at.index(chars.len());
            chars[i] = c;
        }
        let text: String = chars.into_iter().collect();
        if let Err(err) = YcConfig::parse(&text, Path::new(PATH)) {
            check_error(&err)?;
        }
    }

    #[test]
    fn key_documents_parse_or_fail_without_showing_the_key(
        id in proptest::option::of(prop_oneof![Just(serde_json::json!("ajekey")), Just(serde_json::json!("")), Just(serde_json::json!(5)), Just(serde_json::json!([TOKEN]))]),
        sa in proptest::option::of(prop_oneof![Just(serde_json::json!("ajesa")), Just(serde_json::json!(null)), Just(serde_json::json!({"x": TOKEN}))]),
        pem in proptest::option::of(prop_oneof![
            Just(serde_json::json!(format!("-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----\n"))),
            Just(serde_json::json!(PEM_BODY)),
            Just(serde_json::json!([PEM_BODY])),
            Just(serde_json::json!(7)),
        ]),
        camel in any::<bool>(),
    ) {
        let mut doc = serde_json::Map::new();
        if let Some(id) = id { doc.insert("id".into(), id); }
        if let Some(sa) = sa { doc.insert(if camel { "serviceAccountId" } else { "service_account_id" }.into(), sa); }
        if let Some(pem) = pem { doc.insert(if camel { "privateKey" } else { "private_key" }.into(), pem); }
        let text = serde_json::Value::Object(doc).to_string();
        match AuthorizedKey::from_json(&text).map_err(|e| e.to_string()) {
            Ok(key) => {
                let shown = format!("{key:?}");
                prop_assert!(!shown.contains(PEM_BODY), "{}", shown);
            }
            Err(err) => {
                prop_assert!(!err.contains(PEM_BODY), "the key is in an error: {}", err);
                prop_assert!(!err.contains(TOKEN), "a secret is in an error: {}", err);
            }
        }
    }

    #[test]
    fn arbitrary_key_file_text_is_refused_cleanly(text in any::<String>()) {
        prop_assert!(AuthorizedKey::from_json(&text).is_err());
    }
}

proptest! {
    // Each case expands aliases up to the YAML parser's repetition limit: a few dozen are enough.
    #![proptest_config(super::config(8))]

    #[test]
    fn deep_nesting_and_aliases_are_bounded(depth in 1usize..300, fan in 1usize..12) {
        let nested = format!("profiles:\n  p:\n    token: {}{}\n", "[".repeat(depth), "]".repeat(depth));
        if let Err(err) = YcConfig::parse(&nested, Path::new(PATH)) {
            check_error(&err)?;
        }
        // A small "billion laughs": each anchor refers to the previous one `fan` times.
        let mut laughs = String::from("a0: &a0 [x]\n");
        for i in 1..8 {
            let refs = vec![format!("*a{}", i - 1); fan].join(", ");
            laughs.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        laughs.push_str("profiles:\n  p:\n    folder-id: *a7\n");
        if let Err(err) = YcConfig::parse(&laughs, Path::new(PATH)) {
            check_error(&err)?;
        }
    }
}

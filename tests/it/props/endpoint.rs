//! Endpoint strings (`--endpoint`, `YC_ENDPOINT`, a profile's `endpoint`, per-service overrides)
//! through `Client::builder().with_endpoint(..).build()`.

use proptest::prelude::*;
use yc_iam::{Client, ErrorKind};

fn build(endpoint: &str) -> Result<Client, yc_iam::Error> {
    Client::builder().with_endpoint(endpoint).build()
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("localhost".to_owned()),
        Just("127.0.0.1".to_owned()),
        Just("[::1]".to_owned()),
        "[a-z][a-z0-9-]{0,20}(\\.[a-z][a-z0-9-]{0,20}){0,3}",
        (0u8..=255, 0u8..=255, 0u8..=255, 0u8..=255).prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
    ]
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

proptest! {
    #![proptest_config(super::config(1))]

    #[test]
    fn arbitrary_strings_build_or_fail_with_a_config_error(text in any::<String>()) {
        if let Err(err) = build(&text) {
            prop_assert_eq!(err.kind(), ErrorKind::Config);
            prop_assert!(!err.to_string().is_empty());
        }
        if let Err(err) = Client::builder().with_service_endpoint("iam", text.clone()).build() {
            prop_assert_eq!(err.kind(), ErrorKind::Config);
        }
        if let Err(err) = Client::builder().with_service_endpoint(text, "localhost:1").build() {
            prop_assert_eq!(err.kind(), ErrorKind::Config);
        }
    }

    #[test]
    fn endpoint_shaped_strings_never_panic(text in "(https?://|[a-z]{1,5}://)?\\[?[a-zA-Z0-9.:\\-\\]@/]{0,30}(:[0-9]{0,7})?/?") {
        if let Err(err) = build(&text) {
            prop_assert_eq!(err.kind(), ErrorKind::Config);
        }
    }

    #[test]
    fn well_formed_endpoints_are_accepted(
        host in host(),
        port in proptest::option::of(any::<u16>()),
        scheme in prop_oneof![Just(""), Just("https://"), Just("http://")],
        slash in any::<bool>(),
    ) {
        let port_part = port.map(|p| format!(":{p}")).unwrap_or_default();
        let endpoint = format!("{scheme}{host}{port_part}{}", if slash { "/" } else { "" });
        let result = build(&endpoint);
        if scheme == "http://" && !is_loopback(&host) {
            prop_assert!(result.is_err(), "plaintext to {} was accepted", endpoint);
            prop_assert!(Client::builder().with_endpoint(endpoint.clone()).with_allow_insecure(true).build().is_ok());
        } else {
            prop_assert!(result.is_ok(), "{}: {:?}", endpoint, result.err().map(|e| e.to_string()));
        }
    }

    #[test]
    fn bad_ports_schemes_and_paths_are_rejected(
        host in host(),
        bad in prop_oneof![
            (65536u32..10_000_000).prop_map(|p| format!(":{p}")),
            "[a-z]{1,6}".prop_map(|p| format!(":{p}")),
            Just(":".to_owned()),
            "/[a-z]{1,10}".prop_map(|p| format!(":443{p}")),
        ],
        scheme in prop_oneof![Just("https://"), Just("http://"), Just("")],
    ) {
        let endpoint = format!("{scheme}{host}{bad}");
        let result = build(&endpoint);
        prop_assert!(result.is_err(), "{} was accepted", endpoint);
        prop_assert_eq!(result.err().map(|e| e.kind()), Some(ErrorKind::Config));
    }

    #[test]
    fn other_schemes_are_rejected(scheme in "[a-z][a-z0-9+.-]{0,10}", rest in "[a-z0-9.:]{1,20}") {
        prop_assume!(scheme != "http" && scheme != "https");
        let result = build(&format!("{scheme}://{rest}"));
        prop_assert_eq!(result.err().map(|e| e.kind()), Some(ErrorKind::Config));
    }

    #[test]
    fn stray_brackets_are_refused(
        host in prop_oneof![Just("localhost"), Just("127.0.0.1"), Just("::1"), Just("example.com")],
        shape in 0u8..4,
        scheme in prop_oneof![Just("http://"), Just("https://"), Just("")],
        port in proptest::option::of(1u16..),
    ) {
        let host = match shape {
            0 => format!("{host}]"),
            1 => format!("[{host}"),
            2 => format!("{host}[]"),
            _ => format!("[{host}]x"),
        };
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let endpoint = format!("{scheme}{host}{port}");
        let result = build(&endpoint);
        prop_assert!(result.is_err(), "{} was accepted", endpoint);
    }
}

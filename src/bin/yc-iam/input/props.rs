//! Properties of the flag parsers (`--labels`, `--subject`, `--expires-at`, `--output`, `--entry`,
//! and the duration of `--timeout`, `--expires-in` and `--op-delay`): they never panic, parse what is well formed to
//! the value meant, refuse the rest with a reason, and whatever they accept the API's proto rules
//! accept too. The number of cases is proptest's default, or `PROPTEST_CASES`.

use std::time::Duration;

use proptest::prelude::*;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use yc_iam::Validate as _;
use yc_iam::model::{AccessBinding, AccessBindingDelta};
use yc_iam::proto::yandex::cloud::access::UpdateAccessBindingsRequest;

use super::{
    EntryRole, OutputArg, parse_duration, parse_entry, parse_labels, parse_output, parse_positive_duration,
    parse_subject, parse_timestamp,
};

fn label_key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,20}"
}

fn subject() -> impl Strategy<Value = (String, String)> {
    let id = "[a-zA-Z0-9][a-zA-Z0-9_.@-]{0,30}";
    prop_oneof![
        (
            prop_oneof![
                Just("serviceAccount"),
                Just("userAccount"),
                Just("federatedUser"),
                Just("group")
            ],
            id
        )
            .prop_map(|(k, id)| (k.to_owned(), id)),
        prop_oneof![Just("allUsers"), Just("allAuthenticatedUsers")]
            .prop_map(|id| ("system".to_owned(), id.to_owned())),
        (prop_oneof![Just("organization"), Just("federation")], "[a-z0-9]{1,20}")
            .prop_map(|(k, id)| ("system".to_owned(), format!("group:{k}:{id}:users"))),
    ]
}

/// An `--output` value near the grammar: a known prefix or none, then any short text.
fn near_output() -> impl Strategy<Value = String> {
    let prefix = prop_oneof![
        Just(""),
        Just("-"),
        Just("env:"),
        Just("k8s:"),
        Just("lockbox://"),
        Just("lockbox:"),
        Just("ENV:")
    ];
    (prefix, prop_oneof![any::<String>(), "[-a-z0-9./:_ ]{0,12}"]).prop_map(|(p, rest)| format!("{p}{rest}"))
}

fn binding_request(kind: &str, id: &str) -> UpdateAccessBindingsRequest {
    UpdateAccessBindingsRequest {
        resource_id: "b1gfolder0000000001".into(),
        access_binding_deltas: vec![AccessBindingDelta::add(AccessBinding::new("viewer", kind, id))],
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        // A shrunk failure is printed; files of regressions beside the sources are not wanted.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_text_is_parsed_or_refused_with_a_reason(text in any::<String>()) {
        for problem in [
            parse_labels(&text).err(),
            parse_subject(&text).err(),
            parse_timestamp(&text).err(),
            parse_positive_duration(&text).err(),
        ]
        .into_iter()
        .flatten()
        {
            prop_assert!(!problem.is_empty());
        }
    }

    #[test]
    fn well_formed_labels_parse_to_the_pairs_given(
        labels in proptest::collection::btree_map(label_key(), "[a-z0-9_-]{0,20}", 0..6),
        spaces in any::<bool>(),
    ) {
        let sep = if spaces { ", " } else { "," };
        let text = labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(sep);
        prop_assert_eq!(parse_labels(&text), Ok(labels));
    }

    #[test]
    fn accepted_labels_are_accepted_by_the_api(text in "([a-zA-Z0-9_ .-]{0,8}(=[a-zA-Z0-9_ .=-]{0,8})?,?){0,5}") {
        if let Ok(labels) = parse_labels(&text) {
            let request = yc_iam::proto::yandex::cloud::iam::v1::CreateServiceAccountRequest {
                folder_id: "b1gfolder0000000001".into(),
                name: "labelled".into(),
                labels: labels.clone().into_iter().collect(),
                ..Default::default()
            };
            prop_assert!(request.validate().is_ok(), "{:?} → {:?}: {:?}", text, labels, request.validate());
        }
    }

    #[test]
    fn repeated_label_keys_are_refused(key in label_key(), a in "[a-z0-9]{0,5}", b in "[a-z0-9]{0,5}") {
        let text = format!("{key}={a},{key}={b}");
        prop_assert!(parse_labels(&text).is_err(), "{}", text);
    }

    #[test]
    fn well_formed_subjects_parse_to_their_type_and_id((kind, id) in subject()) {
        let parsed = parse_subject(&format!("{kind}:{id}"));
        prop_assert!(parsed.is_ok(), "{}:{}: {:?}", kind, id, parsed);
        let parsed = parsed.expect("checked");
        prop_assert_eq!(&parsed.kind, &kind);
        prop_assert_eq!(&parsed.id, &id);
    }

    #[test]
    fn accepted_subjects_are_accepted_by_the_api(text in "[a-zA-Z:]{0,16}:[a-zA-Z0-9:_.@ -]{0,24}") {
        if let Ok(subject) = parse_subject(&text) {
            let request = binding_request(&subject.kind, &subject.id);
            prop_assert!(request.validate().is_ok(), "{:?}: {:?}", text, request.validate());
        }
    }

    #[test]
    fn timestamps_read_back_what_was_written(seconds in -30_000_000_000i64..250_000_000_000, nanos in 0u32..1_000_000_000) {
        let at = OffsetDateTime::from_unix_timestamp(seconds).expect("in range").replace_nanosecond(nanos).expect("nanos");
        let text = at.format(&Rfc3339).expect("formats");
        prop_assert_eq!(parse_timestamp(&text), Ok(at));
        prop_assert_eq!(parse_timestamp(&format!("  {text} ")), Ok(at));
    }

    #[test]
    fn timestamps_without_a_zone_or_out_of_shape_are_refused(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?") {
        prop_assert!(parse_timestamp(&text).is_err(), "{}", text);
    }

    #[test]
    fn durations_add_up_their_parts(parts in proptest::collection::vec((0u64..1000, 0usize..6), 1..5)) {
        const UNITS: [(&str, u64); 6] =
            [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000)];
        let text: String = parts.iter().map(|(n, u)| format!("{n}{}", UNITS[*u].0)).collect();
        let millis: u64 = parts.iter().map(|(n, u)| n * UNITS[*u].1).sum();
        let parsed = parse_positive_duration(&text);
        if millis == 0 || millis > 100 * 366 * 86_400_000 {
            prop_assert!(parsed.is_err(), "{} → {:?}", text, parsed);
        } else {
            prop_assert_eq!(parsed, Ok(Duration::from_millis(millis)));
        }
    }

    #[test]
    fn huge_durations_are_refused_not_wrapped(n in "[1-9][0-9]{12,40}", unit in "ms|[smhdw]") {
        let parsed = parse_duration(&format!("{n}{unit}"));
        prop_assert!(parsed.is_err(), "{}{} → {:?}", n, unit, parsed);
    }

    #[test]
    fn any_output_names_the_sink_its_prefix_says_or_is_refused_in_one_line(text in near_output()) {
        match parse_output(&text) {
            Ok(OutputArg::Stdout) => prop_assert_eq!(text.as_str(), "-"),
            Ok(OutputArg::Env(path)) => {
                prop_assert_eq!(Some(path.as_os_str()), text.strip_prefix("env:").map(std::ffi::OsStr::new));
            }
            Ok(OutputArg::K8s(path)) => {
                prop_assert_eq!(Some(path.as_os_str()), text.strip_prefix("k8s:").map(std::ffi::OsStr::new));
            }
            Ok(OutputArg::Lockbox(name)) => {
                prop_assert_eq!(Some(name.as_str()), text.strip_prefix("lockbox://"));
            }
            Ok(OutputArg::File(path)) => {
                prop_assert_eq!(path.as_os_str(), std::ffi::OsStr::new(&text));
                prop_assert!(!text.starts_with("env:") && !text.starts_with("k8s:") && !text.starts_with("lockbox:"));
            }
            Err(why) => prop_assert!(!why.is_empty() && !why.contains('\n'), "{why:?}"),
        }
    }

    #[test]
    fn any_entry_is_a_known_role_and_the_name_after_it_or_is_refused(
        role in prop_oneof![Just("api-key".to_owned()), Just("api-key-id".to_owned()), Just("folder-id".to_owned()), "[a-z -]{0,10}"],
        sep in prop_oneof![Just("="), Just(""), Just(":")],
        name in any::<String>(),
    ) {
        let text = format!("{role}{sep}{name}");
        match parse_entry(&text) {
            Ok((parsed, kept)) => {
                prop_assert!(!kept.is_empty() && text.ends_with(kept.as_str()));
                let expected = match text.split_once('=').map(|(r, _)| r.trim()) {
                    Some("api-key") => EntryRole::ApiKey,
                    Some("api-key-id") => EntryRole::ApiKeyId,
                    Some("folder-id") => EntryRole::FolderId,
                    other => return Err(proptest::test_runner::TestCaseError::fail(format!("accepted role {other:?}"))),
                };
                prop_assert_eq!(parsed, expected);
            }
            Err(why) => prop_assert!(!why.is_empty() && !why.contains('\n')),
        }
    }
}

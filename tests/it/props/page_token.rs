//! Page tokens, sizes and filters sent to the emulator's list calls: a bad one is INVALID_ARGUMENT,
//! a good one a page; never another code, and the emulator keeps serving.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use tonic::{Code, Request, Status};
use yc_iam::emulator::{DEFAULT_CLOUD_ID, DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::proto::yandex::cloud::access::ListAccessBindingsRequest;
use yc_iam::proto::yandex::cloud::iam::v1::api_key_service_client::ApiKeyServiceClient;
use yc_iam::proto::yandex::cloud::iam::v1::service_account_service_client::ServiceAccountServiceClient;
use yc_iam::proto::yandex::cloud::iam::v1::{
    CreateServiceAccountRequest, ListApiKeyScopesRequest, ListServiceAccountsRequest,
};
use yc_iam::proto::yandex::cloud::resourcemanager::v1::ListFoldersRequest;
use yc_iam::proto::yandex::cloud::resourcemanager::v1::cloud_service_client::CloudServiceClient;
use yc_iam::proto::yandex::cloud::resourcemanager::v1::folder_service_client::FolderServiceClient;

fn bearer(mut request: Request<()>) -> Result<Request<()>, Status> {
    let value = format!("Bearer {DEFAULT_IAM_TOKEN}")
        .parse()
        .map_err(|_| Status::internal("header"))?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

/// A token: arbitrary text, base64 of arbitrary bytes, or a real token with a few characters changed.
fn token(real: Vec<String>) -> impl Strategy<Value = String> {
    let mutated = (
        proptest::sample::select(real),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<char>()), 1..4),
    )
        .prop_map(|(token, edits)| {
            let mut chars: Vec<char> = token.chars().collect();
            for (at, c) in edits {
                let i = at.index(chars.len().max(1)).min(chars.len().saturating_sub(1));
                if let Some(slot) = chars.get_mut(i) {
                    *slot = c;
                }
            }
            chars.into_iter().collect::<String>()
        });
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        "[0-9a-zA-Z_+/=-]{0,80}",
        mutated,
    ]
}

fn size() -> impl Strategy<Value = i64> {
    prop_oneof![0i64..=1000, any::<i64>(), Just(-1i64), Just(1001i64)]
}

fn check(result: Result<(), Status>, token: &str, size: i64) -> Result<(), TestCaseError> {
    match result {
        Ok(()) => prop_assert!((0..=1000).contains(&size), "page_size {} was accepted", size),
        Err(status) => prop_assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "token {:?} size {}: {}",
            token,
            size,
            status.message()
        ),
    }
    Ok(())
}

#[test]
fn list_calls_answer_any_page_token_with_a_page_or_invalid_argument() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (emu, real_tokens) = rt.block_on(async {
        let emu = Emulator::builder().start().await.expect("start");
        let channel = tonic::transport::Endpoint::from_shared(emu.endpoint())
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        let mut accounts = ServiceAccountServiceClient::with_interceptor(channel, bearer);
        for i in 0..5 {
            accounts
                .create(CreateServiceAccountRequest {
                    folder_id: DEFAULT_FOLDER_ID.into(),
                    name: format!("paged-{i}"),
                    ..Default::default()
                })
                .await
                .expect("create");
        }
        // Real tokens, to mutate.
        let mut tokens = Vec::new();
        let mut token = String::new();
        loop {
            let page = accounts
                .list(ListServiceAccountsRequest {
                    folder_id: DEFAULT_FOLDER_ID.into(),
                    page_size: 1,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .expect("list")
                .into_inner();
            if page.next_page_token.is_empty() {
                break;
            }
            tokens.push(page.next_page_token.clone());
            token = page.next_page_token;
        }
        assert!(tokens.len() >= 4, "the emulator paginates");
        (emu, tokens)
    });
    let channel = rt
        .block_on(
            tonic::transport::Endpoint::from_shared(emu.endpoint())
                .expect("endpoint")
                .connect(),
        )
        .expect("connect");

    let mut runner = TestRunner::new(super::config(4));
    let cases = std::cell::Cell::new(0u32);
    let outcome = runner.run(&(token(real_tokens), size(), 0u8..5), |(token, size, method)| {
        cases.set(cases.get() + 1);
        let channel = channel.clone();
        let token_sent = token.clone();
        let result: Result<(), Status> = rt.block_on(async move {
            match method {
                0 => ServiceAccountServiceClient::with_interceptor(channel, bearer)
                    .list(ListServiceAccountsRequest {
                        folder_id: DEFAULT_FOLDER_ID.into(),
                        page_size: size,
                        page_token: token_sent,
                        ..Default::default()
                    })
                    .await
                    .map(drop),
                1 => CloudServiceClient::with_interceptor(channel, bearer)
                    .list_access_bindings(ListAccessBindingsRequest {
                        resource_id: DEFAULT_CLOUD_ID.into(),
                        page_size: size,
                        page_token: token_sent,
                    })
                    .await
                    .map(drop),
                2 => FolderServiceClient::with_interceptor(channel, bearer)
                    .list(ListFoldersRequest {
                        cloud_id: DEFAULT_CLOUD_ID.into(),
                        page_size: size,
                        page_token: token_sent,
                        ..Default::default()
                    })
                    .await
                    .map(drop),
                3 => FolderServiceClient::with_interceptor(channel, bearer)
                    .list_access_bindings(ListAccessBindingsRequest {
                        resource_id: DEFAULT_FOLDER_ID.into(),
                        page_size: size,
                        page_token: token_sent,
                    })
                    .await
                    .map(drop),
                _ => ApiKeyServiceClient::with_interceptor(channel, bearer)
                    .list_scopes(ListApiKeyScopesRequest {
                        page_size: size,
                        page_token: token_sent,
                    })
                    .await
                    .map(drop),
            }
        });
        check(result, &token, size)
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    // Still serving after all of it.
    rt.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(emu.endpoint())
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        ServiceAccountServiceClient::with_interceptor(channel, bearer)
            .list(ListServiceAccountsRequest {
                folder_id: DEFAULT_FOLDER_ID.into(),
                ..Default::default()
            })
            .await
            .expect("still serving");
    });
    let cases = cases.get();
    println!("page tokens: {cases} cases over 5 list methods, every answer a page or INVALID_ARGUMENT");
}

proptest! {
    #![proptest_config(super::config(1))]

    #[test]
    fn the_decoder_refuses_anything_but_its_own_tokens(token in any::<String>(), key in any::<String>()) {
        // Arbitrary text: refused unless it is unpadded URL-safe base64.
        if yc_iam::emulator::fuzz_page_token(&token) {
            prop_assert!(URL_SAFE_NO_PAD.decode(&token).is_ok(), "{:?}", token);
        }
        // The shape the emulator hands out: base64 of `ycemu1:` and the last key.
        let real = URL_SAFE_NO_PAD.encode(format!("ycemu1:{key}"));
        prop_assert!(yc_iam::emulator::fuzz_page_token(&real));
        // Without the prefix it is refused.
        let bare = URL_SAFE_NO_PAD.encode(&key);
        prop_assert!(!yc_iam::emulator::fuzz_page_token(&bare) || key.starts_with("ycemu1:"));
    }
}

//! Authentication: bearer tokens, OAuth and JWT exchange, API keys, public endpoint discovery.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::Code;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, DEFAULT_OAUTH_TOKEN, Emulator};
use yc_iam::proto::yandex::cloud::endpoint::{GetApiEndpointRequest, ListApiEndpointsRequest};
use yc_iam::proto::yandex::cloud::iam::v1::create_iam_token_request::Identity;
use yc_iam::proto::yandex::cloud::iam::v1::{CreateIamTokenRequest, DeleteApiKeyRequest, ListServiceAccountsRequest};

use super::support::{Auth, clients, clients_with, create_account, create_key, wait};

const SA_KEY: &str = include_str!("../../fixtures/keys/sa.pem");
const SA_PUB: &str = include_str!("../../fixtures/keys/sa.pub.pem");
const OTHER_KEY: &str = include_str!("../../fixtures/keys/other.pem");
const KEY_ID: &str = "ajekeyid000000000001";
const SA_ID: &str = "ajesa000000000000001";

fn list_request() -> ListServiceAccountsRequest {
    ListServiceAccountsRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        ..Default::default()
    }
}

fn jwt(private_pem: &str, kid: &str, iss: &str, lifetime: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let mut header = Header::new(Algorithm::PS256);
    header.kid = Some(kid.into());
    let claims = serde_json::json!({
        "iss": iss,
        "aud": "https://iam.api.cloud.yandex.net/iam/v1/tokens",
        "iat": now,
        "exp": now + lifetime,
    });
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("key"),
    )
    .expect("sign")
}

async fn exchange(emu: &Emulator, identity: Identity) -> Result<String, tonic::Status> {
    let mut c = clients(emu).await;
    let response = c
        .tokens
        .create(CreateIamTokenRequest {
            identity: Some(identity),
        })
        .await?
        .into_inner();
    Ok(response.iam_token)
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let emu = Emulator::builder().start().await.expect("start");
    for auth in [Auth::none(), Auth::bearer("t1.wrong"), Auth::api_key("AQVNnot-a-key")] {
        let mut c = clients_with(&emu, auth).await;
        let err = c.accounts.list(list_request()).await.expect_err("unauthenticated");
        assert_eq!(err.code(), Code::Unauthenticated);
    }
}

#[tokio::test]
async fn configured_token_is_accepted_and_the_default_is_not() {
    let emu = Emulator::builder()
        .with_iam_token("t1.configured")
        .start()
        .await
        .expect("start");
    let mut ok = clients_with(&emu, Auth::bearer("t1.configured")).await;
    ok.accounts.list(list_request()).await.expect("accepted");
    let mut default = clients(&emu).await;
    let err = default
        .accounts
        .list(list_request())
        .await
        .expect_err("default token not configured");
    assert_eq!(err.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn oauth_token_is_exchanged_for_a_twelve_hour_iam_token_that_works() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let response = c
        .tokens
        .create(CreateIamTokenRequest {
            identity: Some(Identity::YandexPassportOauthToken(DEFAULT_OAUTH_TOKEN.into())),
        })
        .await
        .expect("exchange")
        .into_inner();
    assert!(response.iam_token.starts_with("t1."), "token shape");
    let expires = response.expires_at.expect("expiry").seconds;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!((expires - now - 12 * 3600).abs() < 60, "12 hours");
    let mut authed = clients_with(&emu, Auth::bearer(&response.iam_token)).await;
    authed
        .accounts
        .list(list_request())
        .await
        .expect("issued token accepted");

    let err = exchange(&emu, Identity::YandexPassportOauthToken("y0_wrong".into()))
        .await
        .expect_err("bad oauth");
    assert_eq!(err.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn jwt_signed_with_the_authorized_key_is_exchanged() {
    let emu = Emulator::builder()
        .with_authorized_key(KEY_ID, SA_ID, SA_PUB)
        .start()
        .await
        .expect("start");
    let token = exchange(&emu, Identity::Jwt(jwt(SA_KEY, KEY_ID, SA_ID, 3600)))
        .await
        .expect("exchange");
    let mut authed = clients_with(&emu, Auth::bearer(&token)).await;
    authed
        .accounts
        .list(list_request())
        .await
        .expect("issued token accepted");
}

#[tokio::test]
async fn the_journal_keeps_the_scheme_of_each_credential_and_never_the_credential() {
    let emu = Emulator::builder()
        .with_authorized_key(KEY_ID, SA_ID, SA_PUB)
        .start()
        .await
        .expect("start");
    let signed = jwt(SA_KEY, KEY_ID, SA_ID, 3600);
    let from_jwt = exchange(&emu, Identity::Jwt(signed.clone())).await.expect("jwt");
    let from_oauth = exchange(&emu, Identity::YandexPassportOauthToken(DEFAULT_OAUTH_TOKEN.into()))
        .await
        .expect("oauth");
    let mut c = clients_with(&emu, Auth::bearer(&from_oauth)).await;
    c.accounts
        .list(list_request())
        .await
        .expect("a call with the exchanged token");
    let journal = emu.journal();
    let credentials = [
        signed.as_str(),
        DEFAULT_OAUTH_TOKEN,
        &from_jwt,
        &from_oauth,
        DEFAULT_IAM_TOKEN,
    ];
    for entry in &journal {
        let body = String::from_utf8_lossy(&entry.request);
        let authorization = entry.header("authorization").unwrap_or_default();
        for credential in credentials {
            assert!(!body.contains(credential), "{} body: {body}", entry.method);
            assert!(!authorization.contains(credential), "{}: {authorization}", entry.method);
        }
    }
    let exchanges: Vec<_> = journal
        .iter()
        .filter(|e| e.method.ends_with("IamTokenService/Create"))
        .collect();
    let [by_jwt, by_oauth] = exchanges[..] else {
        panic!("two exchanges: {exchanges:?}");
    };
    // The kind of credential exchanged stays readable.
    assert!(matches!(
        by_jwt.decode::<CreateIamTokenRequest>().expect("decodes").identity,
        Some(Identity::Jwt(_))
    ));
    assert!(matches!(
        by_oauth.decode::<CreateIamTokenRequest>().expect("decodes").identity,
        Some(Identity::YandexPassportOauthToken(_))
    ));
    let listed = journal.last().expect("the list");
    assert!(listed.header("authorization").is_some_and(|v| v.starts_with("Bearer ")));
    assert!(listed.sent_authorization(&format!("Bearer {from_oauth}")));
    assert!(!listed.sent_authorization(&format!("Bearer {from_jwt}")));
}

#[tokio::test]
async fn jwt_signed_by_another_key_or_with_wrong_claims_is_unauthenticated() {
    let emu = Emulator::builder()
        .with_authorized_key(KEY_ID, SA_ID, SA_PUB)
        .start()
        .await
        .expect("start");
    let cases = [
        ("another key", jwt(OTHER_KEY, KEY_ID, SA_ID, 3600)),
        ("unknown kid", jwt(SA_KEY, "ajeunknownkey0000001", SA_ID, 3600)),
        ("wrong issuer", jwt(SA_KEY, KEY_ID, "ajeotheraccount00001", 3600)),
        ("lifetime over an hour", jwt(SA_KEY, KEY_ID, SA_ID, 3601 + 60)),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (why, token) in cases {
        let err = exchange(&emu, Identity::Jwt(token)).await.expect_err(why);
        assert_eq!(err.code(), Code::Unauthenticated, "{why}");
    }
}

#[tokio::test]
async fn api_key_secret_authenticates_until_the_key_is_deleted() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "key-holder").await;
    let created = create_key(&mut c, &sa.id).await;
    let mut by_key = clients_with(&emu, Auth::api_key(&created.secret)).await;
    by_key.accounts.list(list_request()).await.expect("api key accepted");

    let key_id = created.api_key.expect("key").id;
    let op = c
        .keys
        .delete(DeleteApiKeyRequest { api_key_id: key_id })
        .await
        .expect("delete")
        .into_inner();
    wait(&mut c, op).await;
    let err = by_key.accounts.list(list_request()).await.expect_err("deleted key");
    assert_eq!(err.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn endpoint_discovery_needs_no_token_and_points_at_the_emulator() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients_with(&emu, Auth::none()).await;
    let list = c
        .endpoints
        .list(ListApiEndpointsRequest::default())
        .await
        .expect("list")
        .into_inner();
    let own = format!("127.0.0.1:{}", emu.addr().port());
    for id in [
        "iam",
        "resource-manager",
        "resourcemanager",
        "operation",
        "ai-foundation-models",
    ] {
        let endpoint = list
            .endpoints
            .iter()
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("{id} listed"));
        assert_eq!(endpoint.address, own);
    }
    let iam = c
        .endpoints
        .get(GetApiEndpointRequest {
            api_endpoint_id: "iam".into(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(iam.address, own);
    let err = c
        .endpoints
        .get(GetApiEndpointRequest {
            api_endpoint_id: "nope".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(err.code(), Code::NotFound);
}

#[test]
fn builder_debug_shows_no_token_or_key() {
    let builder = Emulator::builder()
        .with_iam_token("t1.very-secret")
        .with_oauth_token("y0_very-secret")
        .with_tls("cert", "-----BEGIN PRIVATE KEY----- very-secret");
    let shown = format!("{builder:?}");
    assert!(!shown.contains("very-secret"), "{shown}");
}

#[tokio::test(start_paused = true)]
async fn issued_tokens_expire_after_twelve_hours() {
    let emu = Emulator::builder().start().await.expect("start");
    let token = exchange(&emu, Identity::YandexPassportOauthToken(DEFAULT_OAUTH_TOKEN.into()))
        .await
        .expect("token");
    let mut authed = clients_with(&emu, Auth::bearer(&token)).await;
    tokio::time::advance(std::time::Duration::from_secs(12 * 3600 - 60)).await;
    authed.accounts.list(list_request()).await.expect("still valid");
    tokio::time::advance(std::time::Duration::from_secs(61)).await;
    let err = authed.accounts.list(list_request()).await.expect_err("expired");
    assert_eq!(err.code(), Code::Unauthenticated);
}

/// Seconds since the epoch.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A JWT signed with the authorized key whose claims are `iss`, `aud` and then `claims`.
fn jwt_with(claims: serde_json::Value) -> String {
    let mut all = serde_json::json!({
        "iss": SA_ID,
        "aud": "https://iam.api.cloud.yandex.net/iam/v1/tokens",
    });
    if let (Some(all), Some(extra)) = (all.as_object_mut(), claims.as_object()) {
        all.extend(extra.clone());
    }
    let mut header = Header::new(Algorithm::PS256);
    header.kid = Some(KEY_ID.into());
    jsonwebtoken::encode(
        &header,
        &all,
        &EncodingKey::from_rsa_pem(SA_KEY.as_bytes()).expect("key"),
    )
    .expect("sign")
}

async fn jwt_emulator() -> Emulator {
    Emulator::builder()
        .with_authorized_key(KEY_ID, SA_ID, SA_PUB)
        .start()
        .await
        .expect("start")
}

/// Exchanges each JWT and asserts the outcome named beside it.
async fn assert_exchanges(emu: &Emulator, cases: Vec<(&str, bool, serde_json::Value)>) {
    for (why, accepted, claims) in cases {
        let result = exchange(emu, Identity::Jwt(jwt_with(claims))).await;
        match (accepted, result) {
            (true, Ok(_)) => {}
            (false, Err(err)) => assert_eq!(err.code(), Code::Unauthenticated, "{why}: {err:?}"),
            (true, Err(err)) => panic!("{why}: refused: {err:?}"),
            (false, Ok(_)) => panic!("{why}: accepted"),
        }
    }
}

#[tokio::test]
async fn jwt_issued_up_to_five_minutes_ahead_is_accepted_and_later_is_refused() {
    let emu = jwt_emulator().await;
    let now = now();
    assert_exchanges(
        &emu,
        vec![
            ("issued now", true, serde_json::json!({"iat": now, "exp": now + 3600})),
            (
                "issued 4 min ahead",
                true,
                serde_json::json!({"iat": now + 240, "exp": now + 240 + 3600}),
            ),
            (
                "issued 6 min ahead",
                false,
                serde_json::json!({"iat": now + 360, "exp": now + 360 + 600}),
            ),
            (
                "issued ten years ahead",
                false,
                serde_json::json!({"iat": now + 315_360_000, "exp": now + 315_363_600}),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn jwt_whose_exp_has_passed_is_refused_with_no_leeway() {
    let emu = jwt_emulator().await;
    let now = now();
    assert_exchanges(
        &emu,
        vec![
            (
                "expires in a minute",
                true,
                serde_json::json!({"iat": now - 600, "exp": now + 60}),
            ),
            (
                "expired 10 s ago",
                false,
                serde_json::json!({"iat": now - 600, "exp": now - 10}),
            ),
            ("expired long ago", false, serde_json::json!({"iat": 1, "exp": 2})),
        ],
    )
    .await;
}

#[tokio::test]
async fn jwt_living_an_hour_is_accepted_and_a_second_longer_is_refused() {
    let emu = jwt_emulator().await;
    let now = now();
    assert_exchanges(
        &emu,
        vec![
            (
                "exactly an hour",
                true,
                serde_json::json!({"iat": now - 10, "exp": now - 10 + 3600}),
            ),
            (
                "an hour and a second",
                false,
                serde_json::json!({"iat": now - 10, "exp": now - 10 + 3601}),
            ),
            (
                "exp before iat",
                false,
                serde_json::json!({"iat": now + 60, "exp": now + 30}),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn jwt_with_extreme_times_is_refused_without_overflow() {
    let emu = jwt_emulator().await;
    let now = now();
    assert_exchanges(
        &emu,
        vec![
            (
                "iat at the minimum",
                false,
                serde_json::json!({"iat": i64::MIN, "exp": now + 60}),
            ),
            (
                "exp at the maximum",
                false,
                serde_json::json!({"iat": now, "exp": i64::MAX}),
            ),
            (
                "both extreme",
                false,
                serde_json::json!({"iat": i64::MIN, "exp": i64::MAX}),
            ),
            ("beyond i64", false, serde_json::json!({"iat": now, "exp": u64::MAX})),
            ("negative", false, serde_json::json!({"iat": -100, "exp": -1})),
        ],
    )
    .await;
    // The emulator still serves after all of them.
    exchange(&emu, Identity::Jwt(jwt(SA_KEY, KEY_ID, SA_ID, 600)))
        .await
        .expect("a good JWT afterwards");
}

#[tokio::test]
async fn jwt_claims_of_the_wrong_type_are_refused() {
    let emu = jwt_emulator().await;
    let now = now();
    assert_exchanges(
        &emu,
        vec![
            ("exp a string", false, serde_json::json!({"iat": now, "exp": "never"})),
            (
                "exp a numeric string",
                false,
                serde_json::json!({"iat": now, "exp": (now + 600).to_string()}),
            ),
            ("exp null", false, serde_json::json!({"iat": now, "exp": null})),
            ("exp missing", false, serde_json::json!({"iat": now})),
            (
                "iat a string",
                false,
                serde_json::json!({"iat": "now", "exp": now + 600}),
            ),
            ("iat an object", false, serde_json::json!({"iat": {}, "exp": now + 600})),
            ("iat missing", false, serde_json::json!({"exp": now + 600})),
            (
                "exp a fraction",
                false,
                serde_json::json!({"iat": now, "exp": (now + 600) as f64 + 0.5}),
            ),
            (
                "nbf a string",
                false,
                serde_json::json!({"iat": now, "exp": now + 600, "nbf": "soon"}),
            ),
            (
                "nbf an array",
                false,
                serde_json::json!({"iat": now, "exp": now + 600, "nbf": [1]}),
            ),
            (
                "nbf in an hour",
                false,
                serde_json::json!({"iat": now, "exp": now + 600, "nbf": now + 3600}),
            ),
            (
                "nbf now",
                true,
                serde_json::json!({"iat": now, "exp": now + 600, "nbf": now}),
            ),
        ],
    )
    .await;
}

//! Authorized keys: `KeyService.Create` makes an RSA key pair and hands out the private key once,
//! after Yandex's warning line; a JWT signed with it is exchanged for an IAM token at once (and
//! marks the key used); get, list, update, delete and their operations; idempotent replay; the
//! state file keeps the public key only; the journal and `Debug` never show the private key.

use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use yc_iam::emulator::{DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::proto::yandex::cloud::iam::v1::create_iam_token_request::Identity;
use yc_iam::proto::yandex::cloud::iam::v1::key_service_client::KeyServiceClient;
use yc_iam::proto::yandex::cloud::iam::v1::{
    CreateIamTokenRequest, CreateKeyRequest, CreateKeyResponse, DeleteKeyMetadata, DeleteKeyRequest, GetKeyRequest,
    Key, ListKeyOperationsRequest, ListKeysRequest, UpdateKeyMetadata, UpdateKeyRequest, key,
};
use yc_iam::{AuthorizedKey, Credentials};

use super::support::{
    Auth, Authed, bad_field, channel, clients, create_account, response_of, unpack, wait, with_idempotency_key,
};
use crate::common::client_with;

const AUDIENCE: &str = "https://iam.api.cloud.yandex.net/iam/v1/tokens";

async fn keys(emu: &Emulator) -> KeyServiceClient<Authed> {
    KeyServiceClient::new(InterceptedService::new(
        channel(emu).await,
        Auth::bearer(DEFAULT_IAM_TOKEN),
    ))
}

fn create(sa: &str) -> CreateKeyRequest {
    CreateKeyRequest {
        service_account_id: sa.into(),
        description: "for CI".into(),
        ..Default::default()
    }
}

/// A PS256 JWT for the token exchange, signed with the PEM of `created` (after its first line).
fn jwt(created: &CreateKeyResponse, now: i64) -> String {
    let key = created.key.as_ref().expect("key");
    let Some(key::Subject::ServiceAccountId(sa)) = &key.subject else {
        panic!("the key names no service account");
    };
    let pem = &created.private_key[created.private_key.find("-----BEGIN").expect("PEM")..];
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
    header.kid = Some(key.id.clone());
    let claims = serde_json::json!({ "iss": sa, "aud": AUDIENCE, "iat": now, "exp": now + 3600 });
    let signing = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).expect("an RSA private key");
    jsonwebtoken::encode(&header, &claims, &signing).expect("signs")
}

fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
    )
    .expect("fits")
}

#[tokio::test]
async fn created_key_gives_its_private_key_once_after_the_yandex_line() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "signer").await;
    let mut k = keys(&emu).await;
    let created = k.create(create(&sa.id)).await.expect("create").into_inner();
    let key = created.key.clone().expect("key");
    assert!(key.id.starts_with("aje") && key.id.len() == 20, "{}", key.id);
    assert_eq!(key.subject, Some(key::Subject::ServiceAccountId(sa.id.clone())));
    assert_eq!(key.key_algorithm, key::Algorithm::Rsa2048 as i32, "RSA-2048 by default");
    assert_eq!(key.description, "for CI");
    assert!(
        key.public_key.starts_with("-----BEGIN PUBLIC KEY-----\n"),
        "{}",
        key.public_key
    );
    let (first_line, pem) = created.private_key.split_once('\n').expect("two parts");
    assert_eq!(
        first_line,
        format!("PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <{}>", key.id)
    );
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n") && pem.ends_with("-----END PRIVATE KEY-----\n"));
    assert!(
        !format!("{created:?}").contains(pem.lines().nth(1).expect("body")),
        "Debug redacts it"
    );

    let got = k
        .get(GetKeyRequest {
            key_id: key.id.clone(),
            ..Default::default()
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, key, "Get shows the public key, never the private one");
    let listed = k
        .list(ListKeysRequest {
            service_account_id: sa.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.keys, [key]);
}

#[tokio::test]
async fn a_jwt_signed_with_a_created_key_gets_an_iam_token_and_marks_the_key_used() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "exchanger").await;
    let mut k = keys(&emu).await;
    let created = k.create(create(&sa.id)).await.expect("create").into_inner();
    let key_id = created.key.as_ref().expect("key").id.clone();
    assert_eq!(created.key.as_ref().and_then(|k| k.last_used_at), None);

    let token = c
        .tokens
        .create(CreateIamTokenRequest {
            identity: Some(Identity::Jwt(jwt(&created, unix_now()))),
        })
        .await
        .expect("the JWT is accepted")
        .into_inner();
    assert!(token.iam_token.starts_with("t1."));
    let used = k
        .get(GetKeyRequest {
            key_id: key_id.clone(),
            ..Default::default()
        })
        .await
        .expect("get")
        .into_inner();
    assert!(used.last_used_at.is_some(), "the exchange marks the key used");

    // Once deleted, the key signs nothing the emulator accepts.
    let op = k
        .delete(DeleteKeyRequest { key_id: key_id.clone() })
        .await
        .expect("delete")
        .into_inner();
    wait(&mut c, op).await;
    let refused = c
        .tokens
        .create(CreateIamTokenRequest {
            identity: Some(Identity::Jwt(jwt(&created, unix_now()))),
        })
        .await
        .expect_err("a deleted key is refused");
    assert_eq!(refused.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_key_file_written_from_create_authenticates_the_library_client() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "file-user").await;
    let mut k = keys(&emu).await;
    let created = k.create(create(&sa.id)).await.expect("create").into_inner();
    let key = created.key.as_ref().expect("key");
    // The fields `yc iam key create --output key.json` writes.
    let file = serde_json::json!({
        "id": key.id,
        "service_account_id": sa.id,
        "created_at": "2026-01-01T00:00:00Z",
        "key_algorithm": "RSA_2048",
        "public_key": key.public_key,
        "private_key": created.private_key,
    });
    let authorized = AuthorizedKey::from_json(&file.to_string()).expect("the key file reads");
    let client = client_with(&emu, Credentials::authorized_key(authorized));
    let account = client
        .service_accounts()
        .get(&sa.id)
        .await
        .expect("the call authenticates");
    assert_eq!(account.id, sa.id);
}

#[tokio::test]
async fn rsa_4096_is_made_on_request_and_unknown_algorithms_and_formats_are_refused() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "big-key").await;
    let mut k = keys(&emu).await;
    let big = k
        .create(CreateKeyRequest {
            key_algorithm: key::Algorithm::Rsa4096 as i32,
            ..create(&sa.id)
        })
        .await
        .expect("create")
        .into_inner();
    let public = big.key.expect("key").public_key;
    // A 4096-bit SubjectPublicKeyInfo is 550 bytes: about 736 base64 characters.
    let base64_len: usize = public.lines().filter(|l| !l.starts_with("-----")).map(str::len).sum();
    assert!((700..800).contains(&base64_len), "{base64_len}");

    for (request, field) in [
        (
            CreateKeyRequest {
                key_algorithm: 7,
                ..create(&sa.id)
            },
            "key_algorithm",
        ),
        (
            CreateKeyRequest {
                format: 3,
                ..create(&sa.id)
            },
            "format",
        ),
        (
            CreateKeyRequest {
                description: "d".repeat(257),
                ..create(&sa.id)
            },
            "description",
        ),
        (
            CreateKeyRequest {
                service_account_id: "a".repeat(51),
                ..create(&sa.id)
            },
            "service_account_id",
        ),
    ] {
        let refused = k.create(request).await.expect_err(field);
        assert_eq!(refused.code(), Code::InvalidArgument, "{field}");
        assert_eq!(bad_field(&refused), field);
    }
    let missing = k.get(GetKeyRequest::default()).await.expect_err("key_id is required");
    assert_eq!(
        (missing.code(), bad_field(&missing)),
        (Code::InvalidArgument, "key_id".to_owned())
    );
    let unknown = k
        .create(create("ajenosuchaccount0001"))
        .await
        .expect_err("unknown account");
    assert_eq!(unknown.code(), Code::NotFound);
    let gone = k
        .get(GetKeyRequest {
            key_id: "ajenosuchkey00000001".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown key");
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn update_and_delete_are_operations_listed_for_the_key() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "rotated").await;
    let mut k = keys(&emu).await;
    let key_id = k
        .create(create(&sa.id))
        .await
        .expect("create")
        .into_inner()
        .key
        .expect("key")
        .id;
    let op = k
        .update(UpdateKeyRequest {
            key_id: key_id.clone(),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
            description: "renamed".into(),
        })
        .await
        .expect("update")
        .into_inner();
    let meta: UpdateKeyMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.iam.v1.UpdateKeyMetadata",
    );
    assert_eq!(meta.key_id, key_id);
    let op = wait(&mut c, op).await;
    let updated: Key = unpack(response_of(&op), "yandex.cloud.iam.v1.Key");
    assert_eq!(updated.description, "renamed");
    let ops = k
        .list_operations(ListKeyOperationsRequest {
            key_id: key_id.clone(),
            ..Default::default()
        })
        .await
        .expect("list operations")
        .into_inner();
    assert_eq!(ops.operations.iter().map(|o| o.id.clone()).collect::<Vec<_>>(), [op.id]);
    let bad_path = k
        .update(UpdateKeyRequest {
            key_id: key_id.clone(),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["public_key".into()],
            }),
            ..Default::default()
        })
        .await
        .expect_err("public_key cannot change");
    assert_eq!(bad_field(&bad_path), "update_mask.paths[0]");

    let op = k
        .delete(DeleteKeyRequest { key_id: key_id.clone() })
        .await
        .expect("delete")
        .into_inner();
    let meta: DeleteKeyMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.iam.v1.DeleteKeyMetadata",
    );
    assert_eq!(meta.key_id, key_id);
    let op = wait(&mut c, op).await;
    assert_eq!(response_of(&op).type_url, "type.googleapis.com/google.protobuf.Empty");
    let gone = k
        .get(GetKeyRequest {
            key_id,
            ..Default::default()
        })
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn retried_create_with_the_same_idempotency_key_returns_the_same_key_and_private_key() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "once").await;
    let mut k = keys(&emu).await;
    let idem = "5f0c1e2d-3b4a-4c5d-8e9f-0a1b2c3d4e5f";
    let first = k
        .create(with_idempotency_key(create(&sa.id), idem))
        .await
        .expect("first")
        .into_inner();
    let second = k
        .create(with_idempotency_key(create(&sa.id), idem))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first.key, second.key);
    assert_eq!(first.private_key, second.private_key);
    let listed = k
        .list(ListKeysRequest {
            service_account_id: sa.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.keys.len(), 1, "one key for both calls");
}

#[tokio::test]
async fn the_state_file_keeps_created_keys_across_a_restart_and_the_journal_never_shows_the_private_key() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("state.json");
    let emu = Emulator::builder().with_state_file(&path).start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "persisted").await;
    let created = keys(&emu)
        .await
        .create(create(&sa.id))
        .await
        .expect("create")
        .into_inner();
    let key = created.key.clone().expect("key");
    let pem_body = created.private_key.lines().nth(2).expect("a PEM body line").to_owned();
    let exchanged = c
        .tokens
        .create(CreateIamTokenRequest {
            identity: Some(Identity::Jwt(jwt(&created, unix_now()))),
        })
        .await;
    assert!(exchanged.is_ok());
    for entry in emu.journal() {
        assert!(
            !String::from_utf8_lossy(&entry.request).contains(&pem_body),
            "{}",
            entry.method
        );
        assert!(!format!("{entry:?}").contains(&pem_body));
    }
    emu.shutdown().await;

    let emu = Emulator::builder()
        .with_state_file(&path)
        .start()
        .await
        .expect("restart");
    let mut c = clients(&emu).await;
    let got = keys(&emu)
        .await
        .get(GetKeyRequest {
            key_id: key.id.clone(),
            ..Default::default()
        })
        .await
        .expect("the key survives")
        .into_inner();
    assert_eq!((got.public_key, got.created_at), (key.public_key, key.created_at));
    assert!(got.last_used_at.is_some(), "its use survives too");
    c.tokens
        .create(CreateIamTokenRequest {
            identity: Some(Identity::Jwt(jwt(&created, unix_now()))),
        })
        .await
        .expect("the restarted emulator accepts the key's JWTs");
}

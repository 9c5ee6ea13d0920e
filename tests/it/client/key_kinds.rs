//! Authorized keys (`client.keys()`) and static access keys (`client.access_keys()`) through the
//! facade: create hands out the secret once and the key works at once, list, get, update and
//! delete behave like the API-key handle's, and a create whose response is lost leaves exactly
//! one live key, the one whose secret the caller holds.

use futures_util::TryStreamExt as _;
use secrecy::ExposeSecret as _;
use yc_iam::model::KeyAlgorithm;
use yc_iam::{AuthorizedKey, CreateAccessKey, CreateKey, Credentials, UpdateAccessKey, UpdateKey, emulator::Fault};

use super::{calls, client, create_sa, emulator};
use crate::common::client_with;

const KEY_CREATE: &str = "/yandex.cloud.iam.v1.KeyService/Create";
const ACCESS_KEY_CREATE: &str = "/yandex.cloud.iam.v1.awscompatibility.AccessKeyService/Create";

#[tokio::test]
async fn a_new_authorized_key_signs_in_at_once_and_can_be_listed_changed_and_deleted() {
    let emu = emulator().await;
    let client = client(&emu);
    let sa = create_sa(&client, "authorized").await;
    let created = client
        .keys()
        .create(CreateKey::new(&sa.id).description("for ci"))
        .await
        .expect("a key");
    assert_eq!(created.key.key_algorithm, KeyAlgorithm::Rsa2048 as i32);
    assert!(
        created
            .private_key
            .expose_secret()
            .starts_with("PLEASE DO NOT REMOVE THIS LINE!")
    );
    assert!(
        !format!("{created:?}").contains("PRIVATE KEY"),
        "Debug hides the private key"
    );

    let key = AuthorizedKey::new(&created.key.id, &sa.id, created.private_key.clone()).expect("a usable key");
    let as_account = client_with(&emu, Credentials::authorized_key(key));
    let listed: Vec<_> = as_account
        .keys()
        .list(&sa.id)
        .try_collect()
        .await
        .expect("the key's JWT is exchanged for a token");
    assert_eq!(listed.iter().map(|k| &k.id).collect::<Vec<_>>(), [&created.key.id]);
    assert_eq!(listed[0].public_key, created.key.public_key);

    let changed = client
        .keys()
        .update(UpdateKey::new(&created.key.id).description("renamed"))
        .await
        .expect("update is accepted")
        .wait()
        .await
        .expect("updated");
    assert_eq!(changed.description, "renamed");
    assert_eq!(client.keys().get(&created.key.id).await.unwrap().description, "renamed");
    client
        .keys()
        .delete(&created.key.id)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert!(emu.snapshot().authorized_keys_of(&sa.id).is_empty());
}

#[tokio::test]
async fn an_authorized_key_can_be_rsa_4096() {
    let emu = emulator().await;
    let client = client(&emu);
    let sa = create_sa(&client, "authorized-4096").await;
    let created = client
        .keys()
        .create(CreateKey::new(&sa.id).algorithm(KeyAlgorithm::Rsa4096))
        .await
        .expect("a key");
    assert_eq!(created.key.key_algorithm, KeyAlgorithm::Rsa4096 as i32);
}

#[tokio::test]
async fn a_new_access_key_is_accepted_at_once_and_can_be_listed_changed_and_deleted() {
    let emu = emulator().await;
    let client = client(&emu);
    let sa = create_sa(&client, "static").await;
    let created = client
        .access_keys()
        .create(CreateAccessKey::new(&sa.id).description("terraform state"))
        .await
        .expect("a key");
    let key_id = created.access_key.key_id.clone();
    assert!(emu.accepts_access_key(&key_id, created.secret.expose_secret()));
    assert!(!format!("{created:?}").contains(created.secret.expose_secret()));

    let listed: Vec<_> = client.access_keys().list(&sa.id).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key_id, key_id);
    let changed = client
        .access_keys()
        .update(UpdateAccessKey::new(&created.access_key.id).description("renamed"))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(changed.description, "renamed");
    assert_eq!(
        client
            .access_keys()
            .get(&created.access_key.id)
            .await
            .unwrap()
            .description,
        "renamed"
    );
    client
        .access_keys()
        .delete(&created.access_key.id)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert!(!emu.accepts_access_key(&key_id, created.secret.expose_secret()));
}

#[tokio::test]
async fn retried_creates_with_a_dropped_response_leave_one_live_key_of_each_kind() {
    let emu = emulator().await;
    let client = client(&emu);
    let sa = create_sa(&client, "dropped-responses").await;
    emu.set_fault(KEY_CREATE, Fault::DropResponseAfterApply { n: 1 });
    emu.set_fault(ACCESS_KEY_CREATE, Fault::DropResponseAfterApply { n: 1 });

    let key = client
        .keys()
        .create(CreateKey::new(&sa.id).description("one"))
        .await
        .expect("the create is retried to success");
    let access_key = client
        .access_keys()
        .create(CreateAccessKey::new(&sa.id).description("one"))
        .await
        .expect("the create is retried to success");

    assert_eq!(calls(&emu, KEY_CREATE).len(), 2, "the lost attempt and the retry");
    assert_eq!(
        calls(&emu, ACCESS_KEY_CREATE).len(),
        2,
        "the lost attempt and the retry"
    );
    let snapshot = emu.snapshot();
    let keys: Vec<&str> = snapshot
        .authorized_keys_of(&sa.id)
        .iter()
        .map(|k| k.id.as_str())
        .collect();
    assert_eq!(keys, [key.key.id.as_str()]);
    let access: Vec<&str> = snapshot.access_keys_of(&sa.id).iter().map(|k| k.id.as_str()).collect();
    assert_eq!(access, [access_key.access_key.id.as_str()]);
    assert!(emu.accepts_access_key(&access_key.access_key.key_id, access_key.secret.expose_secret()));
}

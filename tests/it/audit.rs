//! The key inventory: every service account of a folder or cloud with all its keys of the three
//! kinds, judged on the emulator's moved clock — used, never used, unused for the window,
//! expiring, expired, without expiry, of a suspended account — and which of them yc-iam manages.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::client_with;
use yc_iam::audit::{Flag, Inventory, Policy, Scope, audit};
use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::provision::KeyType;
use yc_iam::{Client, Credentials, ExposeSecret, SecretString};
use yc_iam::{CreateAccessKey, CreateApiKey, CreateKey, CreateServiceAccount};

const DAY: Duration = Duration::from_secs(86_400);
const ACCOUNTS: usize = 100;

/// One account of the fleet and the secrets of its keys the test uses later.
struct Made {
    id: String,
    first_secret: SecretString,
    authorized: Option<yc_iam::AuthorizedKey>,
}

/// What each account's keys are, by its index: the first key is an API key expiring after 10
/// days (i % 4 == 0), after 50 days (i % 4 == 1) or never; the second an authorized key
/// (i % 10 == 0) or an API key without expiry, managed by yc-iam when i % 5 == 1; the third a
/// static key, managed when i is even.
async fn make_account(client: &Client, emu: &Emulator, i: usize) -> Made {
    let sa = client
        .service_accounts()
        .create(CreateServiceAccount::new(DEFAULT_FOLDER_ID, format!("fleet-{i:03}")))
        .await
        .expect("create account")
        .wait()
        .await
        .expect("account made");
    let mut first = CreateApiKey::new(&sa.id).description("first");
    match i % 4 {
        0 => first = first.expires_at(yc_iam::model::to_timestamp(emu.now() + 10 * DAY)),
        1 => first = first.expires_at(yc_iam::model::to_timestamp(emu.now() + 50 * DAY)),
        _ => {}
    }
    let first = client.api_keys().create(first).await.expect("first key");
    let authorized = if i.is_multiple_of(10) {
        let created = client
            .keys()
            .create(CreateKey::new(&sa.id).description("second"))
            .await
            .expect("authorized key");
        Some(yc_iam::AuthorizedKey::new(created.key.id, sa.id.clone(), created.private_key).expect("key"))
    } else {
        let description = if i % 5 == 1 {
            "second [yc-iam:env:0123abcd]"
        } else {
            "second"
        };
        client
            .api_keys()
            .create(CreateApiKey::new(&sa.id).description(description))
            .await
            .expect("second key");
        None
    };
    let third = if i.is_multiple_of(2) {
        "third [yc-iam:lockbox:e6q00000000000000001]"
    } else {
        "third"
    };
    client
        .access_keys()
        .create(CreateAccessKey::new(&sa.id).description(third))
        .await
        .expect("static key");
    Made {
        id: sa.id,
        first_secret: first.secret,
        authorized,
    }
}

/// Makes the fleet, uses some keys 5 days on and some 40 days on, suspends the last account and
/// returns the inventory judged at 40 days on.
async fn fleet_forty_days_on(emu: &Emulator, client: &Client) -> Inventory {
    let mut made = Vec::new();
    for i in 0..ACCOUNTS {
        made.push(make_account(client, emu, i).await);
    }
    emu.advance(5 * DAY);
    for (i, m) in made.iter().enumerate().filter(|(i, _)| used_early(*i)) {
        let by_key = client_with(emu, Credentials::api_key(m.first_secret.expose_secret()));
        by_key
            .service_accounts()
            .get(&m.id)
            .await
            .unwrap_or_else(|e| panic!("{i}: {e}"));
    }
    emu.advance(35 * DAY);
    for (i, m) in made.iter().enumerate() {
        if used_late(i) {
            let by_key = client_with(emu, Credentials::api_key(m.first_secret.expose_secret()));
            by_key
                .service_accounts()
                .get(&m.id)
                .await
                .unwrap_or_else(|e| panic!("{i}: {e}"));
        }
        if let Some(key) = m.authorized.clone().filter(|_| i % 20 == 0) {
            client_with(emu, Credentials::authorized_key(key))
                .iam_token()
                .await
                .expect("the JWT is exchanged");
        }
    }
    assert!(emu.suspend_service_account(&made[ACCOUNTS - 1].id));
    let policy = Policy::default().at(emu.now()).parallel(16);
    audit(client, &Scope::Folder(DEFAULT_FOLDER_ID.into()), &policy)
        .await
        .expect("audit")
}

/// The first key is used 5 days on (before the 10-day keys expire).
fn used_early(i: usize) -> bool {
    i.is_multiple_of(7)
}

/// The first key is used 40 days on, where it has not expired.
fn used_late(i: usize) -> bool {
    i.is_multiple_of(3) && !i.is_multiple_of(4)
}

/// The flags account `i`'s key `description` of `kind` must raise 40 days on.
fn expected(i: usize, kind: KeyType, description: &str) -> BTreeSet<Flag> {
    use Flag::*;
    let mut flags = BTreeSet::new();
    let used = match (kind, description) {
        (KeyType::ApiKey, "first") if used_late(i) => Some(true),
        (KeyType::ApiKey, "first") if used_early(i) => Some(false),
        (KeyType::AuthorizedKey, _) if i.is_multiple_of(20) => Some(true),
        _ => None,
    };
    match used {
        Some(true) => {}
        Some(false) => {
            flags.insert(Unused);
        }
        None => {
            flags.extend([Unused, NeverUsed]);
        }
    }
    if kind == KeyType::ApiKey {
        match (description, i % 4) {
            ("first", 0) => flags.insert(Expired),
            ("first", 1) => flags.insert(Expiring),
            _ => flags.insert(NoExpiry),
        };
    }
    if i == ACCOUNTS - 1 {
        flags.insert(AccountSuspended);
    }
    flags
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_accounts_with_three_keys_each_raise_exactly_the_expected_flags() {
    let emu = Emulator::builder().start().await.expect("start");
    let client = client_with(&emu, Credentials::iam_token(DEFAULT_IAM_TOKEN));
    let inventory = fleet_forty_days_on(&emu, &client).await;

    assert_eq!(inventory.accounts.len(), ACCOUNTS);
    assert_eq!(inventory.keys().count(), 3 * ACCOUNTS);
    for (i, account) in inventory.accounts.iter().enumerate() {
        assert_eq!(account.account.name, format!("fleet-{i:03}"), "by name");
        assert_eq!(account.suspended(), i == ACCOUNTS - 1);
        let kinds: Vec<KeyType> = account.keys.iter().map(|k| k.kind).collect();
        let second = if i % 10 == 0 {
            KeyType::AuthorizedKey
        } else {
            KeyType::ApiKey
        };
        let mut want_kinds = vec![KeyType::ApiKey, second, KeyType::StaticKey];
        want_kinds.sort();
        assert_eq!(kinds, want_kinds, "account {i}");
        for key in &account.keys {
            let description = key.description.split(' ').next().unwrap_or_default();
            assert_eq!(
                key.flags,
                expected(i, key.kind, description),
                "account {i}, {} {description}",
                key.kind
            );
            let managed = match description {
                "second" => key.kind == KeyType::ApiKey && i % 5 == 1,
                "third" => i % 2 == 0,
                _ => false,
            };
            assert_eq!(key.managed(), managed, "account {i}, {description}");
            let age = key.age(inventory.now).expect("created_at");
            assert!(age >= 40 * DAY && age < 40 * DAY + Duration::from_secs(60), "{age:?}");
            assert_eq!(key.access_key_id.is_some(), key.kind == KeyType::StaticKey);
        }
    }
    let raised = inventory.raised();
    assert_eq!(raised, Flag::ALL.into_iter().collect(), "every flag appears somewhere");

    // Judged by the local clock instead, the keys are 40 days younger: nothing is unused yet.
    let today = audit(
        &client,
        &Scope::Folder(DEFAULT_FOLDER_ID.into()),
        &Policy::default().at(emu.now() - 40 * DAY),
    )
    .await
    .expect("audit");
    assert!(!today.raised().contains(&Flag::Unused));
}

#[tokio::test]
async fn a_cloud_scope_covers_every_folder_and_an_unknown_folder_is_an_error() {
    let emu = Emulator::builder()
        .with_folder("b1gfolder00000000001")
        .with_folder("b1gfolder00000000002")
        .start()
        .await
        .expect("start");
    let client = client_with(&emu, Credentials::iam_token(DEFAULT_IAM_TOKEN));
    for (folder, name) in [("b1gfolder00000000001", "in-one"), ("b1gfolder00000000002", "in-two")] {
        let sa = client
            .service_accounts()
            .create(CreateServiceAccount::new(folder, name))
            .await
            .expect("create")
            .wait()
            .await
            .expect("made");
        client.api_keys().create(CreateApiKey::new(&sa.id)).await.expect("key");
    }
    let cloud = emu.snapshot().clouds[0].id.clone();
    let inventory = audit(&client, &Scope::Cloud(cloud), &Policy::default())
        .await
        .expect("audit");
    let names: Vec<&str> = inventory.accounts.iter().map(|a| a.account.name.as_str()).collect();
    assert_eq!(names, ["in-one", "in-two"]);
    assert_eq!(inventory.keys().count(), 2);

    let err = audit(
        &client,
        &Scope::Folder("b1gnosuchfolder00001".into()),
        &Policy::default(),
    )
    .await
    .expect_err("unknown folder");
    assert_eq!(err.kind(), yc_iam::ErrorKind::PermissionDenied, "{err}");
}

#[tokio::test]
async fn windows_reaching_past_either_end_of_time_have_no_limit_there_instead_of_panicking() {
    let emu = Emulator::builder().start().await.expect("start");
    let client = client_with(&emu, Credentials::iam_token(DEFAULT_IAM_TOKEN));
    let sa = client
        .service_accounts()
        .create(CreateServiceAccount::new(DEFAULT_FOLDER_ID, "edge"))
        .await
        .expect("create")
        .wait()
        .await
        .expect("made");
    let expires = emu.now() + 50 * DAY;
    let expiring = CreateApiKey::new(&sa.id).expires_at(yc_iam::model::to_timestamp(expires));
    client.api_keys().create(expiring).await.expect("key");
    let scope = Scope::Folder(DEFAULT_FOLDER_ID.into());

    // The unused window starts before the year -9999: no key is unused.
    let first_days = time::macros::datetime!(-9999-01-02 00:00 UTC);
    let policy = Policy::default().unused_for(100 * DAY).at(first_days);
    let inventory = audit(&client, &scope, &policy).await.expect("audit");
    assert_eq!(inventory.raised(), BTreeSet::from([Flag::NeverUsed]));

    // The expiring window ends past the year 9999: the key's expiry falls within it.
    let policy = Policy::default().expiring_within(Duration::MAX).at(expires - DAY);
    let inventory = audit(&client, &scope, &policy).await.expect("audit");
    assert!(inventory.raised().contains(&Flag::Expiring), "{:?}", inventory.raised());
}

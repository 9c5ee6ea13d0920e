//! Lockbox versions: a new version is its base (any version not destroyed; the current one by
//! default) changed by the given entries, the current version can be set back, and a version
//! scheduled for destruction is destroyed once its time passes on the emulator's clock, unless
//! cancelled; its payload then leaves memory and the state file without waiting for another change.

use tokio::time::Duration;
use tonic::Code;
use yc_iam::emulator::Emulator;
use yc_iam::proto::yandex::cloud::lockbox::v1::{
    AddVersionMetadata, AddVersionRequest, CancelVersionDestructionRequest, GetPayloadRequest, ListVersionsRequest,
    PayloadEntryChange, ScheduleVersionDestructionMetadata, ScheduleVersionDestructionRequest, Secret,
    SetCurrentVersionRequest, Version, payload, version,
};
use yc_iam::proto::yandex::cloud::operation::Operation;

use super::support::{Clients, bad_field, clients, create_secret, response_of, text_entry, unpack, wait};

fn add(secret: &Secret, base: &str, entries: Vec<PayloadEntryChange>) -> AddVersionRequest {
    AddVersionRequest {
        secret_id: secret.id.clone(),
        base_version_id: base.into(),
        payload_entries: entries,
        ..Default::default()
    }
}

async fn done(c: &mut Clients, op: Result<tonic::Response<Operation>, tonic::Status>) -> Operation {
    let op = op.expect("accepted").into_inner();
    wait(c, op).await
}

async fn added(c: &mut Clients, request: AddVersionRequest) -> Version {
    let op = c.secrets.add_version(request).await;
    let op = done(c, op).await;
    unpack(response_of(&op), "yandex.cloud.lockbox.v1.Version")
}

/// The text entries of a version's payload, as (key, value) pairs.
async fn texts(c: &mut Clients, secret_id: &str, version_id: &str) -> Vec<(String, String)> {
    let payload = c
        .payloads
        .get(GetPayloadRequest {
            secret_id: secret_id.into(),
            version_id: version_id.into(),
        })
        .await
        .expect("payload")
        .into_inner();
    payload
        .entries
        .into_iter()
        .map(|e| match &e.value {
            Some(payload::entry::Value::TextValue(text)) => (e.key.clone(), text.clone()),
            other => panic!("entry {} is not text: {other:?}", e.key),
        })
        .collect()
}

async fn versions(c: &mut Clients, secret_id: &str) -> Vec<Version> {
    c.secrets
        .list_versions(ListVersionsRequest {
            secret_id: secret_id.into(),
            ..Default::default()
        })
        .await
        .expect("versions")
        .into_inner()
        .versions
}

fn pair(key: &str, value: &str) -> (String, String) {
    (key.to_owned(), value.to_owned())
}

#[tokio::test]
async fn a_new_version_keeps_the_entries_of_its_base_that_it_does_not_change() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(
        &mut c,
        "merged",
        vec![text_entry("api-key", "old"), text_entry("other", "kept")],
    )
    .await;
    let first = secret.current_version.clone().expect("first");

    let op = c
        .secrets
        .add_version(add(
            &secret,
            &first.id,
            vec![text_entry("api-key", "new"), text_entry("extra", "x")],
        ))
        .await;
    let op = done(&mut c, op).await;
    let metadata: AddVersionMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.lockbox.v1.AddVersionMetadata",
    );
    let second: Version = unpack(response_of(&op), "yandex.cloud.lockbox.v1.Version");
    assert_eq!(metadata.version_id, second.id);
    assert_eq!(metadata.secret_id, secret.id);
    assert_eq!(second.status, version::Status::Active as i32);
    assert_eq!(second.payload_entry_keys, ["api-key", "other", "extra"]);
    assert_eq!(
        texts(&mut c, &secret.id, "").await,
        [pair("api-key", "new"), pair("other", "kept"), pair("extra", "x")]
    );
    // The old version is unchanged and still listed first.
    assert_eq!(
        texts(&mut c, &secret.id, &first.id).await,
        [pair("api-key", "old"), pair("other", "kept")]
    );
    let listed: Vec<String> = versions(&mut c, &secret.id).await.into_iter().map(|v| v.id).collect();
    assert_eq!(listed, [first.id.clone(), second.id.clone()]);

    // Without a base the current version is the base; a change without a value removes its key.
    let removal = PayloadEntryChange {
        key: "extra".into(),
        value: None,
    };
    added(&mut c, add(&secret, "", vec![removal])).await;
    assert_eq!(
        texts(&mut c, &secret.id, "").await,
        [pair("api-key", "new"), pair("other", "kept")]
    );
}

#[tokio::test]
async fn a_new_version_may_be_based_on_an_older_version_and_copies_its_entries_but_not_on_a_destroyed_one() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(
        &mut c,
        "raced",
        vec![text_entry("api-key", "a"), text_entry("other", "x")],
    )
    .await;
    let first = secret.current_version.clone().expect("first");
    let winner = added(
        &mut c,
        add(
            &secret,
            &first.id,
            vec![text_entry("api-key", "b"), text_entry("extra", "y")],
        ),
    )
    .await;

    // Based on the first version, not the current one: the entries come from the first.
    let late = added(&mut c, add(&secret, &first.id, vec![text_entry("api-key", "c")])).await;
    assert_eq!(
        texts(&mut c, &secret.id, "").await,
        [pair("api-key", "c"), pair("other", "x")]
    );
    let listed: Vec<String> = versions(&mut c, &secret.id).await.into_iter().map(|v| v.id).collect();
    assert_eq!(listed, [first.id.clone(), winner.id.clone(), late.id.clone()]);

    let err = c
        .secrets
        .add_version(add(&secret, "e6qnosuchversion0001", vec![text_entry("api-key", "d")]))
        .await
        .expect_err("unknown base");
    assert_eq!(err.code(), Code::NotFound);

    // A destroyed version has no entries left to copy.
    let op = c
        .secrets
        .schedule_version_destruction(ScheduleVersionDestructionRequest {
            secret_id: secret.id.clone(),
            version_id: winner.id.clone(),
            pending_period: Some(prost_types::Duration { seconds: 0, nanos: 0 }),
        })
        .await;
    done(&mut c, op).await;
    let err = c
        .secrets
        .add_version(add(&secret, &winner.id, vec![text_entry("api-key", "e")]))
        .await
        .expect_err("destroyed base");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(versions(&mut c, &secret.id).await.len(), 3, "nothing was added");
}

#[tokio::test]
async fn add_version_rules_on_entries_name_the_field() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(&mut c, "rules", vec![text_entry("k", "v")]).await;
    let err = c
        .secrets
        .add_version(add(&secret, "", vec![text_entry("bad key", "v")]))
        .await
        .expect_err("pattern");
    assert_eq!(bad_field(&err), "payload_entries[0].key");
    let err = c
        .secrets
        .add_version(add(&secret, "", vec![text_entry("k", &"é".repeat(40_000))]))
        .await
        .expect_err("bytes");
    assert_eq!(bad_field(&err), "payload_entries[0].text_value");
    let everything_removed = PayloadEntryChange {
        key: "k".into(),
        value: None,
    };
    let err = c
        .secrets
        .add_version(add(&secret, "", vec![everything_removed]))
        .await
        .expect_err("empty version");
    assert_eq!(bad_field(&err), "payload_entries");
    let err = c
        .secrets
        .add_version(add(&secret, "", vec![]))
        .await
        .err()
        .map(|e| e.code());
    assert_eq!(err, None, "an empty change list copies the base");
}

#[tokio::test]
async fn set_current_version_rolls_back_to_an_active_version() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(&mut c, "rollback", vec![text_entry("k", "one")]).await;
    let first = secret.current_version.clone().expect("first");
    added(&mut c, add(&secret, "", vec![text_entry("k", "two")])).await;

    let op = c
        .secrets
        .set_current_version(SetCurrentVersionRequest {
            secret_id: secret.id.clone(),
            version_id: first.id.clone(),
        })
        .await;
    let op = done(&mut c, op).await;
    let current: Version = unpack(response_of(&op), "yandex.cloud.lockbox.v1.Version");
    assert_eq!(current.id, first.id);
    assert_eq!(
        op.metadata.as_ref().expect("metadata").type_url,
        "type.googleapis.com/yandex.cloud.lockbox.v1.SetCurrentVersionMetadata"
    );
    assert_eq!(texts(&mut c, &secret.id, "").await, [pair("k", "one")]);
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_version_is_destroyed_once_its_pending_period_passes() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(&mut c, "rotated", vec![text_entry("k", "old")]).await;
    let old = secret.current_version.clone().expect("first");
    added(&mut c, add(&secret, &old.id, vec![text_entry("k", "new")])).await;

    let schedule = ScheduleVersionDestructionRequest {
        secret_id: secret.id.clone(),
        version_id: old.id.clone(),
        pending_period: None,
    };
    let op = c.secrets.schedule_version_destruction(schedule.clone()).await;
    let op = done(&mut c, op).await;
    let metadata: ScheduleVersionDestructionMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.lockbox.v1.ScheduleVersionDestructionMetadata",
    );
    let scheduled: Version = unpack(response_of(&op), "yandex.cloud.lockbox.v1.Version");
    assert_eq!(scheduled.status, version::Status::ScheduledForDestruction as i32);
    let destroy_at = scheduled.destroy_at.expect("destroy_at");
    assert_eq!(metadata.destroy_at, Some(destroy_at));
    let op_created = op.created_at.expect("created").seconds;
    assert_eq!(
        destroy_at.seconds - op_created,
        7 * 24 * 3600,
        "Yandex's default: 7 days"
    );

    let again = c.secrets.schedule_version_destruction(schedule).await;
    assert_eq!(again.expect_err("already scheduled").code(), Code::FailedPrecondition);
    let unreadable = c
        .payloads
        .get(GetPayloadRequest {
            secret_id: secret.id.clone(),
            version_id: old.id.clone(),
        })
        .await;
    assert_eq!(unreadable.expect_err("scheduled").code(), Code::FailedPrecondition);

    tokio::time::advance(Duration::from_secs(7 * 24 * 3600 - 1)).await;
    assert_eq!(
        versions(&mut c, &secret.id).await[0].status,
        version::Status::ScheduledForDestruction as i32
    );
    tokio::time::advance(Duration::from_secs(2)).await;
    let listed = versions(&mut c, &secret.id).await;
    assert_eq!(listed[0].status, version::Status::Destroyed as i32);
    assert_eq!(
        listed[0].payload_entry_keys,
        ["k"],
        "the keys stay, the values are gone"
    );
    let cancel = c
        .secrets
        .cancel_version_destruction(CancelVersionDestructionRequest {
            secret_id: secret.id.clone(),
            version_id: old.id.clone(),
        })
        .await;
    assert_eq!(cancel.expect_err("too late").code(), Code::FailedPrecondition);
    let rollback = c
        .secrets
        .set_current_version(SetCurrentVersionRequest {
            secret_id: secret.id.clone(),
            version_id: old.id.clone(),
        })
        .await;
    assert_eq!(rollback.expect_err("destroyed").code(), Code::FailedPrecondition);
}

#[tokio::test(start_paused = true)]
async fn cancelled_destruction_leaves_the_version_active_and_readable() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(&mut c, "reprieve", vec![text_entry("k", "old")]).await;
    let old = secret.current_version.clone().expect("first");
    added(&mut c, add(&secret, "", vec![text_entry("k", "new")])).await;
    let op = c
        .secrets
        .schedule_version_destruction(ScheduleVersionDestructionRequest {
            secret_id: secret.id.clone(),
            version_id: old.id.clone(),
            pending_period: Some(prost_types::Duration { seconds: 60, nanos: 0 }),
        })
        .await;
    done(&mut c, op).await;
    let op = c
        .secrets
        .cancel_version_destruction(CancelVersionDestructionRequest {
            secret_id: secret.id.clone(),
            version_id: old.id.clone(),
        })
        .await;
    let op = done(&mut c, op).await;
    let kept: Version = unpack(response_of(&op), "yandex.cloud.lockbox.v1.Version");
    assert_eq!(kept.status, version::Status::Active as i32);
    assert_eq!(kept.destroy_at, None);
    tokio::time::advance(Duration::from_secs(120)).await;
    assert_eq!(texts(&mut c, &secret.id, &old.id).await, [pair("k", "old")]);
}

#[tokio::test]
async fn the_current_version_cannot_be_scheduled_for_destruction() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(&mut c, "in-use", vec![text_entry("k", "v")]).await;
    let current = secret.current_version.clone().expect("current");
    let err = c
        .secrets
        .schedule_version_destruction(ScheduleVersionDestructionRequest {
            secret_id: secret.id.clone(),
            version_id: current.id.clone(),
            pending_period: None,
        })
        .await
        .expect_err("current");
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = c
        .secrets
        .schedule_version_destruction(ScheduleVersionDestructionRequest {
            secret_id: secret.id.clone(),
            version_id: current.id.clone(),
            pending_period: Some(prost_types::Duration { seconds: -1, nanos: 0 }),
        })
        .await
        .expect_err("negative");
    assert_eq!(bad_field(&err), "pending_period");
}

#[tokio::test(start_paused = true)]
async fn a_destroyed_payload_leaves_memory_and_the_state_file_at_its_destruction_time_without_another_change() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("state.json");
    let emu = Emulator::builder().with_state_file(&path).start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(&mut c, "short-lived", vec![text_entry("k", "value-to-forget")]).await;
    let old = secret.current_version.clone().expect("first");
    added(&mut c, add(&secret, &old.id, vec![text_entry("k", "value-to-keep")])).await;
    let op = c
        .secrets
        .schedule_version_destruction(ScheduleVersionDestructionRequest {
            secret_id: secret.id.clone(),
            version_id: old.id.clone(),
            pending_period: Some(prost_types::Duration { seconds: 60, nanos: 0 }),
        })
        .await;
    done(&mut c, op).await;
    let saved = || std::fs::read_to_string(&path).unwrap_or_default();
    // Until its time the scheduled version keeps its payload, in memory and in the file.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(saved().contains("value-to-forget") && saved().contains("\"destroy_at\": {")) {
        assert!(std::time::Instant::now() < until, "the schedule is saved");
        tokio::task::yield_now().await;
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Saves already due finish first (the clock stands still meanwhile: nothing here sleeps on it).
    for _ in 0..60 {
        tokio::task::yield_now().await;
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(saved().contains("value-to-forget"), "kept until its time");

    // The time passes and nothing else happens: the payload leaves the file all the same.
    tokio::time::advance(Duration::from_secs(61)).await;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while saved().contains("value-to-forget") {
        assert!(
            std::time::Instant::now() < until,
            "the destroyed payload is still in the state file"
        );
        tokio::task::yield_now().await;
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(saved().contains("value-to-keep"), "the current version stays");
    let unreadable = c
        .payloads
        .get(GetPayloadRequest {
            secret_id: secret.id.clone(),
            version_id: old.id.clone(),
        })
        .await;
    assert_eq!(unreadable.expect_err("destroyed").code(), Code::FailedPrecondition);
}

//! The library's long-running calls give futures that a multi-thread runtime can spawn, so a
//! backend can run a provisioning (with its verification), a fleet's plan and apply, an audit or a
//! rotation on a task of its own.

use std::future::Future;
use std::path::Path;

use yc_iam::audit::{Policy, Scope, audit};
use yc_iam::emulator::DEFAULT_FOLDER_ID;
use yc_iam::fleet::Manifest;
use yc_iam::provision::{Provision, SinkAddress, Verify};
use yc_iam::rotate::{Rotation, Select};

use crate::provision::start;

/// Runs `work` on a task of its own, which needs its future to be `Send + 'static`.
async fn spawned<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    tokio::spawn(work).await.expect("the task finishes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_verifying_a_fleet_an_audit_and_a_rotation_each_run_on_a_spawned_task() {
    let (emu, client, dir) = start().await;
    let file = dir.path().join("key.yaml");

    let (c, key) = (client.clone(), file.clone());
    let provisioned = spawned(async move {
        let provision = Provision::new(DEFAULT_FOLDER_ID, "sa-task").output_file(&key);
        provision.verify(Verify::new()).run(&c).await
    })
    .await
    .expect("provisioned");
    assert!(provisioned.verification.is_some(), "the new key was verified");

    let text = format!(
        "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {{ name: tasks }}\ndefaults: {{ folder_id: {DEFAULT_FOLDER_ID} }}\nservice_accounts:\n  - name: sa-fleet-task\n    roles: [viewer]\n"
    );
    let fleet = Manifest::parse(&text, Path::new("fleet.yaml"), Path::new(".")).expect("a valid manifest");
    let c = client.clone();
    let report = spawned(async move {
        let plan = fleet.plan(&c, false).await?;
        Ok::<_, yc_iam::Error>(plan.apply(&c, 4).await)
    })
    .await
    .expect("planned");
    assert!(report.succeeded() && report.changed(), "{report:?}");

    let c = client.clone();
    let inventory =
        spawned(async move { audit(&c, &Scope::Folder(DEFAULT_FOLDER_ID.into()), &Policy::default()).await })
            .await
            .expect("audited");
    assert_eq!(inventory.accounts.len(), 2);

    let (c, now) = (client.clone(), emu.now());
    let rotated = spawned(async move {
        Rotation::new(DEFAULT_FOLDER_ID, Select::AllKeys)
            .sink(SinkAddress::File(file))
            .at(now)
            .run(&c)
            .await
    })
    .await
    .expect("rotated");
    assert_eq!(rotated.entries.len(), 1, "the provisioned key");
}

//! What `yc-iam api-key`, `key` and `access-key` do alike, through the library's one key handle:
//! show, list, update and delete a key. Each group names its kind by the view it prints.

use futures_util::TryStreamExt;
use yc_iam::UpdateAccountKey;
use yc_iam::provision::{check_description, check_id};

use super::{AccountRef, finish};
use crate::cli::{KeyOwner, KeyRecordCommand, NewDescription};
use crate::error::CliResult;
use crate::output::{self, ShowsKey};
use crate::session::{Session, connect};
use crate::settings::Settings;

/// `get`, `list` and `delete` of every key group; `update` sends what the group's flags change.
pub(crate) async fn run<V: ShowsKey, U: clap::Args>(
    settings: &Settings,
    cmd: KeyRecordCommand<U>,
    send_update: impl AsyncFnOnce(String, U) -> CliResult,
) -> CliResult {
    match cmd {
        KeyRecordCommand::Get { id } => get::<V>(settings, &id).await,
        KeyRecordCommand::List { owner } => list::<V>(settings, &owner).await,
        KeyRecordCommand::Update { id, change } => send_update(id, change).await,
        KeyRecordCommand::Delete { id } => delete::<V>(settings, &id).await,
    }
}

/// `update` of the groups that change only the description.
pub(crate) async fn update_description<V: ShowsKey>(
    settings: &Settings,
    id: String,
    change: NewDescription,
) -> CliResult {
    check_id("<ID>", &id)?;
    check_description("--description", &change.description)?;
    let session = connect(settings).await?;
    update::<V>(
        settings,
        &session,
        UpdateAccountKey::new(&id).description(change.description),
    )
    .await
}

async fn get<V: ShowsKey>(settings: &Settings, id: &str) -> CliResult {
    check_id("<ID>", id)?;
    let session = connect(settings).await?;
    let key = session.account_keys::<V::Key>().get(id).await?;
    output::print_one(settings.format, &V::from(&key))?;
    Ok(())
}

async fn list<V: ShowsKey>(settings: &Settings, owner: &KeyOwner) -> CliResult {
    let account = AccountRef::from_owner(settings, owner)?;
    let session = connect(settings).await?;
    let id = account.id(&session).await?;
    let keys: Vec<V::Key> = session.account_keys::<V::Key>().list(&id).try_collect().await?;
    let views: Vec<V> = keys.iter().map(V::from).collect();
    output::print_list(settings.format, &views, V::COLUMNS)?;
    Ok(())
}

/// Sends a checked update and prints the key as it is after it (unless `--async`).
pub(crate) async fn update<V: ShowsKey>(
    settings: &Settings,
    session: &Session,
    request: UpdateAccountKey<V::Key>,
) -> CliResult {
    let op = session.account_keys::<V::Key>().update(request).await?;
    if let Some(key) = finish(settings, op, &format!("updating {}", V::NOUN)).await? {
        output::print_one(settings.format, &V::from(&key))?;
    }
    Ok(())
}

async fn delete<V: ShowsKey>(settings: &Settings, id: &str) -> CliResult {
    check_id("<ID>", id)?;
    let session = connect(settings).await?;
    let op = session.account_keys::<V::Key>().delete(id).await?;
    if finish(settings, op, &format!("deleting {}", V::NOUN)).await?.is_some() {
        super::print_deleted(settings.format, V::NOUN, id)?;
    }
    Ok(())
}

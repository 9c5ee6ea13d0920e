//! `yc-iam api-key create|get|list|update|delete|list-scopes`.

use futures_util::TryStreamExt;
use serde::Serialize;
use time::OffsetDateTime;
use yc_iam::provision::{check_description, check_expiry, check_id, check_scopes};
use yc_iam::{CreateApiKey, UpdateApiKey};

use super::AccountRef;
use super::account_key;
use crate::cli::{ApiKeyChange, ApiKeyCommand, Expiry, Format, KeyOwner};
use crate::error::{CliError, CliResult};
use crate::output::{self, ApiKeyView};
use crate::session::connect;
use crate::settings::Settings;

/// The yc shape of `api-key create` output: the key, then the secret (shown only now).
#[derive(Serialize)]
struct Created<'a> {
    api_key: ApiKeyView,
    secret: &'a str,
}

/// `--expires-at` or now + `--expires-in`, checked.
pub(crate) fn expiry(e: &Expiry) -> CliResult<Option<OffsetDateTime>> {
    let now = OffsetDateTime::now_utc();
    let (at, field) = match (e.expires_at, e.expires_in) {
        (Some(at), _) => (at, "--expires-at"),
        (None, Some(d)) => {
            let d = time::Duration::try_from(d).map_err(|_| CliError::usage("invalid --expires-in: too long"))?;
            (
                now.checked_add(d)
                    .ok_or_else(|| CliError::usage("invalid --expires-in: too long"))?,
                "--expires-in",
            )
        }
        (None, None) => return Ok(None),
    };
    check_expiry(field, at, now)?;
    Ok(Some(at))
}

pub(crate) async fn run(settings: &Settings, cmd: ApiKeyCommand) -> CliResult {
    let format = settings.format;
    match cmd {
        ApiKeyCommand::Create {
            owner,
            scopes,
            scope,
            description,
            expiry: e,
        } => create(settings, &owner, scopes, scope, description, &e).await?,
        ApiKeyCommand::Record(cmd) => {
            account_key::run::<ApiKeyView, _>(settings, cmd, |id, change| update(settings, id, change)).await?
        }
        ApiKeyCommand::ListScopes => {
            let session = connect(settings).await?;
            let scopes: Vec<String> = session.api_keys().list_scopes().try_collect().await?;
            if format == Format::Text {
                for s in &scopes {
                    output::write_stdout(&format!("{s}\n"))?;
                }
            } else {
                output::print_one(format, &scopes)?;
            }
        }
    }
    Ok(())
}

/// `api-key create`: the secret goes to stdout once, in the shape of `yc iam api-key create`.
async fn create(
    settings: &Settings,
    owner: &KeyOwner,
    scopes: Vec<String>,
    scope: Vec<String>,
    description: Option<String>,
    e: &Expiry,
) -> CliResult {
    let account = AccountRef::from_owner(settings, owner)?;
    let mut all = scopes;
    all.extend(scope);
    check_scopes("--scopes", &all)?;
    if let Some(d) = &description {
        check_description("--description", d)?;
    }
    let expires = expiry(e)?;
    let session = connect(settings).await?;
    let id = account.id(&session).await?;
    let mut request = CreateApiKey::new(&id).scopes(all);
    if let Some(d) = description {
        request = request.description(d);
    }
    if let Some(at) = expires {
        request = request.expires_at(yc_iam::model::to_timestamp(at));
    }
    let created = session.api_keys().create(request).await?;
    use secrecy::ExposeSecret;
    let shape = Created {
        api_key: ApiKeyView::from(&created.api_key),
        secret: created.secret.expose_secret(),
    };
    output::print_document(settings.format, &shape)?;
    Ok(())
}

/// `api-key update`: the API wants 1 to 100 scopes in every update, so absent ones are kept.
async fn update(settings: &Settings, id: String, change: ApiKeyChange) -> CliResult {
    let ApiKeyChange {
        description,
        scopes,
        expiry: e,
    } = change;
    check_id("<ID>", &id)?;
    if !scopes.is_empty() {
        check_scopes("--scopes", &scopes)?;
    }
    if let Some(d) = &description {
        check_description("--description", d)?;
    }
    let expires = expiry(&e)?;
    if description.is_none() && scopes.is_empty() && expires.is_none() {
        return Err(CliError::usage(
            "nothing to change: pass --description, --scopes or --expires-at",
        ));
    }
    let mut request = UpdateApiKey::new(&id);
    if let Some(d) = description {
        request = request.description(d);
    }
    if let Some(at) = expires {
        request = request.expires_at(yc_iam::model::to_timestamp(at));
    }
    let session = connect(settings).await?;
    if scopes.is_empty() {
        // The API wants 1-100 scopes in every update: keep the current ones.
        let current = session.api_keys().get(&id).await?;
        let view = ApiKeyView::from(&current);
        if view.scopes.is_empty() {
            return Err(CliError::usage(format!(
                "key {id} has no scopes and the API needs 1 to 100 in an update: pass --scopes"
            )));
        }
        request = request.scopes(view.scopes);
    } else {
        request = request.scopes(scopes);
    }
    account_key::update::<ApiKeyView>(settings, &session, request).await
}

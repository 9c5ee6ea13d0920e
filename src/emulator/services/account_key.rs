//! What the services of a service account's keys (API keys, authorized keys, static access keys)
//! do alike: list the account's keys, get one, update it through a field mask, delete it and list
//! its operations. A kind of key says where its records live and how the API names it; the RPCs
//! are written once here.

use prost_types::{FieldMask, Timestamp};
use tonic::{Response, Status};

use super::service_account::{empty_any, require_service_account};
use super::{Call, Outcome, Svc, apply_mask};
use crate::emulator::errors::{invalid_argument, not_found, pack};
use crate::emulator::page::page;
use crate::emulator::state::{KeyMeta, SecretKind, State};
use crate::emulator::{Principal, Quota};
use crate::proto::yandex::cloud::operation::Operation;

/// One kind of key a service account owns: where its records are kept and how the API names it.
pub(crate) trait AccountKey: Clone + Send + 'static {
    /// The key as the API shows it.
    type Proto: prost::Message;
    /// How messages name the kind (`API key {id} not found`).
    const NOUN: &'static str;
    /// The full proto name of `Proto`, for operation responses.
    const MESSAGE: &'static str;
    /// The gRPC paths of the kind's `Update` and `Delete`, which key their idempotency records.
    const UPDATE_METHOD: &'static str;
    const DELETE_METHOD: &'static str;
    /// The full proto names of the update and delete metadata; both carry only the key's id.
    const UPDATE_METADATA: &'static str;
    const DELETE_METADATA: &'static str;
    /// The descriptions of the update and delete operations.
    const UPDATE_DESCRIPTION: &'static str;
    const DELETE_DESCRIPTION: &'static str;
    /// The fields an update without a mask changes.
    const FIELDS: &'static [&'static str];
    /// How the idempotency record of a `Create` names the kind.
    const SECRET_KIND: SecretKind;
    /// The per-cloud quota a `Create` of this kind counts against, if any.
    const QUOTA: Option<Quota> = None;

    /// What every kind of key has: its id, owner, description and times.
    fn meta(&self) -> &KeyMeta;
    fn to_proto(&self) -> Self::Proto;
    /// The key `id` if it exists and is not deleted.
    fn find<'a>(state: &'a State, id: &str) -> Option<&'a Self>;
    /// The live keys of a service account, in any order.
    fn of_account<'a>(state: &'a State, service_account_id: &'a str) -> impl Iterator<Item = &'a Self>;
    /// Stores a new or changed key.
    fn put(state: &mut State, key: Self);
    /// Deletes a key: nothing authenticates with it afterwards.
    fn remove(state: &mut State, id: &str);
}

/// The update and delete metadata of every kind of key: the key's id, field 1.
#[derive(Clone, PartialEq, prost::Message)]
struct KeyIdMetadata {
    #[prost(string, tag = "1")]
    id: String,
}

/// NOT_FOUND unless the key exists.
pub(crate) fn require<'a, K: AccountKey>(state: &'a State, id: &str) -> Result<&'a K, Status> {
    K::find(state, id).ok_or_else(|| not_found(format!("{} {id} not found", K::NOUN)))
}

/// The service account a key request is about: the named one, or the calling service account.
pub(crate) fn owner(named: &str, principal: &Principal) -> Result<String, Status> {
    match (named.is_empty(), principal) {
        (false, _) => Ok(named.to_owned()),
        (true, Principal::ServiceAccount(id)) => Ok(id.clone()),
        (true, Principal::User(_)) => Err(invalid_argument("service_account_id", "required for user accounts")),
    }
}

/// The answer of an earlier `Create` with the same idempotency key at most
/// [`REPLAY_LIFETIME`](crate::emulator::state::REPLAY_LIFETIME) ago, if the key it made was not
/// deleted since: the key and the secret it handed out.
pub(crate) fn replay<K: AccountKey>(
    state: &State,
    idem: Option<&String>,
    now: &Timestamp,
) -> Option<(K::Proto, String)> {
    let (id, secret) = state.replays.get(idem?, K::SECRET_KIND, now.into())?;
    Some((K::find(state, id)?.to_proto(), secret.to_owned()))
}

impl Svc {
    /// `Create` of every kind, under the state lock: the replay of an earlier create with the same
    /// idempotency key; or the key `make` builds from its new id and the time, stored, and its
    /// secret kept for replays. Answers the key and the secret.
    pub(crate) fn create_key<K: AccountKey>(
        &self,
        idem: Option<String>,
        service_account_id: &str,
        make: impl FnOnce(String, Timestamp) -> Result<(K, String), Status>,
    ) -> Result<(K::Proto, String), Status> {
        let inner = &*self.inner;
        inner.mutate(|state| {
            let now = inner.clock.now();
            if let Some(replayed) = replay::<K>(state, idem.as_ref(), &now) {
                return Ok(replayed);
            }
            let account = require_service_account(state, service_account_id)?;
            if let Some(quota) = K::QUOTA {
                inner.quotas.check_room(quota, state, &account.meta.folder_id)?;
            }
            let id = inner.new_id("aje");
            let (record, secret) = make(id.clone(), now)?;
            let key = record.to_proto();
            K::put(state, record);
            if let Some(idem) = idem {
                state.replays.insert(idem, K::SECRET_KIND, id, &secret, (&now).into());
            }
            Ok((key, secret))
        })
    }

    /// One page of a service account's keys (the caller's own when `named` is empty), and the
    /// next page token.
    pub(crate) fn list_keys<K: AccountKey>(
        &self,
        principal: &Principal,
        named: &str,
        page_size: i64,
        page_token: &str,
    ) -> Result<(Vec<K::Proto>, String), Status> {
        let sa = owner(named, principal)?;
        let items = self.inner.read(|state| {
            require_service_account(state, &sa)?;
            Ok::<_, Status>(
                K::of_account(state, &sa)
                    .map(|k| (k.meta().id.clone(), k.to_proto()))
                    .collect(),
            )
        })?;
        page(items, page_size, page_token)
    }

    /// The key `id` as the API shows it.
    pub(crate) fn get_key<K: AccountKey>(&self, id: &str) -> Result<Response<K::Proto>, Status> {
        self.inner
            .read(|state| require::<K>(state, id).map(K::to_proto))
            .map(Response::new)
    }

    /// Updates the key `id`: `set` applies one field of the mask to the key and answers false for
    /// a field it does not know.
    pub(crate) fn update_key<K: AccountKey>(
        &self,
        call: Call,
        id: String,
        mask: Option<FieldMask>,
        mut set: impl FnMut(&mut K, &str) -> bool + Send,
    ) -> Result<Response<Operation>, Status> {
        self.operation(call, move |_inner, state| {
            let mut updated = require::<K>(state, &id)?.clone();
            apply_mask(mask.as_ref(), K::FIELDS, |path| set(&mut updated, path))?;
            let key = updated.to_proto();
            K::put(state, updated);
            Ok(Outcome {
                description: K::UPDATE_DESCRIPTION,
                metadata: pack(K::UPDATE_METADATA, &KeyIdMetadata { id }),
                response: pack(K::MESSAGE, &key),
            })
        })
    }

    /// Deletes the key `id`.
    pub(crate) fn delete_key<K: AccountKey>(&self, call: Call, id: String) -> Result<Response<Operation>, Status> {
        self.operation(call, move |_inner, state| {
            require::<K>(state, &id)?;
            K::remove(state, &id);
            state.replays.forget_key(&id);
            Ok(Outcome {
                description: K::DELETE_DESCRIPTION,
                metadata: pack(K::DELETE_METADATA, &KeyIdMetadata { id }),
                response: empty_any(),
            })
        })
    }

    /// One page of the update and delete operations of the key `id`, and the next page token.
    pub(crate) fn key_operations<K: AccountKey>(
        &self,
        id: &str,
        page_size: i64,
        page_token: &str,
    ) -> Result<(Vec<Operation>, String), Status> {
        let inner = &*self.inner;
        let items = inner.read(|state| {
            require::<K>(state, id)?;
            let about_key = |type_url: &str, value: &[u8]| {
                let kind = type_url.strip_prefix("type.googleapis.com/");
                [K::UPDATE_METADATA, K::DELETE_METADATA].iter().any(|k| kind == Some(k))
                    && <KeyIdMetadata as prost::Message>::decode(value).is_ok_and(|m| m.id == id)
            };
            Ok::<_, Status>(
                state
                    .operations
                    .values()
                    .filter(|op| about_key(&op.metadata.type_url, &op.metadata.value))
                    .map(|op| (op.id.clone(), op.render(&inner.clock)))
                    .collect(),
            )
        })?;
        page(items, page_size, page_token)
    }
}

//! The three kinds of key a service account has (API keys, authorized keys, static access keys)
//! share one handle, [`AccountKeys`], and one pair of request builders: every kind is read,
//! listed, created (safe to retry, `create_once.rs`), updated and deleted by the same code.
//! `key_kinds.rs` names each kind's messages and RPCs, and the fields only one kind has.

use std::{fmt, future::Future, marker::PhantomData};

use futures_util::TryStreamExt as _;
use prost_types::Timestamp;
use tonic::transport::Channel;

use super::update_mask::{Update, UpdateRequest};
use crate::{
    Client, Error, OperationPayload, Paginator, Validate,
    client::Method,
    operation::Operation,
    paginate::{PageableRequest, PageableResponse},
    proto::yandex::cloud::operation::Operation as RawOperation,
};

/// What a generated client's RPC answers.
type RpcResult<T> = Result<tonic::Response<T>, tonic::Status>;

mod sealed {
    pub trait Sealed {}
}
pub(super) use sealed::Sealed;

/// One kind of key a service account has, named by its message: [`ApiKey`](crate::model::ApiKey),
/// [`Key`](crate::model::Key) (authorized keys) or [`AccessKey`](crate::model::AccessKey) (static
/// access keys). Sealed: the three are all there is.
pub trait AccountKey: Sealed + OperationPayload + Clone + fmt::Debug + Send + Sync + Unpin + 'static {
    /// The new key with its secret, which the API shows only once.
    type Created: fmt::Debug + Send;
    /// The metadata of an update's operation.
    type UpdateMetadata: OperationPayload;
    /// The metadata of a deletion's operation.
    type DeleteMetadata: OperationPayload;

    // The kind's wire messages and RPCs, which the shared code below sends.
    #[doc(hidden)]
    type GetRequest: Validate + Clone + fmt::Debug + Send + Sync;
    #[doc(hidden)]
    type ListRequest: PageableRequest;
    #[doc(hidden)]
    type ListResponse: PageableResponse<Item = Self>;
    #[doc(hidden)]
    type CreateRequest: Validate + Clone + fmt::Debug + Send + Sync;
    #[doc(hidden)]
    type CreateResponse: fmt::Debug + Send;
    #[doc(hidden)]
    type UpdateRequest: UpdateRequest + Validate + Clone + fmt::Debug + Send + Sync;
    #[doc(hidden)]
    type DeleteRequest: Validate + Clone + fmt::Debug + Send + Sync;
    #[doc(hidden)]
    const METHODS: KeyMethods;

    #[doc(hidden)]
    fn get_request(id: String) -> Self::GetRequest;
    #[doc(hidden)]
    fn list_request(service_account_id: String) -> Self::ListRequest;
    #[doc(hidden)]
    fn create_request(service_account_id: String) -> Self::CreateRequest;
    #[doc(hidden)]
    fn update_request(id: String) -> Self::UpdateRequest;
    #[doc(hidden)]
    fn delete_request(id: String) -> Self::DeleteRequest;

    #[doc(hidden)]
    fn get(ch: Channel, r: tonic::Request<Self::GetRequest>) -> impl Future<Output = RpcResult<Self>> + Send;
    #[doc(hidden)]
    fn list(
        ch: Channel,
        r: tonic::Request<Self::ListRequest>,
    ) -> impl Future<Output = RpcResult<Self::ListResponse>> + Send + 'static;
    #[doc(hidden)]
    fn create(
        ch: Channel,
        r: tonic::Request<Self::CreateRequest>,
    ) -> impl Future<Output = RpcResult<Self::CreateResponse>> + Send;
    #[doc(hidden)]
    fn update(
        ch: Channel,
        r: tonic::Request<Self::UpdateRequest>,
    ) -> impl Future<Output = RpcResult<RawOperation>> + Send;
    #[doc(hidden)]
    fn delete(
        ch: Channel,
        r: tonic::Request<Self::DeleteRequest>,
    ) -> impl Future<Output = RpcResult<RawOperation>> + Send;

    /// The new key and its secret, moved out of the reply so that no plain copy is left.
    #[doc(hidden)]
    fn take_created(reply: &mut Self::CreateResponse) -> Result<Self::Created, Error>;
    /// The key inside a created one.
    #[doc(hidden)]
    fn key_of(created: &Self::Created) -> &Self;
    /// The service account a create request makes a key for.
    #[doc(hidden)]
    fn owner(request: &Self::CreateRequest) -> &str;
    /// The key's resource id (what `Get` and `Delete` take).
    #[doc(hidden)]
    fn id(&self) -> &str;
    /// When the server made the key.
    #[doc(hidden)]
    fn created_at(&self) -> Option<&Timestamp>;
    /// Whether the key has every field `request` asked for.
    #[doc(hidden)]
    fn made_by(&self, request: &Self::CreateRequest) -> bool;
    /// The description fields of the create and update requests.
    #[doc(hidden)]
    fn create_description(request: &mut Self::CreateRequest) -> &mut String;
    #[doc(hidden)]
    fn update_description(request: &mut Self::UpdateRequest) -> &mut String;
    /// Completes an update request before it is sent, with fields the API needs in every update
    /// even when they do not change (read from the key when the request leaves them out).
    #[doc(hidden)]
    fn complete_update(
        _keys: &AccountKeys<Self>,
        _request: &mut Self::UpdateRequest,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        async { Ok(()) }
    }
}

/// The calls of one kind of key, as errors name them ("cannot get api key").
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct KeyMethods {
    pub(super) get: Method,
    pub(super) list: Method,
    pub(super) create: Method,
    pub(super) update: Method,
    pub(super) delete: Method,
}

/// The keys of one kind: `client.api_keys()` ([`ApiKeys`](crate::ApiKeys)), `client.keys()`
/// ([`Keys`](crate::Keys)), `client.access_keys()` ([`AccessKeys`](crate::AccessKeys)).
#[derive(Debug, Clone)]
pub struct AccountKeys<K> {
    pub(super) client: Client,
    kind: PhantomData<fn() -> K>,
}

impl<K> AccountKeys<K> {
    pub(crate) fn new(client: Client) -> Self {
        AccountKeys {
            client,
            kind: PhantomData,
        }
    }
}

impl<K: AccountKey> AccountKeys<K> {
    /// The key with this (resource) id; an authorized key comes with its public key.
    pub async fn get(&self, id: impl Into<String>) -> Result<K, Error> {
        let request = K::get_request(id.into());
        let reply = self.client.call(&K::METHODS.get, request, K::get).await?;
        Ok(reply.into_inner())
    }

    /// Every key of this kind a service account has, as a stream.
    pub fn list(&self, service_account_id: impl Into<String>) -> Paginator<K> {
        let request = K::list_request(service_account_id.into());
        self.client.paginate(K::METHODS.list, request, K::list)
    }

    /// Creates a key and returns it with its secret (an authorized key's private key).
    ///
    /// Safe to retry: if an attempt fails in a way that may have created the key anyway, the
    /// retry is followed by a reconciliation that deletes any key made by this call whose secret
    /// was never received, so exactly one new key remains and the caller holds its secret.
    pub async fn create(&self, mut request: CreateAccountKey<K>) -> Result<K::Created, Error> {
        let existing = std::mem::take(&mut request.existing);
        super::create_once::create_once(self, request.into_request(), &existing).await
    }

    /// Changes a key; only the fields the request sets are changed.
    pub async fn update(&self, request: UpdateAccountKey<K>) -> Result<Operation<K, K::UpdateMetadata>, Error> {
        let mut request = request.into_request();
        K::complete_update(self, &mut request).await?;
        let reply = self.client.call(&K::METHODS.update, request, K::update).await?;
        Ok(Operation::from_reply(self.client.clone(), reply))
    }

    /// Deletes the key with this (resource) id.
    pub async fn delete(&self, id: impl Into<String>) -> Result<Operation<(), K::DeleteMetadata>, Error> {
        let request = K::delete_request(id.into());
        let reply = self.client.call(&K::METHODS.delete, request, K::delete).await?;
        Ok(Operation::from_reply(self.client.clone(), reply))
    }

    /// Every key of the service account, collected.
    pub(super) async fn all_of(&self, service_account_id: &str) -> Result<Vec<K>, Error> {
        self.list(service_account_id).try_collect().await
    }
}

/// The request to create a key of kind `K` for a service account: [`CreateApiKey`](crate::CreateApiKey),
/// [`CreateKey`](crate::CreateKey) (an RSA-2048 key pair unless set), [`CreateAccessKey`](crate::CreateAccessKey).
#[derive(Debug, Clone)]
pub struct CreateAccountKey<K: AccountKey> {
    pub(super) request: K::CreateRequest,
    /// Keys known to exist before the create: never deleted by its reconciliation.
    pub(super) existing: Vec<String>,
}

impl<K: AccountKey> CreateAccountKey<K> {
    /// A key for service account `service_account_id`.
    pub fn new(service_account_id: impl Into<String>) -> Self {
        CreateAccountKey {
            request: K::create_request(service_account_id.into()),
            existing: Vec::new(),
        }
    }

    /// The description (up to 256 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        *K::create_description(&mut self.request) = description.into();
        self
    }

    /// Keys (resource ids) the caller knows the account had before this call. After a failure
    /// that may have made a key anyway, the create deletes the keys like this one made around the
    /// time of the call whose secret never arrived; it reads that time on the server's clock, to
    /// within about a second, so a key made just before the call could look like one of them.
    /// The keys named here are never deleted.
    pub fn existing_keys<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        self.existing.extend(ids.into_iter().map(Into::into));
        self
    }

    /// The wire request.
    pub fn into_request(self) -> K::CreateRequest {
        self.request
    }
}

/// The request to change a key of kind `K`; only the fields set are changed:
/// [`UpdateApiKey`](crate::UpdateApiKey), [`UpdateKey`](crate::UpdateKey),
/// [`UpdateAccessKey`](crate::UpdateAccessKey).
#[derive(Debug, Clone)]
pub struct UpdateAccountKey<K: AccountKey>(pub(super) Update<K::UpdateRequest>);

impl<K: AccountKey> UpdateAccountKey<K> {
    /// A change to the key whose resource id is `id`.
    pub fn new(id: impl Into<String>) -> Self {
        UpdateAccountKey(Update::new(K::update_request(id.into())))
    }

    /// A new description.
    pub fn description(self, description: impl Into<String>) -> Self {
        Self(
            self.0
                .set("description", |r| *K::update_description(r) = description.into()),
        )
    }

    /// The wire request (with its field mask).
    pub fn into_request(self) -> K::UpdateRequest {
        self.0.into_request()
    }
}

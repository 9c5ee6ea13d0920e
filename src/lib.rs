//! yc-iam: provision Yandex Cloud service accounts, role bindings and scoped API keys over gRPC.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod audit;
mod bounded;
pub mod config;
pub mod duration;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod fleet;
pub mod proto;
mod validate;

pub mod auth;
mod client;
mod error;
pub mod model;
mod operation;
mod paginate;
mod private_file;
pub mod provision;
mod retry;
pub mod rotate;
mod secret;
mod services;
mod timestamp;

pub use auth::{AuthorizedKey, Credentials};
pub use client::{Client, ClientBuilder, DEFAULT_ENDPOINT};
pub use error::{Error, ErrorKind};
pub use operation::{Operation, OperationPayload};
pub use paginate::Paginator;
pub use retry::RetryPolicy;
pub use secrecy::{self, ExposeSecret, SecretString};
pub use services::{
    AccessBindingsOperation, AccessKeys, AccountKey, AccountKeys, AddVersion, ApiKeys, Clouds, CreateAccessKey,
    CreateAccountKey, CreateApiKey, CreateKey, CreateNamed, CreateSecret, CreateServiceAccount, CreatedAccessKey,
    CreatedApiKey, CreatedKey, Folders, Keys, Lockbox, Operations, SecretRef, ServiceAccounts, UpdateAccessKey,
    UpdateAccountKey, UpdateApiKey, UpdateKey, UpdateNamed, UpdateSecret, UpdateServiceAccount,
};
pub use validate::{Validate, Violation};

/// The README's examples, compiled as doc tests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

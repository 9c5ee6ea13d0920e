//! The request builders of the resources that have a folder, a name, a description and labels
//! (service accounts, Lockbox secrets): one builder to create and one to change such a resource,
//! and each kind's own fields on top.

use std::collections::BTreeMap;

use super::update_mask::{Update, UpdateRequest};

/// The create request of a named resource.
pub trait NamedCreateRequest {
    #[doc(hidden)]
    fn of(folder_id: String, name: String) -> Self;
    #[doc(hidden)]
    fn description(&mut self) -> &mut String;
    #[doc(hidden)]
    fn labels(&mut self) -> &mut BTreeMap<String, String>;
    /// Completes the request before it is sent.
    #[doc(hidden)]
    fn finish(&mut self) {}
}

/// The update request of a named resource.
pub trait NamedUpdateRequest: UpdateRequest {
    #[doc(hidden)]
    fn of(id: String) -> Self;
    #[doc(hidden)]
    fn name(&mut self) -> &mut String;
    #[doc(hidden)]
    fn description(&mut self) -> &mut String;
    #[doc(hidden)]
    fn labels(&mut self) -> &mut BTreeMap<String, String>;
}

/// The request to create a named resource ([`CreateServiceAccount`](crate::CreateServiceAccount),
/// [`CreateSecret`](crate::CreateSecret)): folder and name, optionally a description, labels and
/// the kind's own fields.
#[derive(Debug, Clone)]
pub struct CreateNamed<R> {
    pub(super) request: R,
}

impl<R: NamedCreateRequest> CreateNamed<R> {
    /// A resource named `name` in folder `folder_id`.
    pub fn new(folder_id: impl Into<String>, name: impl Into<String>) -> Self {
        CreateNamed {
            request: R::of(folder_id.into(), name.into()),
        }
    }

    /// The description (up to 256 characters for a service account, 1024 for a secret).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        *self.request.description() = description.into();
        self
    }

    /// The labels, replacing any set before.
    pub fn labels<K: Into<String>, V: Into<String>>(mut self, labels: impl IntoIterator<Item = (K, V)>) -> Self {
        *self.request.labels() = super::label_map(labels);
        self
    }

    /// One more label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.labels().insert(key.into(), value.into());
        self
    }

    /// The wire request.
    pub fn into_request(mut self) -> R {
        self.request.finish();
        self.request
    }
}

/// The request to change a named resource ([`UpdateServiceAccount`](crate::UpdateServiceAccount),
/// [`UpdateSecret`](crate::UpdateSecret)); only the fields set are changed.
#[derive(Debug, Clone)]
pub struct UpdateNamed<R>(pub(super) Update<R>);

impl<R: NamedUpdateRequest> UpdateNamed<R> {
    /// A change to the resource with this id.
    pub fn new(id: impl Into<String>) -> Self {
        UpdateNamed(Update::new(R::of(id.into())))
    }

    /// A new name.
    pub fn name(self, name: impl Into<String>) -> Self {
        Self(self.0.set("name", |r| *r.name() = name.into()))
    }

    /// A new description.
    pub fn description(self, description: impl Into<String>) -> Self {
        Self(self.0.set("description", |r| *r.description() = description.into()))
    }

    /// New labels (replacing all).
    pub fn labels<K: Into<String>, V: Into<String>>(self, labels: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(self.0.set("labels", |r| *r.labels() = super::label_map(labels)))
    }

    /// The wire request (with its field mask).
    pub fn into_request(self) -> R {
        self.0.into_request()
    }
}

/// Names the fields of a named resource's create request `C` and update request `U` (whose
/// resource id is the field `id`); `finish` completes a create request before it is sent.
macro_rules! named_requests {
    ($create:ty, $update:ident($id:ident) $(, finish: $finish:path)?) => {
        impl $crate::services::named::NamedCreateRequest for $create {
            fn of(folder_id: String, name: String) -> Self {
                Self {
                    folder_id,
                    name,
                    ..Default::default()
                }
            }
            fn description(&mut self) -> &mut String {
                &mut self.description
            }
            fn labels(&mut self) -> &mut std::collections::BTreeMap<String, String> {
                &mut self.labels
            }
            $(fn finish(&mut self) {
                $finish(self)
            })?
        }
        $crate::services::update_mask::update_request!($update);
        impl $crate::services::named::NamedUpdateRequest for $update {
            fn of($id: String) -> Self {
                Self {
                    $id,
                    ..Default::default()
                }
            }
            fn name(&mut self) -> &mut String {
                &mut self.name
            }
            fn description(&mut self) -> &mut String {
                &mut self.description
            }
            fn labels(&mut self) -> &mut std::collections::BTreeMap<String, String> {
                &mut self.labels
            }
        }
    };
}
pub(super) use named_requests;

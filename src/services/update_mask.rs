//! Update requests built as the caller sets fields: each field set joins the request's field
//! mask, so that only those fields are changed on the server.

use prost_types::FieldMask;

/// A wire update request, which carries the mask of the fields it changes.
pub trait UpdateRequest {
    fn update_mask(&mut self) -> &mut Option<FieldMask>;
}

/// An update request being built: the request and the paths set so far, each once, in the order
/// they were set.
#[derive(Debug, Clone)]
pub(crate) struct Update<R> {
    request: R,
    paths: Vec<&'static str>,
}

impl<R: UpdateRequest> Update<R> {
    /// An update of the resource `request` names that changes nothing yet.
    pub(crate) fn new(request: R) -> Self {
        Update {
            request,
            paths: Vec::new(),
        }
    }

    /// Sets the field at `path`: `write` puts its new value in the request.
    pub(crate) fn set(mut self, path: &'static str, write: impl FnOnce(&mut R)) -> Self {
        write(&mut self.request);
        if !self.paths.contains(&path) {
            self.paths.push(path);
        }
        self
    }

    /// The wire request with its field mask.
    pub(crate) fn into_request(mut self) -> R {
        *self.request.update_mask() = Some(FieldMask {
            paths: self.paths.into_iter().map(str::to_owned).collect(),
        });
        self.request
    }
}

/// Names the field mask of an update request.
macro_rules! update_request {
    ($request:ty) => {
        impl $crate::services::update_mask::UpdateRequest for $request {
            fn update_mask(&mut self) -> &mut Option<prost_types::FieldMask> {
                &mut self.update_mask
            }
        }
    };
}
pub(super) use update_request;

//! The field mask of an update request, built as the caller sets fields, so that only those
//! fields are changed on the server.

/// The paths an update builder has touched, each once, in the order they were set.
#[derive(Debug, Clone, Default)]
pub(crate) struct UpdateMask(Vec<&'static str>);

impl UpdateMask {
    /// Marks `path` as changed.
    pub(crate) fn touch(&mut self, path: &'static str) {
        if !self.0.contains(&path) {
            self.0.push(path);
        }
    }

    /// The mask as the wire carries it.
    pub(crate) fn into_field_mask(self) -> prost_types::FieldMask {
        prost_types::FieldMask {
            paths: self.0.into_iter().map(str::to_owned).collect(),
        }
    }
}

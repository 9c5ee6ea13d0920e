//! The generated wire types and gRPC stubs: the only place generated code is included.

#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

include!(concat!(env!("OUT_DIR"), "/yc_iam_proto.rs"));
include!(concat!(env!("OUT_DIR"), "/yc_iam_validate.rs"));

mod redact;

/// The compiled descriptor set of every proto in `proto/`, with the `yandex.cloud` options kept.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/yc_iam_descriptor.bin"));

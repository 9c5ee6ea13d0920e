//! yc-iam: provision Yandex Cloud service accounts, role bindings and scoped API keys over gRPC.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod proto;

//! Compiles the hand-written protos in `proto/` with protox (pure Rust, no `protoc`) and generates
//! prost messages plus tonic client stubs, and server stubs when the `emulator` feature is on.

use std::{env, error::Error, path::PathBuf};

#[path = "build/validation.rs"]
mod validation;

const PROTOS: &[&str] = &[
    "yandex/cloud/validation.proto",
    "yandex/cloud/api/operation.proto",
    "yandex/cloud/operation/operation.proto",
    "yandex/cloud/operation/operation_service.proto",
    "yandex/cloud/access/access.proto",
    "yandex/cloud/iam/v1/service_account.proto",
    "yandex/cloud/iam/v1/service_account_service.proto",
    "yandex/cloud/iam/v1/api_key.proto",
    "yandex/cloud/iam/v1/api_key_service.proto",
    "yandex/cloud/iam/v1/iam_token_service.proto",
    "yandex/cloud/resourcemanager/v1/folder.proto",
    "yandex/cloud/resourcemanager/v1/folder_service.proto",
    "yandex/cloud/resourcemanager/v1/cloud.proto",
    "yandex/cloud/resourcemanager/v1/cloud_service.proto",
    "yandex/cloud/endpoint/api_endpoint.proto",
    "yandex/cloud/endpoint/api_endpoint_service.proto",
    "yandex/cloud/iam/v1/key.proto",
    "yandex/cloud/iam/v1/key_service.proto",
    "yandex/cloud/iam/v1/awscompatibility/access_key.proto",
    "yandex/cloud/iam/v1/awscompatibility/access_key_service.proto",
    "yandex/cloud/lockbox/v1/secret.proto",
    "yandex/cloud/lockbox/v1/secret_service.proto",
    "yandex/cloud/lockbox/v1/payload.proto",
    "yandex/cloud/lockbox/v1/payload_service.proto",
    "yandex/cloud/ai/foundation_models/v1/text_common.proto",
    "yandex/cloud/ai/foundation_models/v1/text_generation/text_generation_service.proto",
    "google/protobuf/empty.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
];

/// Messages that carry secrets: their `Debug` is written by hand in `src/proto/redact.rs`.
const SECRET_MESSAGES: &[&str] = &[
    ".yandex.cloud.iam.v1.CreateApiKeyResponse",
    ".yandex.cloud.iam.v1.CreateIamTokenRequest",
    ".yandex.cloud.iam.v1.CreateIamTokenResponse",
    ".yandex.cloud.iam.v1.CreateKeyResponse",
    ".yandex.cloud.iam.v1.awscompatibility.CreateAccessKeyResponse",
    ".yandex.cloud.lockbox.v1.Payload.Entry",
    ".yandex.cloud.lockbox.v1.PayloadEntryChange",
    ".yandex.cloud.lockbox.v1.GetExResponse",
];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=build");
    let out = PathBuf::from(env::var("OUT_DIR")?);

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true);
    compiler.open_files(PROTOS)?;
    // The encoded set keeps the `yandex.cloud` options; the library reads its rules from it.
    std::fs::write(out.join("yc_iam_descriptor.bin"), compiler.encode_file_descriptor_set())?;
    std::fs::write(
        out.join("yc_iam_validate.rs"),
        validation::generate(&compiler.descriptor_pool())?,
    )?;

    tonic_prost_build::configure()
        .build_server(env::var_os("CARGO_FEATURE_EMULATOR").is_some())
        .btree_map(".")
        .skip_debug(SECRET_MESSAGES.iter().copied())
        .include_file("yc_iam_proto.rs")
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}

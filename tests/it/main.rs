//! The one integration-test binary: every suite is a module here, so the crate links once.

mod audit;
mod cli;
mod client;
mod common;
mod descriptors;
mod emulator;
mod fleet_apply;
mod fleet_manifest;
mod props;
mod provision;
mod provision_sinks;
mod reliability;
mod replacement;
mod rotate;
mod secret_debug;
mod spawned;
mod validation;
mod wire;

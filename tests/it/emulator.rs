//! The emulator on its own: every behaviour driven through the raw generated client stubs, not the
//! facade, so its fidelity to the real API is tested independently of our client.

mod access_bindings;
mod access_keys;
mod api_keys;
mod auth;
mod authorized_keys;
mod cli;
mod clock;
mod faults;
mod foundation_models;
mod fuzz;
mod headers;
mod lockbox_payloads;
mod lockbox_secrets;
mod lockbox_versions;
mod operations;
mod python_sdk;
mod quotas;
mod resources;
mod robustness;
mod service_accounts;
mod state;
mod support;
mod tls;
mod unauthenticated_load;

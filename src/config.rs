//! Configuration the way a Yandex Cloud user already has it: command-line values, `YC_*`
//! environment variables, and the yc CLI's own profile file, resolved in that order of
//! precedence.
//!
//! This lives in the library, not the CLI, so a backend can read the same sources:
//!
//! ```no_run
//! use yc_iam::config::{Layer, YcConfig, resolve};
//!
//! # fn main() -> Result<(), yc_iam::config::ConfigError> {
//! let env = Layer::from_env(|name| std::env::var(name).ok())?;
//! let file = YcConfig::load_default()?;
//! let settings = resolve(Layer::default(), env, file.as_ref())?;
//! println!("endpoint {} (from {})", settings.endpoint.value, settings.endpoint.source);
//! let client = settings.client_builder().build();
//! # let _ = client;
//! # Ok(())
//! # }
//! ```

mod error;
mod file;
mod resolve;

pub use error::ConfigError;
pub use file::{Profile, YcConfig};
pub use resolve::{Credential, Layer, Resolved, Settings, Source, load_key_file, resolve};

/// The default API endpoint, used when no layer names one (the client's default).
pub const DEFAULT_ENDPOINT: &str = crate::DEFAULT_ENDPOINT;

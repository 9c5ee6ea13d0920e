//! `yc-iam create-token`: an IAM token for the configured credentials, on stdout.

use secrecy::ExposeSecret;

use super::connect;
use crate::error::{CliError, CliResult};
use crate::settings::Settings;

pub(crate) async fn run(settings: &Settings) -> CliResult {
    let session = connect(settings).await?;
    let token = session.client.iam_token().await.map_err(|e| CliError::api(None, &e))?;
    crate::output::write_stdout(&format!("{}\n", token.expose_secret()))?;
    session.close().await;
    Ok(())
}

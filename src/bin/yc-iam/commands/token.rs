//! `yc-iam create-token`: an IAM token for the configured credentials, on stdout.

use secrecy::ExposeSecret;

use crate::error::CliResult;
use crate::session::connect;
use crate::settings::Settings;

pub(crate) async fn run(settings: &Settings) -> CliResult {
    let session = connect(settings).await?;
    let token = session.iam_token().await?;
    crate::output::write_stdout(&format!("{}\n", token.expose_secret()))?;
    Ok(())
}

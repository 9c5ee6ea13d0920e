//! `yc-iam operation get|wait <ID>`.

use std::pin::pin;
use yc_iam::proto::yandex::cloud::operation::operation;

use crate::cli::OperationCommand;
use crate::error::{CliError, CliResult};
use crate::output::{self, OperationView};
use crate::progress;
use crate::session::connect;
use crate::settings::Settings;
use yc_iam::provision::check_id;

pub(crate) async fn run(settings: &Settings, cmd: OperationCommand) -> CliResult {
    let (id, wait) = match &cmd {
        OperationCommand::Get { id } => (id, false),
        OperationCommand::Wait { id } => (id, true),
    };
    check_id("<ID>", id)?;
    let session = connect(settings).await?;
    let op = if wait {
        progress::show("waiting for operation", pin!(session.operations().wait(id))).await
    } else {
        session.operations().get(id).await
    }?;
    output::print_one(settings.format, &OperationView::from(&op))?;
    if let (true, Some(operation::Result::Error(status))) = (wait, &op.result) {
        return Err(CliError::failure(format!("operation {id} failed: {}", status.message)));
    }
    Ok(())
}

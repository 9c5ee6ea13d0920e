//! `yc-iam operation get|wait <ID>`.

use yc_iam::proto::yandex::cloud::operation::operation;

use super::{connect, log_request};
use crate::cli::OperationCommand;
use crate::error::{CliError, CliResult};
use crate::output::{self, OperationView};
use crate::progress;
use crate::settings::{Settings, check_id};

pub(crate) async fn run(settings: &Settings, cmd: OperationCommand) -> CliResult {
    let (id, wait) = match &cmd {
        OperationCommand::Get { id } => (id, false),
        OperationCommand::Wait { id } => (id, true),
    };
    check_id("<ID>", id)?;
    let session = connect(settings).await?;
    log_request(
        if wait {
            "OperationService.Get (wait)"
        } else {
            "OperationService.Get"
        },
        id,
    );
    let op = if wait {
        progress::show("waiting for operation", session.client.operations().wait(id)).await
    } else {
        session.client.operations().get(id).await
    }
    .map_err(|e| CliError::api(None, &e))?;
    output::print_one(settings.format, &OperationView::from(&op))?;
    session.close().await;
    if let (true, Some(operation::Result::Error(status))) = (wait, &op.result) {
        return Err(CliError::failure(format!("operation {id} failed: {}", status.message)));
    }
    Ok(())
}

//! Applying a rotation [`Plan`]: deletions first, then each new key through the provisioning flow
//! with the replaced key kept (the grace). A failure is recorded on its key and the run goes on.

use std::sync::Arc;

use super::{Action, Entry, Plan, Report};
use crate::Client;
use crate::provision::{KeyAction, KeyPlan, KeyType, ManagedKey, Provision, ProvisionError};
use crate::timestamp::{from_timestamp, later};

impl Plan {
    /// Makes the changes this plan lists: deletes the keys whose deletion is due (and those an
    /// interrupted run left), then makes each rotating key's successor and puts it in its sink,
    /// keeping the old key until a later run finds its grace over.
    ///
    /// Each change is on its own: one that fails is an entry with [`Action::Failed`] and its
    /// error, and the others still run. Running the rotation again picks up where it stopped.
    pub async fn apply(self, client: &Client) -> Report {
        let Plan {
            now,
            grace,
            mut entries,
            steps,
        } = self;
        for step in steps {
            let Some(entry) = entries.iter_mut().find(|e| e.key.id == step.key_id) else {
                continue;
            };
            match step.rotate {
                None => {
                    if let Some((sink, secret_id)) = &step.lockbox {
                        // A version left active names this key: scheduled first, or the key
                        // stays so that the next run tries again.
                        if let Err(e) = crate::provision::retire_replaced_versions(client, sink, secret_id).await {
                            fail(entry, e);
                            continue;
                        }
                    }
                    if let Err(source) = step.kind.delete(client, &step.key_id).await {
                        let step = format!("cannot delete {} {}", step.kind.describe(), step.key_id);
                        fail(
                            entry,
                            ProvisionError::Api {
                                step,
                                source,
                                partial: None,
                            },
                        );
                    }
                }
                Some(inputs) => match successor(client, &inputs, &step.key_id).await {
                    Ok(new) => {
                        entry.deletion_due = new
                            .created_at
                            .as_ref()
                            .and_then(from_timestamp)
                            .and_then(|at| later(at, grace));
                        entry.new_key_id = Some(new.id);
                    }
                    Err(e) => fail(entry, e),
                },
            }
        }
        Report { now, grace, entries }
    }
}

fn fail(entry: &mut Entry, error: ProvisionError) {
    entry.action = Action::Failed;
    entry.error = Some(Arc::new(error));
}

/// Makes `old`'s successor in its sink through the provisioning flow and returns it; `old` is
/// kept. The flow reads the sink again first: when it no longer holds `old` (another run or a
/// person changed it since the plan), nothing is made.
async fn successor(client: &Client, inputs: &Provision, old: &str) -> Result<ManagedKey, ProvisionError> {
    let mut plan = inputs.plan(client).await?;
    match &plan.key {
        KeyPlan::Create { replaces: Some(id), .. } if id == old => {}
        _ => return Err(changed(old, inputs.key_type)),
    }
    // The replaced key stays for the grace; a later run deletes it. Keys an interrupted run left
    // were deleted by the steps before this one.
    plan.keys_to_delete.clear();
    match plan.apply(client).await?.key {
        Some(KeyAction::Created { key, .. }) => Ok(key),
        _ => Err(changed(old, inputs.key_type)),
    }
}

/// The error of a sink that no longer holds the key the plan was to replace.
fn changed(old: &str, kind: KeyType) -> ProvisionError {
    let why = crate::Error::new(
        crate::ErrorKind::Other,
        "rotate",
        "its sink no longer holds it: nothing was made",
    );
    ProvisionError::Api {
        step: format!("cannot rotate {} {old}", kind.describe()),
        source: why,
        partial: None,
    }
}

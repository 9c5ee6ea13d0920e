//! `--output` and the flags that shape its sink, turned into the library's `KeySink`. A flag
//! that does not apply to the chosen output is refused rather than ignored.

use std::path::PathBuf;
use yc_iam::model::Subject;

use yc_iam::provision::{EntryNames, KeySink, LockboxSink, default_output};

use crate::cli::ProvisionArgs;
use crate::error::{CliError, CliResult};
use crate::input::{EntryRole, OutputArg};

pub(super) fn key_sink(args: &ProvisionArgs) -> CliResult<KeySink> {
    let applies = |given: bool, flag: &str, outputs: &str| {
        if given {
            Err(CliError::usage(format!(
                "invalid {flag}: applies only to {outputs} outputs"
            )))
        } else {
            Ok(())
        }
    };
    let lockbox_only = |given: bool, flag: &str| applies(given, flag, "lockbox://");
    let kind = args.key_type;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| OutputArg::File(PathBuf::from(default_output(kind))));
    if !matches!(output, OutputArg::Lockbox(_)) {
        lockbox_only(args.lockbox_folder_id.is_some(), "--lockbox-folder-id")?;
        lockbox_only(!args.lockbox_reader.is_empty(), "--lockbox-reader")?;
        lockbox_only(args.lockbox_pending_period.is_some(), "--lockbox-pending-period")?;
    }
    if !matches!(output, OutputArg::File(_)) {
        applies(args.aws_profile.is_some(), "--aws-profile", "file")?;
    }
    if !matches!(output, OutputArg::K8s(_)) {
        applies(args.k8s_secret_name.is_some(), "--k8s-secret-name", "k8s:")?;
    }
    Ok(match &output {
        OutputArg::File(path) => {
            applies(!args.entry.is_empty(), "--entry", "env:, k8s: and lockbox://")?;
            KeySink::File(path.clone())
        }
        OutputArg::Stdout => {
            applies(!args.entry.is_empty(), "--entry", "env:, k8s: and lockbox://")?;
            KeySink::Caller
        }
        OutputArg::Env(path) => KeySink::Env {
            path: path.clone(),
            entries: entries(EntryNames::env_for(kind), &args.entry),
        },
        OutputArg::K8s(path) => KeySink::K8s {
            path: path.clone(),
            secret_name: args.k8s_secret_name.clone(),
            entries: entries(EntryNames::env_for(kind), &args.entry),
        },
        OutputArg::Lockbox(name_or_id) => {
            let mut sink =
                LockboxSink::new(name_or_id.clone()).entries(entries(EntryNames::lockbox_for(kind), &args.entry));
            if let Some(folder) = &args.lockbox_folder_id {
                sink = sink.in_folder(folder.clone());
            }
            if let Some(period) = args.lockbox_pending_period {
                sink = sink.pending_period(period);
            }
            for reader in &args.lockbox_reader {
                sink = sink.reader(Subject {
                    id: reader.id.clone(),
                    r#type: reader.kind.clone(),
                });
            }
            KeySink::Lockbox(sink)
        }
    })
}

/// `defaults` with the names `--entry` gives.
fn entries(mut names: EntryNames, given: &[(EntryRole, String)]) -> EntryNames {
    for (role, name) in given {
        let slot = match role {
            EntryRole::ApiKey => &mut names.api_key,
            EntryRole::ApiKeyId => &mut names.api_key_id,
            EntryRole::FolderId => &mut names.folder_id,
        };
        slot.clone_from(name);
    }
    names
}

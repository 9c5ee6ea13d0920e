//! `yc-iam provision`: the library's flow (`yc_iam::provision`), its input checked first and its
//! report rendered for people or machines. The secret is printed only with `--output -`.

use std::path::Path;

use secrecy::ExposeSecret;
use serde::Serialize;
use yc_iam::provision::{KeyAction, Provision, Report};

use super::api_key::expiry;
use super::connect;
use crate::cli::{Format, ProvisionArgs};
use crate::error::{CliError, CliResult};
use crate::output::{self, rfc3339, timestamp};
use crate::progress;
use crate::settings::{Settings, flag_error};

pub(crate) async fn run(settings: &Settings, args: ProvisionArgs) -> CliResult {
    // Everything is checked before anything is sent.
    let folder_id = settings.folder_id()?;
    let mut p = Provision::new(folder_id, args.name.clone()).rotate(args.rotate);
    if let Some(d) = &args.description {
        p = p.description(d.clone());
    }
    if let Some(labels) = &args.labels {
        p = p.labels(labels.clone());
    }
    if !args.role.is_empty() {
        p = p.roles(args.role.clone());
    }
    let scopes: Vec<String> = args.scope.iter().chain(&args.scopes).cloned().collect();
    if !scopes.is_empty() {
        p = p.scopes(scopes);
    }
    if let Some(d) = &args.key_description {
        p = p.key_description(d.clone());
    }
    if let Some(at) = expiry(&args.expiry)? {
        p = p.expires_at(at);
    }
    if let Some(cloud) = &settings.cloud_id_flag {
        p = p.grant_on_cloud(cloud.clone());
    }
    let to_stdout = args.output == Path::new("-");
    p = if to_stdout {
        p.output_to_caller()
    } else {
        p.output_file(args.output.clone())
    };
    p.validate().map_err(|e| flag_error(&e))?;

    let session = connect(settings).await?;
    let label = if args.dry_run { "planning" } else { "provisioning" };
    let work = async {
        if args.dry_run {
            p.plan(&session.client).await
        } else {
            p.run(&session.client).await
        }
    };
    let report = progress::show(label, work).await.map_err(|e| {
        let invalid = e.is_invalid_input();
        let mut err = match e.api_error() {
            Some(api) => {
                let mut err = CliError::failure(crate::error::chain(&e));
                err.add_ids(api);
                err
            }
            None => CliError::failure(crate::error::chain(&e)),
        };
        if invalid {
            err = err.with_exit(crate::error::EXIT_USAGE);
        }
        err
    })?;
    session.close().await;

    if let Some(key) = &report.secret_for_caller {
        // `--output -`: the key file's content on stdout, the summary on stderr.
        let doc = KeyDoc {
            api_key: KeyDocInner {
                id: key.id.clone(),
                service_account_id: key.service_account_id.clone(),
                created_at: key.created_at.clone(),
                scopes: key.scopes.clone(),
                expires_at: key.expires_at.map(rfc3339),
            },
            secret: key.secret.expose_secret(),
        };
        let f = if settings.format == Format::Json {
            Format::Json
        } else {
            Format::Yaml
        };
        output::write_document(&mut std::io::stdout().lock(), f, &doc)?;
        eprint!("{}", text(&report, &args.output));
        return Ok(());
    }
    match settings.format {
        Format::Text => output::write_stdout(&text(&report, &args.output))?,
        f => output::print_one(f, &view(&report, &args.output))?,
    }
    Ok(())
}

#[derive(Serialize)]
struct KeyDoc<'a> {
    api_key: KeyDocInner,
    secret: &'a str,
}

#[derive(Serialize)]
struct KeyDocInner {
    id: String,
    service_account_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

/// The machine shape of the report (documented in the README).
#[derive(Serialize)]
struct ReportView {
    dry_run: bool,
    up_to_date: bool,
    service_account: AccountView,
    bindings: BindingsView,
    api_key: KeyView,
    deleted_api_keys: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    undeleted_api_keys: Vec<String>,
}

#[derive(Serialize)]
struct AccountView {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    name: String,
    folder_id: String,
    action: &'static str,
}

#[derive(Serialize)]
struct BindingsView {
    resource_type: &'static str,
    resource_id: String,
    added: Vec<String>,
    present: Vec<String>,
}

#[derive(Serialize)]
struct KeyView {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    file: String,
}

fn view(r: &Report, output: &Path) -> ReportView {
    let sa_action = match (r.service_account_created, r.dry_run) {
        (true, true) => "create",
        (true, false) => "created",
        (false, _) => "existing",
    };
    let key = match &r.key {
        KeyAction::Kept { key } => KeyView {
            id: Some(key.id.clone()),
            action: if r.dry_run { "keep" } else { "kept" },
            reason: None,
            replaces: None,
            scopes: key.scopes.clone(),
            expires_at: timestamp(key.expires_at.as_ref()),
            file: output.display().to_string(),
        },
        KeyAction::Created { key, reason, replaces } => KeyView {
            id: key.as_ref().map(|k| k.id.clone()),
            action: if r.dry_run { "create" } else { "created" },
            reason: Some(reason.describe()),
            replaces: replaces.clone(),
            scopes: key.as_ref().map(|k| k.scopes.clone()).unwrap_or_default(),
            expires_at: key.as_ref().and_then(|k| timestamp(k.expires_at.as_ref())),
            file: output.display().to_string(),
        },
        _ => KeyView {
            id: None,
            action: "unknown",
            reason: None,
            replaces: None,
            scopes: Vec::new(),
            expires_at: None,
            file: output.display().to_string(),
        },
    };
    ReportView {
        dry_run: r.dry_run,
        up_to_date: !r.changed(),
        service_account: AccountView {
            id: r.service_account.as_ref().map(|sa| sa.id.clone()),
            name: r.name.clone(),
            folder_id: r
                .service_account
                .as_ref()
                .map(|sa| sa.folder_id.clone())
                .unwrap_or_default(),
            action: sa_action,
        },
        bindings: BindingsView {
            resource_type: r.grant.kind(),
            resource_id: r.grant.id().to_owned(),
            added: r.roles_added.clone(),
            present: r.roles_present.clone(),
        },
        api_key: key,
        deleted_api_keys: r.keys_deleted.clone(),
        undeleted_api_keys: r.keys_not_deleted.iter().map(|(id, _)| id.clone()).collect(),
    }
}

/// The text report: a headline, then aligned lines per step.
fn text(r: &Report, output: &Path) -> String {
    let v = view(r, output);
    let would = |done: &str, planned: &str| if r.dry_run { planned.to_owned() } else { done.to_owned() };
    let mut lines: Vec<(String, String)> = Vec::new();
    let sa = match &v.service_account.id {
        Some(id) => format!("{} ({id})", v.service_account.name),
        None => v.service_account.name.clone(),
    };
    let sa_state = if r.service_account_created {
        would("created", "will be created")
    } else {
        "exists".to_owned()
    };
    lines.push(("service account".into(), format!("{sa}: {sa_state}")));
    let on = format!("on {} {}", v.bindings.resource_type, v.bindings.resource_id);
    for role in &v.bindings.added {
        lines.push((
            "role".into(),
            format!("{role} {on}: {}", would("added", "will be added")),
        ));
    }
    for role in &v.bindings.present {
        lines.push(("role".into(), format!("{role} {on}: present")));
    }
    let key_line = match &r.key {
        KeyAction::Kept { key } => format!("{} in {}: kept (valid, scopes match)", key.id, output.display()),
        KeyAction::Created { key, reason, replaces } => {
            let id = key.as_ref().map(|k| k.id.clone()).unwrap_or_else(|| "new key".into());
            let dest = if output == Path::new("-") {
                "printed to stdout".to_owned()
            } else {
                format!("written to {}", output.display())
            };
            let mut s = if r.dry_run {
                format!(
                    "a new key will be created and written to {} ({})",
                    output.display(),
                    reason.describe()
                )
            } else {
                format!("{id}: created, {dest} ({})", reason.describe())
            };
            if let Some(old) = replaces {
                s.push_str(&format!("; replaces {old}"));
            }
            s
        }
        _ => String::new(),
    };
    lines.push(("api key".into(), key_line));
    for id in &r.keys_deleted {
        lines.push((
            "deleted key".into(),
            if r.dry_run {
                format!("{id}: will be deleted")
            } else {
                format!("{id}: deleted")
            },
        ));
    }
    for (id, why) in &r.keys_not_deleted {
        lines.push(("warning".into(), format!("key {id} could not be deleted: {why}")));
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    out.push_str(if r.dry_run {
        "Plan (dry run, nothing changed):\n"
    } else if r.changed() {
        "Provisioned:\n"
    } else {
        "Up to date: nothing to change.\n"
    });
    for (k, v) in lines {
        out.push_str(&format!("  {:<width$} {v}\n", format!("{k}:")));
    }
    if !r.dry_run && output != Path::new("-") {
        out.push_str(&format!(
            "Use the key as the header `Authorization: Api-Key <secret>`; the secret is the `secret` field of {}.\n",
            output.display()
        ));
    }
    out
}

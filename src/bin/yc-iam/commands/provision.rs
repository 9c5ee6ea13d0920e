//! `yc-iam provision`: the library's flow (`yc_iam::provision`), its input checked first and its
//! report rendered for people or machines. The secret is printed only with `--output -`.

mod sink;

use serde::Serialize;
use std::pin::pin;
use yc_iam::provision::{
    AccountPlan, KeyAction, KeyFileError, KeyPlan, KeySink, KeyType, LockboxPlan, LockboxReport, LockboxSecret,
    ManagedKey, Plan, Provision, ProvisionError, Report, SecretPlan, Verify,
};

use super::api_key::expiry;
use crate::cli::{Format, ProvisionArgs};
use crate::error::{CliError, CliResult, flag};
use crate::output::{self, timestamp};
use crate::progress;
use crate::session::connect;
use crate::settings::Settings;

pub(crate) async fn run(settings: &Settings, args: ProvisionArgs) -> CliResult {
    // Everything is checked before anything is sent.
    let folder_id = settings.folder_id()?;
    let mut p = Provision::new(folder_id, args.name.clone())
        .key_type(args.key_type)
        .rotate(args.rotate);
    if let Some(algorithm) = args.key_algorithm {
        p = p.key_algorithm(algorithm);
    }
    if let Some(profile) = &args.aws_profile {
        p = p.aws_profile(profile.clone());
    }
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
    p = p.output(sink::key_sink(&args)?);
    if let Some(verify) = verify_of(&args) {
        p = p.verify(verify);
    }
    let to_stdout = p.output == KeySink::Caller;
    p.validate()?;
    let output = p.output.to_string();

    let session = connect(settings).await?;
    if args.dry_run {
        let plan = progress::show("planning", pin!(p.plan(&session)))
            .await
            .map_err(|e| provision_error(&e))?;
        return print(settings.format, &plan_view(&plan, &output), &[]);
    }
    let report = match progress::show("provisioning", pin!(p.run(&session))).await {
        Ok(report) => report,
        Err(e) => {
            // What was done before the failure, then the error.
            if let Some(done) = e.partial_report() {
                let verification = VerificationView::of_failure(&p, &e);
                let view = report_view(done, &output, Some(crate::error::chain(&e)), verification);
                if to_stdout {
                    // A key that was made and lives (its check failed, or the roles did) is
                    // still the caller's: nobody else holds its secret.
                    if let Some(key) = &done.secret_for_caller {
                        output::print_document(settings.format, &key.document())?;
                    }
                    output::write_stderr(&text(&view, &done.keys_not_deleted));
                } else {
                    print(settings.format, &view, &done.keys_not_deleted)?;
                }
            }
            return Err(provision_error(&e));
        }
    };

    let view = report_view(&report, &output, None, VerificationView::of_report(&p, &report));
    if let Some(key) = &report.secret_for_caller {
        // `--output -`: the key file's content on stdout, the summary on stderr.
        output::print_document(settings.format, &key.document())?;
        output::write_stderr(&text(&view, &report.keys_not_deleted));
        return Ok(());
    }
    print(settings.format, &view, &report.keys_not_deleted)
}

/// `--verify` and its flags as the library's check.
fn verify_of(args: &ProvisionArgs) -> Option<Verify> {
    if !args.verify {
        return None;
    }
    let mut verify = Verify::new();
    if let Some(uri) = &args.verify_model {
        verify = verify.model_uri(uri.clone());
    }
    if let Some(timeout) = args.verify_timeout {
        verify = verify.timeout(timeout);
    }
    Some(verify)
}

fn provision_error(e: &ProvisionError) -> CliError {
    let mut message = crate::error::chain(e);
    match e {
        ProvisionError::Invalid(input) => return input.clone().into(),
        ProvisionError::KeyFile(KeyFileError::NotAKeyFile { .. }) => {
            message.push_str(&format!("; move it away or choose another {}", flag("output")));
        }
        _ => {}
    }
    let mut err = CliError::failure(message);
    if let Some(api) = e.api_error() {
        err.add_ids(api);
    }
    if e.is_invalid_input() {
        err = err.with_exit(crate::error::EXIT_USAGE);
    }
    err
}

fn print(format: Format, view: &ReportView, not_deleted: &[(String, String)]) -> CliResult {
    match format {
        Format::Text => output::write_stdout(&text(view, not_deleted))?,
        f => output::print_one(f, view)?,
    }
    Ok(())
}

/// The machine shape of a plan, a report, or the report of a run stopped by an error
/// (documented in the README).
#[derive(Serialize)]
struct ReportView {
    dry_run: bool,
    /// `api-key`, `authorized-key` or `static-key`.
    key_type: &'static str,
    up_to_date: bool,
    service_account: AccountView,
    bindings: BindingsView,
    /// Absent when a run stopped before the key was in place.
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<KeyView>,
    /// The Lockbox secret, for a `lockbox://` output.
    #[serde(skip_serializing_if = "Option::is_none")]
    lockbox: Option<LockboxView>,
    deleted_api_keys: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    undeleted_api_keys: Vec<String>,
    /// `--verify`: the key tried against AI Studio.
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<VerificationView>,
    /// The error that stopped the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// What `--verify` will do, did, or could not do.
#[derive(Serialize)]
struct VerificationView {
    model_uri: String,
    /// `planned` (dry run), `verified`, `failed`, or `skipped` (the key could not be read back).
    status: &'static str,
    /// Why the key was not tried, when it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// How long after the first call the key was first accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    usable_after_ms: Option<u64>,
    /// How long a failed check ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    waited_ms: Option<u64>,
    /// Calls made.
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts: Option<u32>,
    timeout_ms: u64,
}

impl VerificationView {
    fn new(verify: &Verify, folder_id: &str, status: &'static str) -> Self {
        VerificationView {
            model_uri: verify.model_for(folder_id),
            status,
            reason: None,
            usable_after_ms: None,
            waited_ms: None,
            attempts: None,
            timeout_ms: verify.timeout.as_millis() as u64,
        }
    }

    fn of_plan(plan: &Plan) -> Option<Self> {
        Some(Self::new(plan.verify()?, plan.folder_id(), "planned"))
    }

    fn of_report(p: &Provision, report: &Report) -> Option<Self> {
        let verify = p.verify.as_ref()?;
        Some(match &report.verification {
            Some(done) => VerificationView {
                model_uri: done.model_uri.clone(),
                usable_after_ms: Some(done.usable_after.as_millis() as u64),
                attempts: Some(done.attempts),
                ..Self::new(verify, &p.folder_id, "verified")
            },
            None => VerificationView {
                reason: report.not_verified.clone(),
                ..Self::new(verify, &p.folder_id, "skipped")
            },
        })
    }

    /// A failed check; `None` when the run stopped before it.
    fn of_failure(p: &Provision, e: &ProvisionError) -> Option<Self> {
        let (verify, ProvisionError::NotVerified { source, .. }) = (p.verify.as_ref()?, e) else {
            return None;
        };
        Some(VerificationView {
            model_uri: source.model_uri.clone(),
            waited_ms: Some(source.waited.as_millis() as u64),
            attempts: Some(source.attempts),
            ..Self::new(verify, &p.folder_id, "failed")
        })
    }

    fn line(&self) -> String {
        let calls = |n: Option<u32>| match n {
            Some(1) => "1 call".to_owned(),
            Some(n) => format!("{n} calls"),
            None => String::new(),
        };
        match (self.status, self.usable_after_ms, self.waited_ms) {
            ("planned", ..) => format!(
                "the key will be tried with {} for up to {}",
                self.model_uri,
                yc_iam::duration::format(std::time::Duration::from_millis(self.timeout_ms))
            ),
            ("verified", Some(after), _) => format!(
                "usable after {} with {} ({})",
                seconds(after),
                self.model_uri,
                calls(self.attempts)
            ),
            ("failed", _, Some(waited)) => format!(
                "not usable with {} after {} ({}); the key stays in place",
                self.model_uri,
                seconds(waited),
                calls(self.attempts)
            ),
            _ => format!(
                "not tried: {}",
                self.reason.as_deref().unwrap_or("the key could not be read back")
            ),
        }
    }
}

/// Milliseconds as seconds with one decimal: `2.1 s`.
fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

#[derive(Serialize)]
struct LockboxView {
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_id: Option<String>,
    /// Absent for a secret given by id whose name was not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_name: Option<String>,
    /// The folder of a secret given by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    folder_id: Option<String>,
    /// `existing`, `create` (plan) or `created`.
    action: &'static str,
    /// The current version, holding the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    version_id: Option<String>,
    version_added: bool,
    /// Versions scheduled for destruction (in a plan: to be scheduled).
    versions_scheduled: Vec<String>,
    /// Subjects granted `lockbox.payloadViewer` (in a plan: to be granted).
    readers_added: Vec<String>,
}

impl LockboxView {
    fn of_plan(plan: &LockboxPlan, folder_id: Option<String>, key_created: bool) -> Self {
        let (secret_id, secret_name, action, version_id) = match &plan.secret {
            SecretPlan::Existing {
                id,
                name,
                current_version,
                ..
            } => (Some(id.clone()), name.clone(), "existing", current_version.clone()),
            SecretPlan::Create { name, .. } => (None, Some(name.clone()), "create", None),
            _ => (None, None, "unknown", None),
        };
        LockboxView {
            secret_id,
            secret_name,
            folder_id,
            action,
            version_id,
            version_added: key_created,
            versions_scheduled: plan
                .versions_to_destroy
                .iter()
                .chain(&plan.replaced_version)
                .cloned()
                .collect(),
            readers_added: plan
                .readers_missing
                .iter()
                .map(|s| format!("{}:{}", s.r#type, s.id))
                .collect(),
        }
    }

    fn of_report(r: &LockboxReport) -> Self {
        LockboxView {
            secret_id: Some(r.secret_id.clone()),
            secret_name: r.secret_name.clone(),
            folder_id: r.folder_id.clone(),
            action: if r.secret_created { "created" } else { "existing" },
            version_id: r.version_id.clone(),
            version_added: r.version_added,
            versions_scheduled: r.versions_scheduled.clone(),
            readers_added: r.readers_added.clone(),
        }
    }
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

impl KeyView {
    fn of(key: &ManagedKey, action: &'static str, output: &str) -> Self {
        KeyView {
            id: Some(key.id.clone()),
            action,
            reason: None,
            replaces: None,
            scopes: key.scopes.clone(),
            expires_at: timestamp(key.expires_at.as_ref()),
            file: output.to_owned(),
        }
    }
}

fn plan_view(plan: &Plan, output: &str) -> ReportView {
    let (id, action) = match &plan.account {
        AccountPlan::Existing(sa) => (Some(sa.id.clone()), "existing"),
        _ => (None, "create"),
    };
    let api_key = match &plan.key {
        KeyPlan::Keep(key) => KeyView::of(key, "keep", output),
        KeyPlan::Create { reason, replaces } => KeyView {
            id: None,
            action: "create",
            reason: Some(reason.describe()),
            replaces: replaces.clone(),
            scopes: Vec::new(),
            expires_at: None,
            file: output.to_owned(),
        },
        _ => KeyView::unknown(output),
    };
    ReportView {
        dry_run: true,
        key_type: plan.key_type().name(),
        up_to_date: !plan.changes(),
        service_account: AccountView {
            id,
            name: plan.name().to_owned(),
            folder_id: plan.folder_id().to_owned(),
            action,
        },
        bindings: BindingsView {
            resource_type: plan.grant.kind(),
            resource_id: plan.grant.id().to_owned(),
            added: plan.roles_missing.clone(),
            present: plan.roles_present.clone(),
        },
        api_key: Some(api_key),
        lockbox: plan
            .lockbox
            .as_ref()
            .map(|l| LockboxView::of_plan(l, secret_folder(plan), matches!(plan.key, KeyPlan::Create { .. }))),
        deleted_api_keys: plan.keys_to_delete.clone(),
        undeleted_api_keys: Vec::new(),
        verification: VerificationView::of_plan(plan),
        error: None,
    }
}

/// The folder of a Lockbox secret the plan's sink names by name.
fn secret_folder(plan: &Plan) -> Option<String> {
    match plan.output() {
        KeySink::Lockbox(sink) if matches!(sink.secret, LockboxSecret::Name(_)) => {
            Some(sink.folder_id.as_deref().unwrap_or(plan.folder_id()).to_owned())
        }
        _ => None,
    }
}

fn report_view(r: &Report, output: &str, error: Option<String>, verification: Option<VerificationView>) -> ReportView {
    let api_key = r.key.as_ref().map(|key| match key {
        KeyAction::Kept { key } => KeyView::of(key, "kept", output),
        KeyAction::Created { key, reason, replaces } => KeyView {
            action: "created",
            reason: Some(reason.describe()),
            replaces: replaces.clone(),
            ..KeyView::of(key, "created", output)
        },
        _ => KeyView::unknown(output),
    });
    let sa = &r.service_account;
    ReportView {
        dry_run: false,
        key_type: r.key_type.name(),
        up_to_date: error.is_none() && !r.changed(),
        service_account: AccountView {
            id: Some(sa.id.clone()),
            name: sa.name.clone(),
            folder_id: sa.folder_id.clone(),
            action: if r.service_account_created {
                "created"
            } else {
                "existing"
            },
        },
        bindings: BindingsView {
            resource_type: r.grant.kind(),
            resource_id: r.grant.id().to_owned(),
            added: r.roles_added.clone(),
            present: r.roles_present.clone(),
        },
        api_key,
        lockbox: r.lockbox.as_ref().map(LockboxView::of_report),
        deleted_api_keys: r.keys_deleted.clone(),
        undeleted_api_keys: r.keys_not_deleted.iter().map(|(id, _)| id.clone()).collect(),
        verification,
        error,
    }
}

impl KeyView {
    fn unknown(output: &str) -> Self {
        KeyView {
            id: None,
            action: "unknown",
            reason: None,
            replaces: None,
            scopes: Vec::new(),
            expires_at: None,
            file: output.to_owned(),
        }
    }
}

/// The text report: a headline, then aligned lines per step.
fn text(v: &ReportView, not_deleted: &[(String, String)]) -> String {
    let would = |done: &str, planned: &str| if v.dry_run { planned.to_owned() } else { done.to_owned() };
    let mut lines: Vec<(String, String)> = Vec::new();
    let sa = match &v.service_account.id {
        Some(id) => format!("{} ({id})", v.service_account.name),
        None => v.service_account.name.clone(),
    };
    let sa_state = match v.service_account.action {
        "existing" => "exists".to_owned(),
        _ => would("created", "will be created"),
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
    lines.push((kind(v).describe().to_lowercase(), key_line(v)));
    if let Some(l) = &v.lockbox {
        lockbox_lines(l, v.dry_run, &mut lines);
    }
    for id in &v.deleted_api_keys {
        lines.push((
            "deleted key".into(),
            format!("{id}: {}", would("deleted", "will be deleted")),
        ));
    }
    for (id, why) in not_deleted {
        lines.push(("warning".into(), format!("key {id} could not be deleted: {why}")));
    }
    if let Some(verification) = &v.verification {
        lines.push(("verification".into(), verification.line()));
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    out.push_str(if v.dry_run {
        "Plan (dry run, nothing changed):\n"
    } else if v.error.is_some() {
        "Stopped by an error; done before it:\n"
    } else if v.up_to_date {
        "Up to date: nothing to change.\n"
    } else {
        "Provisioned:\n"
    });
    for (k, v) in lines {
        out.push_str(&format!("  {:<width$} {v}\n", format!("{k}:")));
    }
    if let Some(key) = &v.api_key
        && !v.dry_run
        && key.file != "-"
    {
        out.push_str(&hint(v, key, kind(v)));
    }
    out
}

fn kind(v: &ReportView) -> KeyType {
    KeyType::from_name(v.key_type).unwrap_or_default()
}

/// How to use the key the run put in place, and where its secret is.
fn hint(v: &ReportView, key: &KeyView, kind: KeyType) -> String {
    let entry = match (&v.lockbox, kind) {
        (Some(_), KeyType::ApiKey) => "api-key",
        (Some(_), KeyType::AuthorizedKey) => "authorized-key",
        (Some(_), KeyType::StaticKey) => "secret-access-key",
        (None, KeyType::ApiKey) => "YC_API_KEY",
        (None, KeyType::AuthorizedKey) => "YC_AUTHORIZED_KEY",
        (None, KeyType::StaticKey) => "AWS_SECRET_ACCESS_KEY",
    };
    let source = match (&v.lockbox, key.file.split_once(':')) {
        (Some(l), _) => format!(
            "the `{entry}` entry of Lockbox secret {} (yc-iam lockbox payload get {} --reveal)",
            l.label(),
            l.selector(&v.service_account.folder_id)
        ),
        (None, Some(("env" | "k8s", _))) => format!("the {entry} entry of {} (unless --entry renamed it)", key.file),
        _ => match kind {
            KeyType::ApiKey => format!("the `secret` field of {}", key.file),
            KeyType::AuthorizedKey => key.file.clone(),
            KeyType::StaticKey => format!("`aws_secret_access_key` in {}", key.file),
        },
    };
    match kind {
        KeyType::ApiKey => {
            format!("Use the key as the header `Authorization: Api-Key <secret>`; the secret is {source}.\n")
        }
        KeyType::AuthorizedKey => format!(
            "The authorized key is {source}: use it as `yc-iam --service-account-key`, `yc config set \
             service-account-key` or an SDK's key file.\n"
        ),
        KeyType::StaticKey => {
            format!("The static key is an AWS access key id and secret; the secret is {source}.\n")
        }
    }
}

impl LockboxView {
    /// `NAME (ID)`, or whichever of the two is known.
    fn label(&self) -> String {
        match (&self.secret_name, &self.secret_id) {
            (Some(name), Some(id)) => format!("{name} ({id})"),
            (Some(name), None) => name.clone(),
            (None, Some(id)) => id.clone(),
            (None, None) => String::new(),
        }
    }

    /// The flags of `yc-iam lockbox payload get` that find this secret: `--name` (with
    /// `--folder-id` when it is not the account's folder) for a secret given by name, else `--id`.
    fn selector(&self, account_folder: &str) -> String {
        match (&self.folder_id, &self.secret_name, &self.secret_id) {
            (Some(folder), Some(name), _) if folder != account_folder => format!("--name {name} --folder-id {folder}"),
            (Some(_), Some(name), _) => format!("--name {name}"),
            (_, _, Some(id)) => format!("--id {id}"),
            (_, Some(name), None) => format!("--name {name}"),
            (_, None, None) => String::new(),
        }
    }
}

/// The Lockbox secret's lines of the text report.
fn lockbox_lines(l: &LockboxView, dry_run: bool, lines: &mut Vec<(String, String)>) {
    let would = |done: &str, planned: &str| if dry_run { planned.to_owned() } else { done.to_owned() };
    let secret = l.label();
    let state = match l.action {
        "existing" => "exists".to_owned(),
        _ => would("created", "will be created"),
    };
    lines.push(("lockbox secret".into(), format!("{secret}: {state}")));
    let version = match (&l.version_id, l.version_added, dry_run) {
        (_, true, true) => "a new version will hold the key".to_owned(),
        (Some(id), true, false) => format!("{id}: added, current, holds the key"),
        (Some(id), false, _) => format!("{id}: current, holds the key"),
        _ => "none yet".to_owned(),
    };
    lines.push(("lockbox version".into(), version));
    for id in &l.versions_scheduled {
        lines.push((
            "old version".into(),
            format!(
                "{id}: {}",
                would("scheduled for destruction", "will be scheduled for destruction")
            ),
        ));
    }
    for subject in &l.readers_added {
        lines.push((
            "reader".into(),
            format!(
                "{subject}: {} {}",
                would("granted", "will be granted"),
                yc_iam::provision::READER_ROLE
            ),
        ));
    }
}

fn key_line(v: &ReportView) -> String {
    let Some(key) = &v.api_key else {
        return "not in place: the run stopped at the error".to_owned();
    };
    let id = key.id.as_deref().unwrap_or("new key");
    let mut line = match (key.action, key.reason) {
        ("keep" | "kept", _) => format!("{id} in {}: kept (valid, scopes match)", key.file),
        ("create", Some(reason)) => format!("a new key will be created and written to {} ({reason})", key.file),
        (_, Some(reason)) if key.file == "-" => format!("{id}: created, printed to stdout ({reason})"),
        (_, Some(reason)) if key.file.starts_with("lockbox://") => {
            format!("{id}: created, stored in {} ({reason})", key.file)
        }
        (_, Some(reason)) => format!("{id}: created, written to {} ({reason})", key.file),
        _ => String::new(),
    };
    if let Some(old) = &key.replaces {
        line.push_str(&format!("; replaces {old}"));
    }
    line
}

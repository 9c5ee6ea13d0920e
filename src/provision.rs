//! The provisioning flow: a service account, its roles on a folder (or cloud), and a scoped API
//! key kept in a file. Safe to re-run (a second run changes nothing) and safe to kill (a run
//! killed at any point and run again ends in the same state as one uninterrupted run).
//!
//! A run is a plan, then its application. [`Provision::plan`] reads (`plan.rs`) and returns a
//! [`Plan`]: the service account found or to create (names shorter than the List filter accepts
//! are matched over the listing), the roles present and missing on the folder or cloud, whether
//! the key in the key file is kept (it still exists for this account with the requested scopes
//! and has not expired) or a new one is made and why, and the keys to delete. [`Plan::apply`]
//! (`apply.rs`) then creates the account and waits, adds the missing `(role, serviceAccount)`
//! pairs (one `UpdateAccessBindings` per 1000) and waits, creates the key and writes the file at
//! once (atomically, 0600), and only then deletes the key the file held before and every key an
//! earlier, killed run made for this file whose secret never reached it (such keys carry a marker
//! in their description).

mod apply;
mod issued;
mod key_file;
mod key_type;
mod plan;
mod report;
mod rules;
mod sink;
mod verify;

pub(crate) use apply::create_account;

/// The most a sink's marker adds to a key description, with its space.
pub(crate) fn sink_marker_room() -> usize {
    sink::marker::LOCKBOX_LEN
}

/// Whether a key description ends with a sink's marker.
pub(crate) fn has_sink_marker(description: &str) -> bool {
    sink::marker::parse(description).is_some()
}
pub use issued::{AuthorizedKeyFile, IssuedKey, StaticKey};
pub(crate) use sink::lockbox::retire_replaced as retire_replaced_versions;
pub(crate) use sink::{check_address, is_profile_name, marker};

/// The rule an AWS profile name keeps.
pub(crate) const AWS_PROFILE_RULE: &str =
    "an AWS profile name is 1-128 letters, digits, '-', '_', '.', '@', '+' and '/'";

pub use key_file::{KeyFileError, StoredKey};
pub use key_type::{KeyAlgorithm, KeyType, ManagedKey};
pub(crate) use plan::Known;
pub use plan::{AccountPlan, KeyPlan, Plan};
pub use report::{KeyAction, KeyReason, ProvisionError, Report};
pub use rules::{
    InvalidInput, check_description, check_id, check_labels, check_role, check_scopes, check_secret_name,
    check_service_account_name,
};
pub use sink::{
    DEFAULT_PENDING_PERIOD, EntryNames, InvalidSinkAddress, KeySink, LockboxPlan, LockboxReport, LockboxSecret,
    LockboxSink, READER_ROLE, SecretPlan, SinkAddress, looks_like_id,
};
pub use verify::{
    DEFAULT_VERIFY_MODEL, DEFAULT_VERIFY_TIMEOUT, Verification, Verify, VerifyError, check_model_uri, verify_key,
};

use std::collections::BTreeMap;
use std::path::PathBuf;

use time::OffsetDateTime;

/// The role AI Studio's text models need.
pub const DEFAULT_ROLE: &str = "ai.languageModels.user";
/// The API-key scope for AI Studio's text models.
pub const DEFAULT_SCOPE: &str = "yc.ai.languageModels.execute";
/// The default key file of API keys.
pub const DEFAULT_OUTPUT: &str = "api-key.yaml";
/// The default key file of authorized keys (the name Yandex's guides use).
pub const DEFAULT_AUTHORIZED_KEY_OUTPUT: &str = "key.json";
/// The default file of static keys: an AWS shared-credentials file.
pub const DEFAULT_STATIC_KEY_OUTPUT: &str = "credentials";
/// The AWS profile a static key is written to unless another is named.
pub const DEFAULT_AWS_PROFILE: &str = "default";

/// The default key file of `kind`.
pub fn default_output(kind: KeyType) -> &'static str {
    match kind {
        KeyType::ApiKey => DEFAULT_OUTPUT,
        KeyType::AuthorizedKey => DEFAULT_AUTHORIZED_KEY_OUTPUT,
        KeyType::StaticKey => DEFAULT_STATIC_KEY_OUTPUT,
    }
}

/// Where roles are granted: a folder or a cloud.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grant {
    /// On a folder (in `provision`, the service account's).
    Folder(String),
    /// On a cloud.
    Cloud(String),
}

impl Grant {
    /// `folder` or `cloud`.
    pub fn kind(&self) -> &'static str {
        match self {
            Grant::Folder(_) => "folder",
            Grant::Cloud(_) => "cloud",
        }
    }

    /// The resource id.
    pub fn id(&self) -> &str {
        match self {
            Grant::Folder(id) | Grant::Cloud(id) => id,
        }
    }

    /// Every access binding of the folder or cloud.
    pub(crate) fn list_access_bindings(&self, client: &crate::Client) -> crate::Paginator<crate::model::AccessBinding> {
        match self {
            Grant::Folder(id) => client.folders().list_access_bindings(id.clone()),
            Grant::Cloud(id) => client.clouds().list_access_bindings(id.clone()),
        }
    }

    /// Adds and removes bindings of the folder or cloud, at most [`MAX_DELTAS`] per call.
    pub(crate) async fn update_access_bindings(
        &self,
        client: &crate::Client,
        deltas: Vec<crate::model::AccessBindingDelta>,
    ) -> Result<
        crate::AccessBindingsOperation<crate::proto::yandex::cloud::access::UpdateAccessBindingsMetadata>,
        crate::Error,
    > {
        match self {
            Grant::Folder(id) => client.folders().update_access_bindings(id.clone(), deltas).await,
            Grant::Cloud(id) => client.clouds().update_access_bindings(id.clone(), deltas).await,
        }
    }
}

/// `folder <id>` or `cloud <id>`.
impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind(), self.id())
    }
}

/// Most deltas one `UpdateAccessBindings` accepts.
pub(crate) const MAX_DELTAS: usize = 1000;

/// What to provision. Defaults fit AI Studio: role [`DEFAULT_ROLE`], scope [`DEFAULT_SCOPE`], key
/// file [`DEFAULT_OUTPUT`].
///
/// ```no_run
/// # async fn example(client: &yc_iam::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use yc_iam::provision::Provision;
///
/// let report = Provision::new("b1gexample0000000000", "sa-api").output_file("api-key.yaml").run(client).await?;
/// println!("{}", if report.changed() { "changed" } else { "up to date" });
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Provision {
    /// Folder of the service account.
    pub folder_id: String,
    /// Service-account name.
    pub name: String,
    /// Description for a new service account.
    pub description: Option<String>,
    /// Labels for a new service account.
    pub labels: BTreeMap<String, String>,
    /// Roles to grant (duplicates ignored); none leaves the bindings as they are.
    pub roles: Vec<String>,
    /// The kind of key.
    pub key_type: KeyType,
    /// API-key scopes (duplicates ignored); API keys only.
    pub scopes: Vec<String>,
    /// Description for a new key (the marker is appended).
    pub key_description: Option<String>,
    /// Expiry for a new key; API keys only.
    pub expires_at: Option<OffsetDateTime>,
    /// The RSA key size of a new authorized key (RSA-2048 when `None`); authorized keys only.
    pub key_algorithm: Option<KeyAlgorithm>,
    /// The profile of a static key's AWS credentials file ([`DEFAULT_AWS_PROFILE`] when
    /// `None`); static keys kept in a file only.
    pub aws_profile: Option<String>,
    /// Where to grant the roles; the folder unless set to a cloud.
    pub grant: Option<Grant>,
    /// Where the key goes.
    pub output: KeySink,
    /// Make a new key even when the kept one is valid, then delete the old one.
    pub rotate: bool,
    /// Once the key is in place, prove it works by calling AI Studio with it (see [`Verify`]);
    /// API keys and authorized keys only.
    pub verify: Option<Verify>,
}

/// What a sink holds, by the ids it names keys by (a static key's AWS access key id).
#[derive(Debug, Default)]
pub(crate) struct HeldKeys {
    /// The key it holds where a run reads and writes; `None` when it holds none there.
    pub(crate) held: Option<String>,
    /// Keys the same sink holds in other places (the other profiles of an AWS credentials
    /// file): never to be deleted.
    pub(crate) elsewhere: Vec<String>,
}

impl Provision {
    /// AI Studio defaults for a service account `name` in `folder_id`.
    pub fn new(folder_id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            folder_id: folder_id.into(),
            name: name.into(),
            description: None,
            labels: BTreeMap::new(),
            roles: vec![DEFAULT_ROLE.to_owned()],
            key_type: KeyType::ApiKey,
            scopes: vec![DEFAULT_SCOPE.to_owned()],
            key_description: None,
            expires_at: None,
            key_algorithm: None,
            aws_profile: None,
            grant: None,
            output: KeySink::File(PathBuf::from(DEFAULT_OUTPUT)),
            rotate: false,
            verify: None,
        }
    }

    /// Sets the service account's description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Sets the service account's labels.
    pub fn labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.labels = labels;
        self
    }

    /// Replaces the roles.
    pub fn roles(mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Makes keys of `kind`. Scopes apply to API keys only, so for the other kinds the default
    /// scope is dropped; the default output becomes the kind's default file.
    pub fn key_type(mut self, kind: KeyType) -> Self {
        if kind != KeyType::ApiKey {
            self.scopes.clear();
        }
        if self.output == KeySink::File(PathBuf::from(default_output(self.key_type))) {
            self.output = KeySink::File(PathBuf::from(default_output(kind)));
        }
        self.key_type = kind;
        self
    }

    /// Sets the RSA key size of a new authorized key.
    pub fn key_algorithm(mut self, algorithm: KeyAlgorithm) -> Self {
        self.key_algorithm = Some(algorithm);
        self
    }

    /// Writes a static key to this profile of its AWS credentials file.
    pub fn aws_profile(mut self, profile: impl Into<String>) -> Self {
        self.aws_profile = Some(profile.into());
        self
    }

    /// Replaces the scopes.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the new key's description.
    pub fn key_description(mut self, text: impl Into<String>) -> Self {
        self.key_description = Some(text.into());
        self
    }

    /// Sets the new key's expiry.
    pub fn expires_at(mut self, at: OffsetDateTime) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Grants the roles on a cloud instead of the folder.
    pub fn grant_on_cloud(mut self, cloud_id: impl Into<String>) -> Self {
        self.grant = Some(Grant::Cloud(cloud_id.into()));
        self
    }

    /// Keeps the key in this sink.
    pub fn output(mut self, sink: KeySink) -> Self {
        self.output = sink;
        self
    }

    /// Keeps the key in this file.
    pub fn output_file(self, path: impl Into<PathBuf>) -> Self {
        self.output(KeySink::File(path.into()))
    }

    /// Returns the new key's secret in the report instead of writing a file.
    pub fn output_to_caller(self) -> Self {
        self.output(KeySink::Caller)
    }

    /// Rotates the key.
    pub fn rotate(mut self, rotate: bool) -> Self {
        self.rotate = rotate;
        self
    }

    /// Once the key is in place, calls AI Studio with it until it works (or the check's timeout
    /// passes); the report then says how long that took. A key that never works fails the run
    /// with [`ProvisionError::NotVerified`], and stays in its sink.
    pub fn verify(mut self, verify: Verify) -> Self {
        self.verify = Some(verify);
        self
    }

    /// Runs the flow, [`plan`](Self::plan) then [`Plan::apply`]: after it, the service account
    /// exists, has the roles, and the key file holds a live key with the requested scopes.
    pub async fn run(&self, client: &crate::Client) -> Result<Report, ProvisionError> {
        self.plan(client).await?.apply(client).await
    }

    /// Checks the inputs, reads the key file and the cloud, and returns what
    /// [`run`](Self::run) would change. Changes nothing.
    pub async fn plan(&self, client: &crate::Client) -> Result<Plan, ProvisionError> {
        plan::read(self, client, None).await
    }

    /// [`plan`](Self::plan), given the account and its keys of this kind, already read.
    pub(crate) async fn plan_known(&self, client: &crate::Client, known: Known) -> Result<Plan, ProvisionError> {
        plan::read(self, client, Some(known)).await
    }

    /// The id the sink holds its key by (a static key's AWS access key id), read the way
    /// [`plan`](Self::plan) reads it, and the ids it holds in other places. Sends no mutating
    /// call.
    pub(crate) async fn held_key(&self, client: &crate::Client) -> Result<HeldKeys, ProvisionError> {
        let p = self.for_kind();
        let in_sink = match &p.output {
            KeySink::Lockbox(sink) => {
                let folder = sink.folder_id.as_deref().unwrap_or(&p.folder_id);
                sink::Holding {
                    held: sink::lockbox::read(client, sink, folder).await?.held,
                    elsewhere: Vec::new(),
                }
            }
            output => output.read_file(p.key_type, p.profile())?,
        };
        Ok(HeldKeys {
            held: in_sink.held.map(|h| h.key_id),
            elsewhere: in_sink.elsewhere,
        })
    }

    /// Where the roles are granted.
    pub fn grant_target(&self) -> Grant {
        self.grant
            .clone()
            .unwrap_or_else(|| Grant::Folder(self.folder_id.clone()))
    }

    /// Checks every input locally. An error names the field at fault (`folder_id`, `roles`,
    /// `key_description`, `cloud_id`…) and the rule it breaks.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        check_id("folder_id", &self.folder_id)?;
        check_service_account_name("name", &self.name)?;
        if let Some(d) = &self.description {
            check_description("description", d)?;
        }
        check_labels("labels", &self.labels)?;
        for role in &self.roles {
            check_role("roles", role)?;
        }
        if self.roles.len() > 1000 {
            return Err(InvalidInput::new(
                "roles",
                format!("{} roles", self.roles.len()),
                "at most 1000 roles",
            ));
        }
        self.check_kind()?;
        if self.key_type == KeyType::ApiKey {
            if self.scopes.is_empty() {
                return Err(InvalidInput::new("scopes", "", "at least one scope is needed"));
            }
            // Duplicates are ignored, so only the distinct scopes count.
            check_scopes("scopes", &dedup(&self.scopes))?;
        }
        if let Some(d) = &self.key_description {
            check_description("key_description", d)?;
            let room = 256 - self.output.marker_len();
            if d.chars().count() > room {
                return Err(InvalidInput::new(
                    "key_description",
                    d,
                    format!("must be at most {room} characters long (room is kept for a marker)"),
                ));
            }
        }
        if let Some(at) = self.expires_at {
            check_expiry("expires_at", at, OffsetDateTime::now_utc())?;
        }
        match &self.grant {
            Some(Grant::Cloud(id)) => check_id("cloud_id", id)?,
            Some(Grant::Folder(id)) => check_id("folder_id", id)?,
            None => {}
        }
        self.output.check()?;
        if let Some(verify) = &self.verify {
            verify.check()?;
        }
        Ok(())
    }

    /// The inputs that apply to one kind of key only are refused for the others.
    fn check_kind(&self) -> Result<(), InvalidInput> {
        let only = |field: &str, value: String, kind: KeyType| {
            if self.key_type == kind {
                Ok(())
            } else {
                let rule = format!(
                    "applies only to {}s, not to {}s",
                    kind.describe(),
                    self.key_type.describe()
                );
                Err(InvalidInput::new(field, value, rule))
            }
        };
        if !self.scopes.is_empty() {
            only("scopes", self.scopes.join(","), KeyType::ApiKey)?;
        }
        if let Some(at) = self.expires_at {
            let shown = at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            only("expires_at", shown, KeyType::ApiKey)?;
        }
        if let Some(algorithm) = self.key_algorithm {
            only("key_algorithm", format!("{algorithm:?}"), KeyType::AuthorizedKey)?;
        }
        if self.verify.is_some() && self.key_type == KeyType::StaticKey {
            return Err(InvalidInput::new(
                "key_type",
                self.key_type.name(),
                "a static key cannot be verified: AI Studio takes API keys and authorized keys' IAM tokens only",
            ));
        }
        if let Some(profile) = &self.aws_profile {
            only("aws_profile", profile.clone(), KeyType::StaticKey)?;
            if !matches!(self.output, KeySink::File(_)) {
                return Err(InvalidInput::new(
                    "aws_profile",
                    profile,
                    "applies only to a static key kept in an AWS credentials file",
                ));
            }
            if !sink::is_profile_name(profile) {
                return Err(InvalidInput::new("aws_profile", profile, AWS_PROFILE_RULE));
            }
        }
        Ok(())
    }

    /// The AWS profile a static key is written to.
    fn profile(&self) -> &str {
        self.aws_profile.as_deref().unwrap_or(DEFAULT_AWS_PROFILE)
    }

    /// These inputs with the sink's entry names made those of the key's kind, when they are the
    /// API-key defaults (see [`EntryNames::for_kind`]).
    fn for_kind(&self) -> Provision {
        let mut p = self.clone();
        match &mut p.output {
            KeySink::Env { entries, .. } | KeySink::K8s { entries, .. } => *entries = entries.for_kind(p.key_type),
            KeySink::Lockbox(sink) => sink.entries = sink.entries.for_kind(p.key_type),
            _ => {}
        }
        p
    }
}

/// Checks an expiry: in the future and no later than the API accepts (end of 2105).
pub fn check_expiry(field: &str, at: OffsetDateTime, now: OffsetDateTime) -> Result<(), InvalidInput> {
    let shown = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    if at <= now {
        return Err(InvalidInput::new(field, shown, "must be in the future"));
    }
    if at > time::macros::datetime!(2105-12-31 23:59:59.999999999 UTC) {
        return Err(InvalidInput::new(
            field,
            shown,
            "must be no later than 2105-12-31T23:59:59Z",
        ));
    }
    Ok(())
}

/// The input order with duplicates dropped.
fn dedup(items: &[String]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    items.iter().filter(|i| seen.insert(i.as_str())).cloned().collect()
}

/// Turns a failed call of `step` into the flow's error.
fn api(step: impl Into<String>) -> impl FnOnce(crate::Error) -> ProvisionError {
    let step = step.into();
    move |source| ProvisionError::Api {
        step,
        source,
        partial: None,
    }
}

/// A description carrying `marker`, within the API's 256 characters. Without one from the user,
/// a key made for a file names the file's absolute path, so that the key alone says where its
/// secret is (when the path fits).
fn with_marker(description: Option<&str>, marker: &str, path: Option<&std::path::Path>) -> String {
    if let Some(d) = description.map(str::trim).filter(|d| !d.is_empty()) {
        return format!("{d} {marker}");
    }
    if let Some(path) = path {
        let named = format!("made by yc-iam for {} {marker}", sink::marker::absolute(path).display());
        if named.chars().count() <= 256 && !named.chars().any(char::is_control) {
            return named;
        }
    }
    format!("made by yc-iam provision {marker}")
}

/// The description a key gets before a successor replaces it in the sink, so that a run killed
/// between the two finds it as a leftover by the sink's marker (and, in a fleet, by the fleet's
/// `tag`): its text kept (another sink's marker it ended with dropped), the tag put first, the
/// marker last, the text cut to fit the API's 256 characters. `None` when it already has both.
fn as_replaced(description: &str, marker: &str, tag: Option<&str>) -> Option<String> {
    let (text, marked) = match sink::marker::parse(description) {
        Some((found, _)) => (description[..description.len() - found.len()].trim(), found == marker),
        None => (description.trim(), false),
    };
    let tagged = tag.is_none_or(|tag| {
        text.strip_prefix(tag)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(": "))
    });
    if marked && tagged {
        return None;
    }
    let text = match tag {
        Some(tag) if !tagged && text.is_empty() => tag.to_owned(),
        Some(tag) if !tagged => format!("{tag}: {text}"),
        _ => text.to_owned(),
    };
    let room = 256usize.saturating_sub(marker.chars().count() + 1);
    let text: String = text.chars().take(room).collect();
    let text = text.trim_end();
    Some(if text.is_empty() {
        marker.to_owned()
    } else {
        format!("{text} {marker}")
    })
}

/// Drops from `sink` the entries of the `kind` key `held_as` while they still name it, once the
/// sink keeps keys of kind `now` (a fleet entry whose type changed), before that key is deleted:
/// a file sink's on a blocking thread, like every write of a file sink; a Lockbox secret's
/// (`secret_id`) in a new version, the versions left behind scheduled for destruction.
pub(crate) async fn forget_key(
    client: &crate::Client,
    (sink, secret_id): (&KeySink, Option<&str>),
    kind: KeyType,
    held_as: &str,
    now: KeyType,
) -> Result<(), ProvisionError> {
    if let (KeySink::Lockbox(lockbox), Some(secret_id)) = (sink, secret_id) {
        let (old, new) = (lockbox.entries.for_kind(kind), lockbox.entries.for_kind(now));
        let names = old.not_in(&new);
        return sink::lockbox::drop_entries(client, lockbox, secret_id, (&names, &old.api_key_id), held_as).await;
    }
    let (sink, held_as) = (sink.clone(), held_as.to_owned());
    tokio::task::spawn_blocking(move || sink.drop_entries(kind, &held_as, now))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        .map_err(ProvisionError::from)
}

/// The API key's file document from the key and its secret.
fn stored_from(key: &crate::model::ApiKey, secret: secrecy::SecretString) -> StoredKey {
    let rfc3339 = |at: &prost_types::Timestamp| {
        crate::timestamp::from_timestamp(at).and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
    };
    StoredKey {
        id: key.id.clone(),
        service_account_id: key.service_account_id.clone(),
        created_at: key.created_at.as_ref().and_then(rfc3339),
        scopes: key.scopes.clone(),
        expires_at: key.expires_at.as_ref().and_then(crate::timestamp::from_timestamp),
        secret,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fit_ai_studio_and_validate() {
        let p = Provision::new("b1gexample0000000000", "sa-api");
        assert_eq!(p.roles, vec![DEFAULT_ROLE]);
        assert_eq!(p.scopes, vec![DEFAULT_SCOPE]);
        assert_eq!(p.output, KeySink::File(PathBuf::from("api-key.yaml")));
        assert_eq!(p.grant_target(), Grant::Folder("b1gexample0000000000".into()));
        p.validate().unwrap();
    }

    #[test]
    fn validation_names_the_input() {
        let p = Provision::new("b1g", "Bad");
        assert_eq!(p.validate().unwrap_err().field, "name");
        let p = Provision::new("b1g x", "sa");
        assert_eq!(p.validate().unwrap_err().field, "folder_id");
        let past = OffsetDateTime::now_utc() - time::Duration::hours(1);
        let err = Provision::new("b1g", "sa").expires_at(past).validate().unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.rule.as_str()),
            ("expires_at", "must be in the future")
        );
        let err = Provision::new("b1g", "sa")
            .key_description("x".repeat(250))
            .validate()
            .unwrap_err();
        assert_eq!(err.field, "key_description");
        let err = Provision::new("b1g", "sa").grant_on_cloud("").validate().unwrap_err();
        assert_eq!(err.field, "cloud_id");
        let err = Provision::new("b1g", "sa").roles(["ai..user"]).validate().unwrap_err();
        assert_eq!(err.field, "roles");
        let err = Provision::new("b1g", "sa").scopes(["yc..x"]).validate().unwrap_err();
        assert_eq!(err.field, "scopes");
        let err = Provision::new("b1g", "sa").output_file("").validate().unwrap_err();
        assert_eq!(err.field, "output");
    }

    #[test]
    fn a_replaced_key_keeps_its_text_and_gains_the_marker_and_tag_it_lacks() {
        let m = sink::marker::file(std::path::Path::new("/tmp/a/api-key.yaml"));
        let other = sink::marker::file(std::path::Path::new("/tmp/b/api-key.yaml"));
        assert_eq!(as_replaced("for CI", &m, None), Some(format!("for CI {m}")));
        assert_eq!(as_replaced("", &m, None), Some(m.clone()));
        assert_eq!(
            as_replaced(&format!("for CI {other}"), &m, None),
            Some(format!("for CI {m}"))
        );
        assert_eq!(as_replaced(&format!("for CI {m}"), &m, None), None);
        assert_eq!(
            as_replaced(&format!("for CI {m}"), &m, Some("fleet ai")),
            Some(format!("fleet ai: for CI {m}"))
        );
        assert_eq!(as_replaced("", &m, Some("fleet ai")), Some(format!("fleet ai {m}")));
        assert_eq!(as_replaced(&format!("fleet ai: x {m}"), &m, Some("fleet ai")), None);
        assert_eq!(as_replaced(&format!("fleet ai {m}"), &m, Some("fleet ai")), None);
        assert_eq!(
            as_replaced(&format!("fleet aix {m}"), &m, Some("fleet ai")),
            Some(format!("fleet ai: fleet aix {m}"))
        );
        let long = as_replaced(&"é".repeat(256), &m, Some("fleet ai")).unwrap();
        assert_eq!(long.chars().count(), 256);
        assert!(
            long.starts_with("fleet ai: é") && long.ends_with(&format!("é {m}")),
            "{long}"
        );
    }

    #[test]
    fn descriptions_keep_room_for_the_marker() {
        let a = sink::marker::file(std::path::Path::new("/tmp/a/api-key.yaml"));
        let d = with_marker(
            Some(&"x".repeat(256 - KeySink::File("k".into()).marker_len())),
            &a,
            None,
        );
        assert_eq!(d.chars().count(), 256);
        assert!(d.ends_with(&a));
        let lockbox = KeySink::Lockbox(LockboxSink::new("ai-key"));
        let err = Provision::new("b1g", "sa")
            .output(lockbox)
            .key_description("x".repeat(230))
            .validate()
            .unwrap_err();
        assert_eq!(err.field, "key_description");
    }
}

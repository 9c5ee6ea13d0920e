//! `yc-iam provision`: fresh run, rerun, dry run, rotation, expiry, short names.

use std::os::unix::fs::PermissionsExt;

use super::{FOLDER, Harness, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_provision_creates_everything_and_writes_a_private_key_file_even_under_umask_000() {
    let h = Harness::start().await;
    // The shell sets the umask, then becomes the binary.
    let cmd = h.command();
    let program = cmd.get_program().to_owned();
    let mut sh = std::process::Command::new("/bin/sh");
    sh.arg("-c").arg("umask 000; exec \"$0\" \"$@\"").arg(program);
    sh.args([
        "provision",
        "--folder-id",
        FOLDER,
        "--name",
        "sa-api",
        "--output",
        "api-key.yaml",
    ]);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    sh.current_dir(h.dir.path());
    let r = run(sh).await;
    r.success();
    assert!(r.stdout.contains("service account"), "{}", r.stdout);
    assert!(r.stdout.contains("ai.languageModels.user"), "{}", r.stdout);
    assert!(r.stdout.contains("Authorization: Api-Key"), "{}", r.stdout);
    let mode = std::fs::metadata(h.path("api-key.yaml")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    h.assert_provisioned("sa-api", "api-key.yaml").await;
    let stored = yc_iam::provision::StoredKey::read(&h.path("api-key.yaml"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.scopes, vec!["yc.ai.languageModels.execute"]);
    // The secret is in the file only: not on stdout or stderr.
    use yc_iam::ExposeSecret;
    assert!(!r.stdout.contains(stored.secret.expose_secret()) && !r.stderr.contains(stored.secret.expose_secret()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_provision_again_changes_nothing_and_says_it_is_up_to_date() {
    let h = Harness::start().await;
    h.provision("sa-api", "api-key.yaml", &[]).await.success();
    let key = h.assert_provisioned("sa-api", "api-key.yaml").await;
    let mutations_before = mutating_calls(&h);
    let again = h.provision("sa-api", "api-key.yaml", &[]).await;
    again.success();
    assert!(again.stdout.starts_with("Up to date"), "{}", again.stdout);
    assert_eq!(h.assert_provisioned("sa-api", "api-key.yaml").await, key);
    assert_eq!(mutating_calls(&h), mutations_before, "no mutating call on a rerun");
}

fn mutating_calls(h: &Harness) -> usize {
    h.emu
        .journal()
        .iter()
        .filter(|e| {
            ["/Create", "/Update", "/Delete", "/UpdateAccessBindings"]
                .iter()
                .any(|m| e.method.ends_with(m))
        })
        .filter(|e| !e.method.contains("IamTokenService"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_on_a_fresh_folder_prints_the_plan_and_changes_nothing() {
    let h = Harness::start().await;
    let r = h.provision("sa-api", "api-key.yaml", &["--dry-run"]).await;
    r.success();
    assert!(r.stdout.starts_with("Plan (dry run"), "{}", r.stdout);
    assert!(r.stdout.contains("will be created"), "{}", r.stdout);
    assert!(r.stdout.contains("will be added"), "{}", r.stdout);
    assert_eq!(mutating_calls(&h), 0);
    let snap = h.emu.snapshot();
    assert!(snap.service_accounts.iter().all(|sa| sa.name != "sa-api"));
    assert!(snap.api_keys.is_empty());
    assert!(!h.path("api-key.yaml").exists());
    // In JSON the plan says the same.
    let r = h
        .provision("sa-api", "api-key.yaml", &["--dry-run", "--format", "json"])
        .await;
    let plan: serde_json::Value = serde_json::from_str(&r.success().stdout).unwrap();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["service_account"]["action"], "create");
    assert_eq!(plan["api_key"]["action"], "create");
    assert_eq!(mutating_calls(&h), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_leaves_exactly_one_live_key_the_new_one_in_the_file() {
    let h = Harness::start().await;
    h.provision("sa-api", "api-key.yaml", &[]).await.success();
    let old = h.assert_provisioned("sa-api", "api-key.yaml").await;
    let r = h.provision("sa-api", "api-key.yaml", &["--rotate"]).await;
    r.success();
    assert!(r.stdout.contains(&format!("replaces {old}")), "{}", r.stdout);
    let new = h.assert_provisioned("sa-api", "api-key.yaml").await;
    assert_ne!(new, old);
    let snap = h.emu.snapshot();
    assert!(
        snap.api_keys.iter().any(|k| k.api_key.id == old && !k.live),
        "the old key is deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_key_in_the_file_is_replaced() {
    let h = Harness::start().await;
    h.provision("sa-api", "api-key.yaml", &["--expires-in", "1s"])
        .await
        .success();
    let old = yc_iam::provision::StoredKey::read(&h.path("api-key.yaml"))
        .unwrap()
        .unwrap();
    assert!(old.expires_at.is_some());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let r = h.provision("sa-api", "api-key.yaml", &[]).await;
    r.success();
    assert!(r.stdout.contains("expired"), "{}", r.stdout);
    let new = h.assert_provisioned("sa-api", "api-key.yaml").await;
    assert_ne!(new, old.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_character_name_works_although_the_list_filter_cannot_find_it() {
    let h = Harness::start().await;
    h.provision("ab", "ab.yaml", &[]).await.success();
    h.assert_provisioned("ab", "ab.yaml").await;
    let again = h.provision("ab", "ab.yaml", &[]).await;
    assert!(again.success().stdout.starts_with("Up to date"), "{}", again.stdout);
    h.assert_provisioned("ab", "ab.yaml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_scopes_replace_the_key_and_output_dash_prints_it_once() {
    let h = Harness::start().await;
    h.provision("sa-api", "api-key.yaml", &[]).await.success();
    let r = h
        .provision("sa-api", "api-key.yaml", &["--scope", "yc.ai.foundationModels.execute"])
        .await;
    r.success();
    assert!(r.stdout.contains("other scopes"), "{}", r.stdout);
    h.assert_provisioned("sa-api", "api-key.yaml").await;

    // `--output -`: the key file's document on stdout, the summary on stderr.
    let r = h.provision("sa-out", "-", &[]).await;
    r.success();
    let doc: serde_norway::Value = serde_norway::from_str(&r.stdout).unwrap();
    assert!(doc["secret"].as_str().is_some_and(|s| !s.is_empty()));
    let printed = yc_iam::provision::StoredKey::from_yaml(&r.stdout).expect("stdout is a key file");
    assert_eq!(doc["api_key"]["id"].as_str(), Some(printed.id.as_str()));
    assert!(r.stderr.contains("printed to stdout"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_can_be_granted_on_the_cloud_and_several_roles_at_once() {
    let h = Harness::start().await;
    let r = h
        .provision(
            "sa-cloud",
            "cloud.yaml",
            &[
                "--cloud-id",
                super::CLOUD,
                "--role",
                "ai.languageModels.user",
                "--role",
                "ai.models.user",
                "--format",
                "json",
            ],
        )
        .await;
    let report: serde_json::Value = serde_json::from_str(&r.success().stdout).unwrap();
    assert_eq!(report["bindings"]["resource_type"], "cloud");
    assert_eq!(report["bindings"]["added"].as_array().unwrap().len(), 2);
    let snap = h.emu.snapshot();
    let sa = snap.service_account_named("sa-cloud").unwrap();
    let on_cloud = snap.access_bindings.get(super::CLOUD).cloned().unwrap_or_default();
    assert_eq!(
        on_cloud
            .iter()
            .filter(|b| b.subject.as_ref().is_some_and(|s| s.id == sa.id))
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_with_a_documented_speechkit_scope_works_on_the_in_process_emulator() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = super::bare_command(dir.path());
    cmd.args([
        "--emulator",
        "provision",
        "--folder-id",
        yc_iam::emulator::DEFAULT_FOLDER_ID,
        "--name",
        "sa-speech",
        "--scopes",
        "yc.ai.speechkitStt.execute,yc.ai.speechkitTts.execute",
        "--output",
        "speech.yaml",
    ]);
    let r = run(cmd).await;
    r.success();
    let stored = yc_iam::provision::StoredKey::read(&dir.path().join("speech.yaml"))
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.scopes,
        vec!["yc.ai.speechkitStt.execute", "yc.ai.speechkitTts.execute"]
    );
}

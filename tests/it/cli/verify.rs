//! `provision --verify`: the new key is tried against AI Studio's tokenizer until it works, with
//! the emulator applying new role bindings only after a delay as the cloud does; how long that
//! took is reported, and a key that never works fails the run (exit 1) while staying in place.

use serde_json::Value;
use tonic::Code;
use yc_iam::{emulator::Fault, provision::StoredKey};

use super::{Harness, bare_command, run};

/// Runs `yc-iam --emulator --emulator-binding-delay DELAY provision … --verify --format json` in
/// `dir`, with extra `args`.
async fn provision_verified(dir: &std::path::Path, delay: &str, args: &[&str]) -> (Option<i32>, Value, String) {
    let mut cmd = bare_command(dir);
    cmd.args([
        "--emulator",
        "--emulator-binding-delay",
        delay,
        "--format",
        "json",
        "provision",
        "--name",
        "sa-verified",
        "--verify",
    ])
    .args(args);
    let done = run(cmd).await;
    let report: Value = serde_json::from_str(&done.stdout).unwrap_or_else(|e| {
        panic!(
            "a JSON report ({e}); stdout:\n{}\nstderr:\n{}",
            done.stdout, done.stderr
        )
    });
    (done.code, report, done.stderr)
}

#[tokio::test]
async fn verify_waits_for_the_new_binding_and_reports_how_long_the_key_took() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report, stderr) = provision_verified(dir.path(), "2s", &["--output", "key.yaml"]).await;
    assert_eq!(code, Some(0), "{report}\n{stderr}");
    let verification = &report["verification"];
    assert_eq!(verification["status"], "verified", "{report}");
    assert_eq!(
        verification["model_uri"],
        "gpt://b1gemulatorfolder001/yandexgpt-lite/latest"
    );
    // The binding applies 2 s after it was made, and the key was made after it: the first calls
    // were refused. Loose bounds: this is about behaviour, not speed.
    let after = verification["usable_after_ms"].as_u64().expect("usable_after_ms");
    assert!(after >= 1500, "usable only once the binding applied: {after} ms");
    assert!(verification["attempts"].as_u64().unwrap_or(0) > 1, "{report}");
    let stored = StoredKey::read(&dir.path().join("key.yaml"))
        .unwrap()
        .expect("the key file");
    assert_eq!(report["api_key"]["id"], stored.id.as_str());
}

#[tokio::test]
async fn a_key_without_the_models_scope_fails_verification_within_the_timeout_and_stays_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--scope",
        "yc.ai.imageGeneration.execute",
        "--verify-timeout",
        "3s",
        "--output",
        "key.yaml",
    ];
    let (code, report, stderr) = provision_verified(dir.path(), "0s", &args).await;
    assert_eq!(code, Some(1), "{report}\n{stderr}");
    let verification = &report["verification"];
    assert_eq!(verification["status"], "failed", "{report}");
    let waited = verification["waited_ms"].as_u64().expect("waited_ms");
    // Refusals are tried again through the window, and no pause runs past its end; the upper
    // bound leaves a second for a timer or a call that ends late on a loaded machine.
    assert!((2_000..=4_000).contains(&waited), "gave up at the timeout: {waited} ms");
    // The emulator's PERMISSION_DENIED message, with the request ids of the last call.
    let message = "the API key does not have the scope yc.ai.languageModels.execute";
    assert!(stderr.contains(message), "{stderr}");
    assert!(stderr.contains("server-request-id: "), "{stderr}");
    // The key stays in its sink.
    let stored = StoredKey::read(&dir.path().join("key.yaml"))
        .unwrap()
        .expect("the key file");
    assert_eq!(report["api_key"]["id"], stored.id.as_str());
}

#[tokio::test]
async fn a_key_for_the_caller_that_fails_verification_is_still_printed_since_it_stays_live() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = bare_command(dir.path());
    cmd.args(["--emulator", "--format", "json", "provision", "--name", "sa-verified"])
        .args(["--verify", "--verify-timeout", "1s", "--output", "-"])
        .args(["--scope", "yc.ai.imageGeneration.execute"]);
    let done = run(cmd).await;
    assert_eq!(done.code, Some(1), "{}\n{}", done.stdout, done.stderr);
    let key: Value = serde_json::from_str(&done.stdout)
        .unwrap_or_else(|e| panic!("the key on stdout ({e}): {}\n{}", done.stdout, done.stderr));
    assert!(
        key["secret"].as_str().is_some_and(|s| !s.is_empty()),
        "the secret of the live key: {key}"
    );
    assert!(
        !done.stderr.contains(key["secret"].as_str().unwrap()),
        "no secret on stderr"
    );
}

#[tokio::test]
async fn an_authorized_key_is_verified_through_the_iam_token_it_is_exchanged_for() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--key-type", "authorized-key", "--output", "key.json"];
    let (code, report, stderr) = provision_verified(dir.path(), "1s", &args).await;
    assert_eq!(code, Some(0), "{report}\n{stderr}");
    assert_eq!(report["verification"]["status"], "verified", "{report}");
    assert!(report["verification"]["usable_after_ms"].is_u64(), "{report}");
}

#[tokio::test]
async fn a_kept_key_in_a_key_file_is_verified_again() {
    let h = Harness::start().await;
    let first = h.provision("sa-kept", "key.yaml", &["--verify"]).await;
    first.success();
    let again = h
        .provision("sa-kept", "key.yaml", &["--verify", "--format", "json"])
        .await;
    again.success();
    let report: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(report["api_key"]["action"], "kept", "{report}");
    assert_eq!(report["verification"]["status"], "verified", "{report}");
    assert_eq!(report["verification"]["attempts"], 1, "{report}");
}

#[tokio::test]
async fn verify_is_refused_for_static_keys_and_planned_in_a_dry_run() {
    let h = Harness::start().await;
    let refused = h
        .provision("sa-static", "credentials", &["--key-type", "static-key", "--verify"])
        .await;
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("--key-type"), "{}", refused.stderr);
    assert!(h.emu.journal().is_empty(), "nothing was sent");
    let bad_model = h
        .provision(
            "sa-model",
            "key.yaml",
            &["--verify", "--verify-model", "yandexgpt-lite"],
        )
        .await;
    assert_eq!(bad_model.code, Some(2), "{}", bad_model.stderr);
    assert!(bad_model.stderr.contains("--verify-model"), "{}", bad_model.stderr);
    let without = h.provision("sa-model", "key.yaml", &["--verify-timeout", "5s"]).await;
    assert_eq!(
        without.code,
        Some(2),
        "--verify-timeout needs --verify: {}",
        without.stderr
    );

    let plan = h
        .provision(
            "sa-plan",
            "key.yaml",
            &[
                "--verify",
                "--verify-model",
                "gpt://b1gclitestfolder0001/yandexgpt/rc",
                "--dry-run",
                "--format",
                "json",
            ],
        )
        .await;
    plan.success();
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(plan["verification"]["status"], "planned", "{plan}");
    assert_eq!(
        plan["verification"]["model_uri"],
        "gpt://b1gclitestfolder0001/yandexgpt/rc"
    );
    assert_eq!(plan["verification"]["timeout_ms"], 120_000);
    let tokenized = h.emu.journal().iter().any(|e| e.method.contains("Tokenize"));
    assert!(!tokenized, "a dry run sends no model call");
}

/// The report of a second `provision --verify` run into `sink` for `name`, after a first.
async fn rerun_verified(h: &Harness, name: &str, sink: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--verify"];
    args.extend_from_slice(extra);
    h.provision(name, sink, &args).await.success();
    args.extend_from_slice(&["--format", "json"]);
    let again = h.provision(name, sink, &args).await;
    again.success();
    serde_json::from_str(&again.stdout).unwrap_or_else(|e| panic!("a JSON report ({e}): {}", again.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_key_in_a_dotenv_file_or_a_kubernetes_manifest_is_read_back_and_verified_again() {
    let h = Harness::start().await;
    for (name, sink) in [("sa-env", "env:{kind}.env"), ("sa-k8s", "k8s:{kind}.yaml")] {
        for kind in ["api-key", "authorized-key"] {
            let tokenized_before = tokenize_calls(&h);
            let sink = sink.replace("{kind}", kind);
            let report = rerun_verified(&h, &format!("{name}-{kind}"), &sink, &["--key-type", kind]).await;
            assert_eq!(report["api_key"]["action"], "kept", "{sink} {kind}: {report}");
            assert_eq!(report["verification"]["status"], "verified", "{sink} {kind}: {report}");
            assert_eq!(report["verification"]["attempts"], 1, "{sink} {kind}: {report}");
            assert_eq!(tokenize_calls(&h), tokenized_before + 2, "one check per run");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_key_in_lockbox_is_read_back_from_its_payload_and_verified_again() {
    let h = Harness::start().await;
    let report = rerun_verified(&h, "sa-lockbox", "lockbox://ai-key", &[]).await;
    assert_eq!(report["api_key"]["action"], "kept", "{report}");
    assert_eq!(report["verification"]["status"], "verified", "{report}");
    let read = h.emu.journal().iter().filter(|e| e.method == PAYLOAD_GET).count();
    assert_eq!(
        read, 1,
        "the kept key's version is read once, by the second run's check"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_key_in_a_lockbox_payload_the_caller_may_not_read_is_reported_as_not_tried_and_why() {
    let h = Harness::start().await;
    h.provision("sa-lockbox", "lockbox://ai-key", &["--verify"])
        .await
        .success();
    h.emu.set_fault(
        PAYLOAD_GET,
        Fault::FailFirst {
            n: 1,
            code: Code::PermissionDenied,
        },
    );
    let again = h
        .provision("sa-lockbox", "lockbox://ai-key", &["--verify", "--format", "json"])
        .await;
    again.success();
    let report: Value = serde_json::from_str(&again.stdout).unwrap();
    let verification = &report["verification"];
    assert_eq!(verification["status"], "skipped", "{report}");
    let reason = verification["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("may not read the payload of lockbox secret"),
        "{reason}"
    );
    assert!(reason.contains("lockbox.payloadViewer"), "{reason}");
    let text = h.provision("sa-lockbox", "lockbox://ai-key", &["--verify"]).await;
    text.success();
    assert!(text.stdout.contains("verification:"), "{}", text.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparsable_kept_authorized_key_fails_verification_naming_the_file_without_its_secret() {
    let h = Harness::start().await;
    let kind = ["--key-type", "authorized-key", "--verify"];
    h.provision("sa-json", "key.json", &kind).await.success();
    h.provision("sa-env", "env:.env", &kind).await.success();
    // The key file: its private key broken, its ids intact.
    let path = h.path("key.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    doc["private_key"] = Value::from("PLEASE-DO-NOT-SHOW-this-private-key");
    std::fs::write(&path, doc.to_string()).unwrap();
    // The dotenv file: the key's document cut short, its id intact.
    let env = std::fs::read_to_string(h.path(".env")).unwrap();
    let broken: String = env
        .lines()
        .map(|l| match l.strip_prefix("YC_AUTHORIZED_KEY=") {
            Some(_) => "YC_AUTHORIZED_KEY='{\"id\": \"PLEASE-DO-NOT-SHOW\"'\n".to_owned(),
            None => format!("{l}\n"),
        })
        .collect();
    std::fs::write(h.path(".env"), broken).unwrap();

    for (name, sink, file) in [("sa-json", "key.json", "key.json"), ("sa-env", "env:.env", ".env")] {
        let run = h.provision(name, sink, &kind).await;
        assert_eq!(run.code, Some(1), "{sink}: {}\n{}", run.stdout, run.stderr);
        let error = run
            .stderr_lines()
            .into_iter()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_default();
        assert!(
            error.contains(&format!("cannot read the kept key from {file}")),
            "{sink}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("PLEASE-DO-NOT-SHOW"), "{}", run.stderr);
        assert!(!run.stdout.contains("PLEASE-DO-NOT-SHOW"), "{}", run.stdout);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dotenv_file_whose_authorized_key_was_swapped_for_another_fails_verification_naming_both() {
    let h = Harness::start().await;
    let kind = ["--key-type", "authorized-key", "--verify"];
    h.provision("sa-kept", "env:kept.env", &kind).await.success();
    h.provision("sa-other", "env:other.env", &kind).await.success();
    // The other account's key document put in place of the kept one; the kept key's id stays.
    let document = |file: &str| {
        let text = std::fs::read_to_string(h.path(file)).unwrap();
        text.lines()
            .find(|l| l.starts_with("YC_AUTHORIZED_KEY="))
            .expect("the key's entry")
            .to_owned()
    };
    let (kept, other) = (document("kept.env"), document("other.env"));
    let swapped = std::fs::read_to_string(h.path("kept.env"))
        .unwrap()
        .replace(&kept, &other);
    std::fs::write(h.path("kept.env"), swapped).unwrap();

    let run = h.provision("sa-kept", "env:kept.env", &kind).await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("cannot read the kept key from"), "{}", run.stderr);
    assert!(run.stderr.contains("not the kept key"), "{}", run.stderr);
    assert!(!run.stderr.contains("PRIVATE KEY"), "{}", run.stderr);
}

const PAYLOAD_GET: &str = "/yandex.cloud.lockbox.v1.PayloadService/Get";

fn tokenize_calls(h: &Harness) -> usize {
    h.emu
        .journal()
        .iter()
        .filter(|e| e.method.ends_with("/Tokenize"))
        .count()
}

//! A `provision` that fails part way (here: the API refuses to create the key) says what it had
//! already done before the error, in every output format, and exits 1; run again once the cause
//! is gone, it finishes the job.

use tonic::Code;
use yc_iam::emulator::Fault;

use super::{FOLDER, Harness, Run};

const CREATE_KEY: &str = "/yandex.cloud.iam.v1.ApiKeyService/Create";
const ROLE: &str = "ai.languageModels.user";

/// A harness whose emulator refuses every `ApiKeyService.Create` (not a retryable code, so the
/// run fails at once).
async fn refusing_keys() -> Harness {
    let h = Harness::start().await;
    h.emu.set_fault(
        CREATE_KEY,
        Fault::FailFirst {
            n: u32::MAX,
            code: Code::PermissionDenied,
        },
    );
    h
}

fn account_id(h: &Harness, name: &str) -> String {
    let snap = h.emu.snapshot();
    let sa = snap.service_accounts.iter().find(|sa| sa.name == name);
    sa.expect("the account was created before the failure").id.clone()
}

fn failed(r: &Run) {
    assert_eq!(r.code, Some(1), "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("cannot create an API key"),
        "the error is on stderr: {}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_failing_at_the_key_prints_the_account_and_role_it_made_then_the_error() {
    let h = refusing_keys().await;
    let r = h.provision("sa-api", "api-key.yaml", &[]).await;
    failed(&r);
    let id = account_id(&h, "sa-api");
    assert!(r.stdout.starts_with("Stopped by an error"), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("sa-api ({id}): created")), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("{ROLE} on folder {FOLDER}: added")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("api key"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("Authorization"),
        "no usage hint without a key: {}",
        r.stdout
    );
    assert!(!h.path("api-key.yaml").exists());

    // A second failing run found what the first made: nothing new, and it says so.
    let r = h.provision("sa-api", "api-key.yaml", &[]).await;
    failed(&r);
    assert!(r.stdout.contains(&format!("sa-api ({id}): exists")), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("{ROLE} on folder {FOLDER}: present")),
        "{}",
        r.stdout
    );

    // Without the fault, a rerun converges on the state of one uninterrupted run.
    h.emu.clear_faults();
    let r = h.provision("sa-api", "api-key.yaml", &[]).await;
    r.success();
    assert!(r.stdout.contains("created, written to"), "{}", r.stdout);
    h.assert_provisioned("sa-api", "api-key.yaml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_reports_what_it_did_in_json_and_yaml_too() {
    let h = refusing_keys().await;
    for (format, name) in [("json", "sa-json"), ("yaml", "sa-yaml")] {
        let r = h.provision(name, "api-key.yaml", &["--format", format]).await;
        failed(&r);
        let report: serde_json::Value = if format == "json" {
            serde_json::from_str(&r.stdout).expect("the partial report is JSON")
        } else {
            serde_norway::from_str(&r.stdout).expect("the partial report is YAML")
        };
        let id = account_id(&h, name);
        assert_eq!(report["dry_run"], false, "{format}: {report}");
        assert_eq!(report["up_to_date"], false, "{format}: {report}");
        assert_eq!(report["service_account"]["id"], id.as_str(), "{format}: {report}");
        assert_eq!(report["service_account"]["action"], "created", "{format}: {report}");
        assert_eq!(
            report["bindings"]["added"],
            serde_json::json!([ROLE]),
            "{format}: {report}"
        );
        assert!(report.get("api_key").is_none(), "{format}: no key was made: {report}");
        let error = report["error"].as_str().unwrap_or_default();
        assert!(error.contains("cannot create an API key"), "{format}: {report}");
    }
}

//! `yc-iam plan` and `yc-iam apply` as a user runs them: plan exits 3 while the cloud differs
//! from the manifest and 0 once it matches; apply asks unless --yes and refuses to guess without
//! a terminal; a broken manifest is exit 2 with file:line:column and path, and nothing is sent.

use super::{FOLDER, Harness};

fn fleet(dir: &std::path::Path, body: &str) -> String {
    let path = dir.join("fleet.yaml");
    let text = format!(
        "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {{ name: ci }}\ndefaults: {{ folder_id: {FOLDER} }}\nservice_accounts:\n{body}"
    );
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

const BODY: &str = "  - { name: sa-one, roles: [viewer] }\n  - { name: sa-two, roles: [editor, viewer] }\n";

#[tokio::test]
async fn plan_exits_3_until_apply_makes_the_cloud_match_then_0() {
    let h = Harness::start().await;
    let file = fleet(h.dir.path(), BODY);
    let plan = h.run(&["plan", "-f", &file]).await;
    assert_eq!(plan.code, Some(3), "{}", plan.stderr);
    assert!(plan.stdout.contains("+ sa-two (create in folder"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("2 to create, 0 to change, 0 to delete."),
        "{}",
        plan.stdout
    );
    assert!(
        h.emu.journal().iter().all(|e| !e.method.ends_with("/Create")),
        "plan creates nothing"
    );

    let apply = h.run(&["apply", "-f", &file, "--yes"]).await;
    apply.success();
    assert!(apply.stdout.contains("✓ sa-two ("), "{}", apply.stdout);
    assert!(apply.stdout.ends_with("2 accounts, 0 failed.\n"), "{}", apply.stdout);

    let again = h.run(&["plan", "-f", &file, "--format", "json"]).await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    let view: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(
        view["summary"],
        serde_json::json!({ "create": 0, "change": 0, "delete": 0 })
    );
    assert_eq!(view["accounts"][1]["action"], "unchanged");
}

#[tokio::test]
async fn apply_without_a_terminal_needs_yes_and_sends_nothing_without_it() {
    let h = Harness::start().await;
    let file = fleet(h.dir.path(), BODY);
    let run = h.run(&["apply", "-f", &file]).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(
        run.stderr_lines(),
        ["error: apply changes the cloud: pass --yes to apply without a terminal to confirm on"]
    );
    assert!(h.emu.journal().is_empty(), "nothing sent");
}

#[tokio::test]
async fn a_broken_manifest_is_exit_2_with_its_position_and_path_and_nothing_is_sent() {
    let h = Harness::start().await;
    let file = fleet(
        h.dir.path(),
        "  - name: sa-one\n    keys: [{ type: ssh-key, output: a }]\n",
    );
    for command in ["plan", "apply"] {
        let run = h
            .run(&[command, "-f", &file, "--yes"][..if command == "plan" { 3 } else { 4 }])
            .await;
        assert_eq!(run.code, Some(2), "{}", run.stderr);
        let expected = format!(
            "error: {file}:7:20: service_accounts[0].keys[0].type: unknown variant `ssh-key`, expected one of `api-key`, `authorized-key`, `static-key`"
        );
        assert_eq!(run.stderr_lines(), [expected.as_str()]);
    }
    let missing = h.run(&["plan", "-f", "no-such.yaml"]).await;
    assert_eq!(missing.code, Some(2));
    assert!(
        missing
            .stderr
            .starts_with("error: no-such.yaml: cannot read the manifest:"),
        "{}",
        missing.stderr
    );
    assert!(h.emu.journal().is_empty(), "nothing sent");
}

#[tokio::test]
async fn apply_prints_the_manifest_schema_for_editors() {
    let h = Harness::start().await;
    let run = h.run(&["apply", "--schema"]).await;
    run.success();
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(schema["properties"]["apiVersion"]["const"], "yc-iam/v1");
    assert_eq!(
        schema["properties"]["service_accounts"]["items"]["additionalProperties"],
        false
    );
}

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

#[tokio::test]
async fn the_example_fleet_applies_against_the_built_in_emulator_with_every_key_in_its_sink() {
    let h = Harness::start().await;
    // The example as shipped, with its sinks moved from /tmp into this test's own folder.
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fleet.yaml")).unwrap();
    let secrets = h.path("secrets");
    let example = h.path("fleet.yaml");
    std::fs::write(
        &example,
        shipped.replace("/tmp/yc-iam-fleet-example", &secrets.to_string_lossy()),
    )
    .unwrap();
    let example = example.to_string_lossy().into_owned();
    let mut cmd = super::bare_command(h.dir.path());
    cmd.args(["apply", "--emulator", "-f", &example, "--yes"]);
    let run = super::run(cmd).await;
    run.success();
    assert!(run.stdout.contains("✓ sa-chat ("), "{}", run.stdout);
    assert!(run.stdout.contains("✓ sa-ci ("), "{}", run.stdout);
    assert!(run.stdout.ends_with("2 accounts, 0 failed.\n"), "{}", run.stdout);
    let api_key = std::fs::read_to_string(secrets.join("chat-api-key.yaml")).unwrap();
    assert!(api_key.contains("secret: "), "an API key file");
    let s3 = std::fs::read_to_string(secrets.join("chat-s3.env")).unwrap();
    assert!(
        s3.contains("AWS_ACCESS_KEY_ID=") && s3.contains("AWS_SECRET_ACCESS_KEY="),
        "{}",
        s3.len()
    );
    let key_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(secrets.join("ci-key.json")).unwrap()).unwrap();
    assert!(key_json["private_key"].as_str().unwrap().contains("PRIVATE KEY"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&secrets), 0o700, "the folder made for the sinks");
        for file in ["chat-api-key.yaml", "chat-s3.env", "ci-key.json"] {
            assert_eq!(mode(&secrets.join(file)), 0o600, "{file}");
        }
    }
}

#[tokio::test]
async fn plan_and_report_as_json_hold_every_key_change_and_prune_the_text_shows_without_secrets() {
    let h = Harness::start().await;
    let key = |name: &str| format!("{{ type: api-key, scopes: [yc.ai.languageModels.execute], output: {name}.yaml }}");
    let both = format!("  - name: sa-one\n    keys: [{}, {}]\n", key("one"), key("two"));
    let file = fleet(h.dir.path(), &both);
    let plan = h.run(&["plan", "-f", &file, "--format", "json"]).await;
    assert_eq!(plan.code, Some(3), "{}", plan.stderr);
    let view: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let first = &view["accounts"][0]["keys"][0];
    assert_eq!(first["type"], "api-key");
    assert_eq!(first["action"], "create");
    assert_eq!(first["reason"], "no key file yet");
    assert!(first["output"].as_str().unwrap().ends_with("one.yaml"), "{first}");
    assert_eq!(view["accounts"][0]["keys"].as_array().unwrap().len(), 2);

    let apply = h.run(&["apply", "-f", &file, "--yes", "--format", "json"]).await;
    apply.success();
    let report: serde_json::Value = serde_json::from_str(&apply.stdout).unwrap();
    let done: Vec<&str> = report["accounts"][0]["done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(done.iter().filter(|d| d.starts_with("+ key ")).count(), 2, "{done:?}");
    let two = yc_iam::provision::StoredKey::read(&h.path("two.yaml"))
        .unwrap()
        .unwrap();

    // The second entry removed: with --prune its key is in the plan, the report, and nowhere a secret.
    let file = fleet(h.dir.path(), &format!("  - name: sa-one\n    keys: [{}]\n", key("one")));
    let plan = h.run(&["plan", "-f", &file, "--prune", "--format", "json"]).await;
    assert_eq!(plan.code, Some(3), "{}", plan.stderr);
    let view: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(view["accounts"][0]["keys"][0]["action"], "keep");
    assert_eq!(
        view["accounts"][0]["keys_to_prune"],
        serde_json::json!([{ "type": "api-key", "id": two.id }])
    );
    assert_eq!(view["summary"]["change"], 1);
    let apply = h
        .run(&["apply", "-f", &file, "--prune", "--yes", "--format", "json"])
        .await;
    apply.success();
    let report: serde_json::Value = serde_json::from_str(&apply.stdout).unwrap();
    assert_eq!(
        report["accounts"][0]["done"],
        serde_json::json!([format!("- key {}", two.id)])
    );
    for text in [&plan.stdout, &apply.stdout] {
        assert!(
            !text.contains(secrecy::ExposeSecret::expose_secret(&two.secret)),
            "no secret in a plan or report"
        );
    }
}

/// Runs `yc-iam ARGS > stdout.txt` with stderr (and stdin) on a pseudo-terminal, through
/// util-linux `script`; `None` where there is no `script`. Returns what the terminal showed and
/// what stdout got.
#[cfg(unix)]
async fn on_a_terminal(h: &Harness, args: &[&str]) -> Option<(String, String)> {
    let out = h.path("stdout.txt");
    let line = format!(
        "'{}' {} > '{}'",
        env!("CARGO_BIN_EXE_yc-iam"),
        args.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" "),
        out.display()
    );
    let template = h.command();
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qefc", &line, "/dev/null"]).current_dir(h.dir.path());
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let run = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().ok()?;
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stdout));
    let shown = String::from_utf8_lossy(&run.stdout).into_owned();
    Some((shown, std::fs::read_to_string(out).unwrap()))
}

#[cfg(unix)]
#[tokio::test]
async fn apply_on_a_terminal_shows_a_bar_per_phase_on_stderr_and_off_one_nothing_but_the_report() {
    let h = Harness::start().await;
    let key = "{ type: api-key, scopes: [yc.ai.languageModels.execute], output: one.yaml }";
    let file = fleet(
        h.dir.path(),
        &format!("{BODY}  - {{ name: sa-three, keys: [{key}] }}\n"),
    );
    let Some((terminal, stdout)) = on_a_terminal(&h, &["apply", "-f", &file, "--yes"]).await else {
        eprintln!("no `script` here: the terminal is not tested");
        return;
    };
    for bar in [
        "accounts  [########################] 3/3",
        "bindings  [########################] 1/1",
        "keys      [########################] 1/1",
    ] {
        assert!(terminal.contains(bar), "{bar}\n{terminal}");
    }
    assert!(
        !terminal.contains("deletions"),
        "a phase with nothing to do shows no bar:\n{terminal}"
    );
    assert!(stdout.ends_with("3 accounts, 0 failed.\n"), "{stdout}");
    assert!(!stdout.contains('['), "no bar on stdout:\n{stdout}");

    // Off a terminal: the report on stdout, nothing on stderr.
    let file = fleet(h.dir.path(), &format!("{BODY}  - {{ name: sa-four }}\n"));
    let run = h.run(&["apply", "-f", &file, "--yes"]).await;
    run.success();
    assert_eq!(run.stderr, "", "nothing on stderr off a terminal");
    assert!(run.stdout.contains("✓ sa-four ("), "{}", run.stdout);
}

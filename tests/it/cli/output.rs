//! Output shapes: yaml and json parse and have the documented fields; text is aligned.

use super::{FOLDER, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_and_json_parse_and_have_the_documented_shapes() {
    let h = Harness::start().await;
    let r = h
        .run(&[
            "sa",
            "create",
            "--folder-id",
            FOLDER,
            "--name",
            "sa-shape",
            "--labels",
            "env=test",
            "--format",
            "yaml",
        ])
        .await;
    let sa: serde_norway::Value = serde_norway::from_str(&r.success().stdout).unwrap();
    for field in ["id", "folder_id", "created_at", "name", "labels", "status"] {
        assert!(
            sa.get(field).is_some(),
            "service account yaml lacks {field}: {}",
            r.stdout
        );
    }
    assert_eq!(sa["status"].as_str(), Some("ACTIVE"));
    let id = sa["id"].as_str().unwrap().to_owned();

    let r = h.run(&["sa", "list", "--folder-id", FOLDER, "--format", "json"]).await;
    let list: serde_json::Value = serde_json::from_str(&r.success().stdout).unwrap();
    assert!(list.as_array().unwrap().iter().any(|s| s["id"] == id.as_str()));

    // `api-key create` prints the yc shape: api_key {…} and secret.
    let r = h
        .run(&[
            "api-key",
            "create",
            "--service-account-id",
            &id,
            "--scopes",
            "yc.ai.languageModels.execute",
        ])
        .await;
    let created: serde_norway::Value = serde_norway::from_str(&r.success().stdout).unwrap();
    assert!(created["secret"].as_str().is_some_and(|s| !s.is_empty()));
    for field in ["id", "service_account_id", "created_at", "scopes"] {
        assert!(created["api_key"].get(field).is_some(), "api_key lacks {field}");
    }
    let r = h
        .run(&[
            "api-key",
            "list",
            "--service-account-name",
            "sa-shape",
            "--folder-id",
            FOLDER,
            "--format",
            "json",
        ])
        .await;
    let keys: serde_json::Value = serde_json::from_str(&r.success().stdout).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert!(
        !r.stdout.contains(created["secret"].as_str().unwrap()),
        "list never shows a secret"
    );

    let r = h
        .run(&[
            "folder",
            "add-access-binding",
            FOLDER,
            "--role",
            "viewer",
            "--subject",
            &format!("serviceAccount:{id}"),
            "--format",
            "json",
        ])
        .await;
    let deltas: serde_json::Value = serde_json::from_str(&r.success().stdout).unwrap();
    assert_eq!(deltas[0]["action"], "ADD");
    assert_eq!(deltas[0]["access_binding"]["subject"]["type"], "serviceAccount");
    let r = h
        .run(&["folder", "list-access-bindings", FOLDER, "--format", "yaml"])
        .await;
    let bindings: serde_norway::Value = serde_norway::from_str(&r.success().stdout).unwrap();
    assert_eq!(bindings[0]["role_id"].as_str(), Some("viewer"));

    let r = h
        .run(&[
            "provision",
            "--folder-id",
            FOLDER,
            "--name",
            "sa-report",
            "--format",
            "json",
        ])
        .await;
    let report: serde_json::Value = serde_json::from_str(&r.success().stdout).unwrap();
    assert_eq!(report["up_to_date"], false);
    assert_eq!(report["service_account"]["action"], "created");
    assert_eq!(report["bindings"]["added"][0], "ai.languageModels.user");
    assert_eq!(report["api_key"]["action"], "created");
    assert_eq!(report["api_key"]["file"], "api-key.yaml");
    let r = h
        .run(&[
            "provision",
            "--folder-id",
            FOLDER,
            "--name",
            "sa-report",
            "--format",
            "yaml",
        ])
        .await;
    let report: serde_norway::Value = serde_norway::from_str(&r.success().stdout).unwrap();
    assert_eq!(report["up_to_date"].as_bool(), Some(true));
    assert_eq!(report["api_key"]["action"].as_str(), Some("kept"));

    // `--async` returns the operation; `operation wait` finishes it.
    let r = h.run(&["sa", "delete", &id, "--async", "--format", "json"]).await;
    let op: serde_json::Value = serde_json::from_str(&r.success().stdout).unwrap();
    let op_id = op["id"].as_str().unwrap();
    let r = h.run(&["operation", "wait", op_id, "--format", "json"]).await;
    let done: serde_json::Value = serde_json::from_str(&r.success().stdout).unwrap();
    assert_eq!(done["done"], true);
    assert_eq!(done["metadata"]["service_account_id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_is_aligned_for_people() {
    let h = Harness::start().await;
    for name in ["sa-a", "sa-long-name-here"] {
        h.run(&["sa", "create", "--folder-id", FOLDER, "--name", name])
            .await
            .success();
    }
    let r = h.run(&["sa", "list", "--folder-id", FOLDER]).await;
    let lines: Vec<&str> = r.success().stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert!(lines[0].starts_with("ID"));
    let column = lines[0].find("NAME").unwrap();
    for line in &lines[1..] {
        assert_eq!(line.find("sa-"), Some(column), "columns line up:\n{}", r.stdout);
    }
    let r = h.run(&["sa", "get", "--name", "sa-a", "--folder-id", FOLDER]).await;
    let values: Vec<usize> = r
        .success()
        .stdout
        .lines()
        .filter_map(|l| {
            l.find(": ")
                .map(|i| i + l[i..].find(|c: char| c != ':' && c != ' ').unwrap_or(0))
        })
        .collect();
    assert!(values.windows(2).all(|w| w[0] == w[1]), "values line up:\n{}", r.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_works_end_to_end() {
    let h = Harness::start().await;
    let json = |r: &super::Run| -> serde_json::Value { serde_json::from_str(&r.stdout).unwrap() };
    let r = h
        .run(&[
            "sa",
            "create",
            "--folder-id",
            FOLDER,
            "--name",
            "sa-all",
            "--format",
            "json",
        ])
        .await;
    let id = json(r.success())["id"].as_str().unwrap().to_owned();

    let r = h
        .run(&[
            "sa",
            "update",
            "--id",
            &id,
            "--description",
            "updated",
            "--labels",
            "a=b",
            "--format",
            "json",
        ])
        .await;
    let sa = json(r.success());
    assert_eq!(
        (sa["name"].as_str(), sa["description"].as_str()),
        (Some("sa-all"), Some("updated"))
    );
    let r = h
        .run(&["sa", "update", &id, "--new-name", "sa-renamed", "--format", "json"])
        .await;
    assert_eq!(json(r.success())["name"], "sa-renamed");

    let r = h
        .run(&[
            "api-key",
            "create",
            "--service-account-name",
            "sa-renamed",
            "--folder-id",
            FOLDER,
            "--format",
            "json",
            "--expires-in",
            "30d",
            "--scopes",
            "yc.ai.languageModels.execute",
        ])
        .await;
    let key = json(r.success())["api_key"]["id"].as_str().unwrap().to_owned();
    let r = h
        .run(&[
            "api-key",
            "update",
            &key,
            "--description",
            "renamed key",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(json(r.success())["description"], "renamed key");
    let r = h.run(&["api-key", "get", &key, "--format", "json"]).await;
    assert!(json(r.success())["expires_at"].is_string());
    let r = h.run(&["api-key", "list-scopes", "--format", "json"]).await;
    assert!(
        json(r.success())
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "yc.ai.languageModels.execute")
    );
    let r = h.run(&["api-key", "delete", &key]).await;
    assert_eq!(r.success().stdout.trim(), format!("deleted API key {key}"));

    let subject = format!("serviceAccount:{id}");
    h.run(&[
        "cloud",
        "add-access-binding",
        super::CLOUD,
        "--role",
        "viewer",
        "--subject",
        &subject,
    ])
    .await
    .success();
    let r = h
        .run(&[
            "cloud",
            "add-access-binding",
            "--cloud-id",
            super::CLOUD,
            "--role",
            "viewer",
            "--service-account-id",
            &id,
        ])
        .await;
    assert!(r.success().stdout.contains("no change"), "{}", r.stdout);
    let r = h.run(&["cloud", "list-access-bindings", super::CLOUD]).await;
    assert!(r.success().stdout.contains(&id));
    let r = h
        .run(&[
            "cloud",
            "remove-access-binding",
            super::CLOUD,
            "--role",
            "viewer",
            "--subject",
            &subject,
            "--format",
            "json",
        ])
        .await;
    assert_eq!(json(r.success())[0]["action"], "REMOVE");

    let r = h.run(&["operation", "get", "ajenosuchoperation00"]).await;
    assert_eq!(r.code, Some(1));
    let r = h
        .run(&["sa", "delete", "--name", "sa-renamed", "--folder-id", FOLDER])
        .await;
    assert_eq!(r.success().stdout.trim(), format!("deleted service account {id}"));
    assert!(h.emu.snapshot().service_accounts.iter().all(|sa| sa.id != id));
}

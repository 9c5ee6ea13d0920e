//! A JSON Schema of the manifest, for editors (`yc-iam apply --schema`). It describes the shape
//! and the simple rules; the full rules are the manifest checker's.

use serde_json::{Value, json};

use super::manifest::API_VERSION;

/// The manifest's JSON Schema (draft 2020-12).
pub fn schema() -> Value {
    let id = json!({ "type": "string", "pattern": "^[a-zA-Z0-9_-]{1,50}$" });
    let description = json!({ "type": "string", "maxLength": 256 });
    let role =
        json!({ "type": "string", "maxLength": 64, "pattern": "^[a-zA-Z][a-zA-Z0-9_-]*(\\.[a-zA-Z][a-zA-Z0-9_-]*)*$" });
    let key = key_schema(&description);
    let account = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["name"],
        "properties": {
            "name": { "type": "string", "pattern": "^[a-z]([-a-z0-9]{0,61}[a-z0-9])$" },
            "folder_id": id,
            "description": description,
            "labels": {
                "type": "object",
                "maxProperties": 62,
                "propertyNames": { "pattern": "^[a-z][-_0-9a-z]{0,62}$", "not": { "enum": ["managed-by", "fleet"] } },
                "additionalProperties": { "type": "string", "pattern": "^[-_0-9a-z]{0,63}$" }
            },
            "roles": {
                "type": "array",
                "items": {
                    "oneOf": [
                        role,
                        {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["role"],
                            "properties": { "role": role, "folder_id": id, "cloud_id": id },
                            "not": { "required": ["folder_id", "cloud_id"] }
                        }
                    ]
                }
            },
            "keys": {
                "type": "array",
                "items": key
            }
        }
    });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "yc-iam fleet manifest",
        "type": "object",
        "additionalProperties": false,
        "required": ["apiVersion", "kind", "metadata"],
        "properties": {
            "apiVersion": { "const": API_VERSION },
            "kind": { "const": "Fleet" },
            "metadata": {
                "type": "object",
                "additionalProperties": false,
                "required": ["name"],
                "properties": {
                    "name": {
                        "type": "string",
                        "pattern": "^[-_0-9a-z]{1,63}$",
                        "description": "the fleet: the fleet label of its accounts and the marker of its keys"
                    }
                }
            },
            "defaults": {
                "type": "object",
                "additionalProperties": false,
                "properties": { "folder_id": id }
            },
            "service_accounts": {
                "type": "array",
                "items": account
            }
        }
    })
}

/// The schema of one key entry.
fn key_schema(description: &Value) -> Value {
    let duration = json!({
        "type": "string",
        "pattern": "^([0-9]+(ms|s|m|h|d|w))+$",
        "description": "such as 200ms, 30s, 5m, 12h, 90d, 1w or 1h30m"
    });
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["type", "output"],
        "properties": {
            "type": { "enum": ["api-key", "authorized-key", "static-key"] },
            "output": {
                "type": "string",
                "minLength": 1,
                "not": { "const": "-" },
                "description": "a file path, env:PATH, k8s:PATH or lockbox://NAME (or ID); relative paths are relative to the manifest"
            },
            "scopes": { "type": "array", "maxItems": 100, "uniqueItems": true, "items": { "type": "string", "maxLength": 256 } },
            "expires_in": duration,
            "rotate_after": duration,
            "algorithm": { "enum": ["rsa-2048", "rsa-4096"] },
            "description": description
        },
        "allOf": [
            { "if": { "not": { "properties": { "type": { "const": "api-key" } } } },
              "then": { "not": { "anyOf": [ { "required": ["scopes"] }, { "required": ["expires_in"] } ] } } },
            { "if": { "not": { "properties": { "type": { "const": "authorized-key" } } } },
              "then": { "not": { "required": ["algorithm"] } } }
        ]
    })
}

//! The OpenAPI document: a reviewed snapshot, the rules generated clients rely on, and
//! agreement between what the document says and what the server answers.
//!
//! Update the snapshot after an intended change with
//! `UPDATE_SNAPSHOTS=1 cargo test --test api openapi`, and review the diff.

use rstest::rstest;

use crate::support::Backend;

use std::collections::BTreeSet;
use std::path::PathBuf;

use awc::http::Method;
use serde_json::Value;

use crate::support::{TestApp, random_id};

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json")
}

async fn served_document(app: &TestApp) -> Value {
    app.get("/openapi.json").await.json_with_status(200)
}

/// `(path, method, operation)` for every operation in the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    let paths = doc["paths"].as_object().expect("the document has paths");
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for (method, operation) in item {
            if HTTP_METHODS.contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), operation.clone()));
            }
        }
    }
    out
}

fn is_operation_id(id: &str) -> bool {
    if id == "ping" {
        return true;
    }
    // ^[a-z]+_[a-z_]+$
    let Some((head, tail)) = id.split_once('_') else {
        return false;
    };
    !head.is_empty()
        && head.bytes().all(|b| b.is_ascii_lowercase())
        && !tail.is_empty()
        && tail.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

#[test]
fn operation_id_rule_accepts_and_rejects_as_intended() {
    for good in ["ping", "get_task", "check_readiness", "list_tasks", "a_b_"] {
        assert!(is_operation_id(good), "{good}");
    }
    for bad in [
        "",
        "pong",
        "getTask",
        "get-task",
        "_get",
        "get_",
        "get_task1",
        "Get_task",
    ] {
        assert!(!is_operation_id(bad), "{bad}");
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn served_openapi_document_matches_the_snapshot(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    let rendered = format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).expect("the document serialises")
    );
    let path = snapshot_path();
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("the snapshot has a folder"))
            .expect("cannot create tests/snapshots");
        std::fs::write(&path, &rendered).expect("cannot write the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the OpenAPI snapshot {} ({e}); create it with \
             `UPDATE_SNAPSHOTS=1 cargo test --test api openapi`",
            path.display()
        )
    });
    if expected != rendered {
        let first_difference = expected
            .lines()
            .zip(rendered.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map_or_else(
                || "the documents differ in length".to_owned(),
                |(n, (a, b))| format!("line {}: snapshot `{a}`, served `{b}`", n + 1),
            );
        panic!(
            "the served /openapi.json differs from {} ({first_difference}). If the change is \
             intended, update the snapshot with `UPDATE_SNAPSHOTS=1 cargo test --test api \
             openapi` and review the diff.",
            path.display()
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn every_operation_has_an_operation_id_and_a_4xx_response(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    let operations = operations(&doc);
    assert!(!operations.is_empty());
    let mut ids = BTreeSet::new();
    for (path, method, operation) in &operations {
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(is_operation_id(id), "{method} {path}: operationId {id:?}");
        assert!(ids.insert(id.to_owned()), "operationId {id} is unique");
        let responses = operation["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} has no responses"));
        assert!(
            responses.keys().any(|status| status.starts_with('4')),
            "{method} {path} declares a 4xx response"
        );
        assert!(
            responses.keys().any(|status| status.starts_with('2')),
            "{method} {path} declares a 2xx response"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn every_path_parameter_is_declared(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    let mut checked = 0;
    for (path, method, operation) in operations(&doc) {
        let templated: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let path_level = doc["paths"][&path]["parameters"].as_array().cloned();
        let declared: Vec<Value> = operation["parameters"]
            .as_array()
            .cloned()
            .into_iter()
            .chain(path_level)
            .flatten()
            .filter(|p| p["in"] == "path")
            .collect();
        for name in &templated {
            let parameter = declared
                .iter()
                .find(|p| p["name"] == *name)
                .unwrap_or_else(|| panic!("{method} {path} does not declare `{name}`"));
            assert_eq!(parameter["required"], true, "{method} {path} {name}");
            checked += 1;
        }
        assert_eq!(
            declared.len(),
            templated.len(),
            "{method} {path}: path parameters match the template"
        );
    }
    assert!(checked >= 4, "the /tasks/{{id}} operations were checked");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn every_documented_path_allows_exactly_its_documented_methods(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    let paths = doc["paths"].as_object().expect("the document has paths");
    for (path, item) in paths {
        let documented: BTreeSet<String> = item
            .as_object()
            .expect("a path item is an object")
            .keys()
            .filter(|k| HTTP_METHODS.contains(&k.as_str()))
            .map(|k| k.to_ascii_uppercase())
            .collect();
        let concrete = path.replace("{id}", &random_id());
        let response = app.call(Method::OPTIONS, &concrete, None).await;
        response.assert_problem(405);
        let allowed: BTreeSet<String> = response
            .require_header("allow")
            .split(',')
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty())
            .collect();
        assert_eq!(allowed, documented, "OPTIONS {path}: Allow vs the document");
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_document_declares_the_bearer_scheme_and_a_server(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    let scheme = &doc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert!(
        doc["servers"].as_array().is_some_and(|s| !s.is_empty()),
        "a servers entry"
    );
    for (path, method, operation) in operations(&doc) {
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearerAuth").is_some()));
        let public = [
            "/ping",
            "/health/live",
            "/health/ready",
            "/register",
            "/login",
            "/token/refresh",
            "/password/forgot",
            "/password/reset",
            "/email/verify",
        ]
        .contains(&path.as_str());
        assert_eq!(secured, !public, "{method} {path}: security");
    }
    let problem = &doc["components"]["schemas"]["Problem"]["properties"];
    for key in ["type", "title", "status", "detail", "request_id", "errors"] {
        assert!(problem.get(key).is_some(), "Problem documents `{key}`");
    }
}

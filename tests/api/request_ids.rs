//! Headers on every response: `X-Request-Id` and `X-Content-Type-Options: nosniff`.

use rstest::rstest;

use crate::support::Backend;

use awc::http::Method;
use serde_json::json;

use crate::support::{Response, TestApp, send, string};

fn is_sane_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// The test client connects from loopback: trusting it makes it a proxy.
const LOOPBACK_IS_A_PROXY: [(&str, &str); 1] =
    [("TASKAPI__SERVER__TRUSTED_PROXIES", "127.0.0.1,::1")];

fn assert_common_headers(what: &str, response: &Response) {
    let id = response.require_header("x-request-id");
    assert!(is_sane_id(id), "{what}: X-Request-Id {id:?}");
    assert_eq!(
        response.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn every_response_carries_a_request_id_and_nosniff(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let created = app.create_task(&user.token, &json!({"title": "t"})).await;
    let id = string(&created.json()["id"]);
    let responses = [
        ("200 ping", app.get("/ping").await),
        ("200 docs", app.get("/docs").await),
        ("200 openapi", app.get("/openapi.json").await),
        ("201 create", created),
        ("200 list", app.list_tasks(&user.token).await),
        ("204 delete", app.delete_task(&user.token, &id).await),
        ("401", app.get("/tasks").await),
        ("404 route", app.get("/nope").await),
        ("404 task", app.get_task(&user.token, &id).await),
        ("404 asset", app.get("/docs/nope.js").await),
        ("405", app.call(Method::DELETE, "/tasks", None).await),
        ("422", app.get("/ping?x=1").await),
    ];
    let mut seen = std::collections::HashSet::new();
    for (what, response) in &responses {
        assert_common_headers(what, response);
        assert!(
            seen.insert(response.require_header("x-request-id").to_owned()),
            "{what}: request ids are unique"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_sane_request_id_from_a_trusted_proxy_is_echoed_and_quoted_in_problems(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&LOOPBACK_IS_A_PROXY).await;
    let response = send(
        app.request(Method::GET, "/ping")
            .insert_header(("x-request-id", "abc-123"))
            .send(),
    )
    .await;
    response.assert_status(200);
    assert_eq!(response.header("x-request-id"), Some("abc-123"));

    let response = send(
        app.request(Method::GET, "/nope")
            .insert_header(("x-request-id", "abc-123"))
            .send(),
    )
    .await;
    assert_eq!(response.header("x-request-id"), Some("abc-123"));
    let problem = response.assert_problem(404);
    assert_eq!(problem["request_id"], "abc-123");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_insane_request_id_is_replaced_even_from_a_trusted_proxy(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&LOOPBACK_IS_A_PROXY).await;
    for bad in ["bad id!", &"a".repeat(129), "semi;colon", ""] {
        let response = send(
            app.request(Method::GET, "/nope")
                .insert_header(("x-request-id", bad))
                .send(),
        )
        .await;
        let id = response.require_header("x-request-id");
        assert_ne!(id, bad);
        assert!(is_sane_id(id), "replaced by a sane id: {id:?}");
        let problem = response.assert_problem(404);
        assert_eq!(problem["request_id"], id);
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_request_id_from_a_peer_that_is_no_trusted_proxy_is_replaced(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    // No trusted proxies (the default), then proxies that do not include the client.
    for trusted in [None, Some("10.0.0.0/8")] {
        let app = match trusted {
            None => TestApp::spawn().await,
            Some(proxies) => {
                TestApp::spawn_with(&[("TASKAPI__SERVER__TRUSTED_PROXIES", proxies)]).await
            }
        };
        for path in ["/ping", "/nope"] {
            let response = send(
                app.request(Method::GET, path)
                    .insert_header(("x-request-id", "abc-123"))
                    .send(),
            )
            .await;
            let id = response.require_header("x-request-id");
            assert_ne!(id, "abc-123", "{trusted:?} {path}");
            assert!(is_sane_id(id), "{id:?}");
        }
    }
}

//! `GET /metrics`: Prometheus text with requests by method, route pattern and status, their
//! latency, and the database pool's connections and waits; on the API listener by default,
//! off with `metrics.enabled = false`, or on a listener of its own with `metrics.bind`.

use rstest::rstest;

use crate::support::Backend;

use std::time::Duration;

use awc::http::Method;
use serde_json::json;
use taskapi_storage::{Database, PoolSettings};

use crate::support::{Response, TestApp, send, string};

/// The value of the series written exactly `series` (name and labels), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The request counter's series for one method, route and status.
fn requests(method: &str, route: &str, status: u16) -> String {
    format!(r#"taskapi_http_requests_total{{method="{method}",route="{route}",status="{status}"}}"#)
}

#[track_caller]
fn require(text: &str, series: &str) -> f64 {
    value(text, series).unwrap_or_else(|| panic!("no `{series}` in the metrics:\n{text}"))
}

/// `GET /metrics` from `base` (`http://host:port`), asserted to be Prometheus text.
async fn scrape_at(app: &TestApp, base: &str) -> String {
    let response = send(app.http.get(format!("{base}/metrics")).send()).await;
    response.assert_status(200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4"),
        "Prometheus' text format"
    );
    assert!(response.header("x-request-id").is_some(), "a request id");
    response.text()
}

async fn scrape(app: &TestApp) -> String {
    scrape_at(app, &app.address).await
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn metrics_count_requests_by_route_pattern_and_status_and_show_the_pool(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let first = string(&app.task(&user.token, "one").await["id"]);
    let second = string(&app.task(&user.token, "two").await["id"]);
    app.get_task(&user.token, &first).await.assert_status(200);
    app.get_task(&user.token, &second).await.assert_status(200);
    let missing = uuid::Uuid::now_v7().to_string();
    app.get_task(&user.token, &missing)
        .await
        .assert_problem(404);
    app.get("/no/such/route").await.assert_problem(404);
    app.get("/tasks/a/b/c").await.assert_problem(404);
    // A refused method and a refused token still count under the resource's pattern.
    app.call(Method::POST, &format!("/tasks/{first}"), Some(&user.token))
        .await
        .assert_problem(405);
    app.get_task("not-a-token", &first)
        .await
        .assert_problem(401);

    let text = scrape(&app).await;

    // By the route's pattern, never the raw path: ids do not multiply the series.
    assert_eq!(require(&text, &requests("GET", "/tasks/{id}", 200)), 2.0);
    assert_eq!(require(&text, &requests("GET", "/tasks/{id}", 404)), 1.0);
    assert_eq!(require(&text, &requests("POST", "/tasks/{id}", 405)), 1.0);
    assert_eq!(require(&text, &requests("GET", "/tasks/{id}", 401)), 1.0);
    assert_eq!(require(&text, &requests("POST", "/tasks", 201)), 2.0);
    for raw in [&first, &second, &missing] {
        assert!(
            !text.contains(raw.as_str()),
            "the id {raw} is in the metrics:\n{text}"
        );
    }
    // Every unknown path under one label.
    assert_eq!(require(&text, &requests("GET", "unmatched", 404)), 2.0);
    assert!(
        !text.contains("/no/such/route") && !text.contains("/tasks/a/b/c"),
        "{text}"
    );

    // A latency histogram in seconds, per series.
    assert!(
        text.contains("# TYPE taskapi_http_request_duration_seconds histogram"),
        "{text}"
    );
    let latency = "taskapi_http_request_duration_seconds";
    let labels = r#"method="GET",route="/tasks/{id}",status="200""#;
    let every_bucket = format!(r#"{latency}_bucket{{{labels},le="+Inf"}}"#);
    assert_eq!(require(&text, &every_bucket), 2.0);
    let fastest = format!(r#"{latency}_bucket{{{labels},le="0.0005"}}"#);
    assert!(require(&text, &fastest) <= 2.0, "buckets are cumulative");
    assert_eq!(require(&text, &format!("{latency}_count{{{labels}}}")), 2.0);
    let sum = require(&text, &format!("{latency}_sum{{{labels}}}"));
    assert!(sum > 0.0 && sum < 60.0, "{sum} seconds for two reads");

    // The pool: its connections now, and its checkouts and waits so far.
    let max = require(&text, "taskapi_db_pool_max_connections");
    let open = require(&text, "taskapi_db_pool_connections");
    let idle = require(&text, "taskapi_db_pool_idle_connections");
    assert!(
        max >= 1.0 && open >= 1.0 && open <= max && idle <= open,
        "{text}"
    );
    assert!(
        require(&text, "taskapi_db_pool_checkouts_total") >= 5.0,
        "{text}"
    );
    for counter in [
        "taskapi_db_pool_waits_total",
        "taskapi_db_pool_wait_seconds_total",
        "taskapi_db_pool_timeouts_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {counter} counter")),
            "{text}"
        );
        assert!(require(&text, counter) >= 0.0);
    }

    // Scrapes are requests too, and /metrics answers only GET.
    let again = scrape(&app).await;
    assert_eq!(require(&again, &requests("GET", "/metrics", 200)), 1.0);
    let post = app.call(Method::POST, "/metrics", None).await;
    post.assert_problem(405);
    assert_eq!(post.header("allow"), Some("GET"));
}

/// Takes the database's write lock through a connection of its own, so that a write by the
/// application blocks while holding its pool's only connection.
fn lock_writes(database: &Database) -> taskapi_storage::HeldConnection {
    let mut held = database
        .hold_connection()
        .unwrap_or_else(|e| panic!("no connection of our own: {e}"));
    let lock = if database.backend_name() == "sqlite" {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN; LOCK TABLE tasks IN EXCLUSIVE MODE"
    };
    held.execute_sql(lock)
        .unwrap_or_else(|e| panic!("cannot lock writes: {e}"));
    held
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_request_that_waits_for_the_pool_in_vain_shows_as_a_wait_and_a_timeout(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__DATABASE__POOL_SIZE", "1"),
        ("TASKAPI__DATABASE__POOL_TIMEOUT", "500ms"),
    ])
    .await;
    let user = app.user().await;
    let id = string(&app.task(&user.token, "kept").await["id"]);
    let before = scrape(&app).await;
    assert_eq!(require(&before, "taskapi_db_pool_max_connections"), 1.0);

    let settings = PoolSettings {
        size: 1,
        timeout: Duration::from_secs(5),
    };
    let database = Database::connect(&app.settings.database.url, settings)
        .unwrap_or_else(|e| panic!("cannot open the test database: {e}"));
    let mut held = lock_writes(&database);
    // This write takes the pool's only connection and waits for the lock…
    let blocked_write = actix_web::rt::spawn(send(
        app.request(Method::POST, "/tasks")
            .bearer_auth(&user.token)
            .send_json(&json!({"title": "blocked"})),
    ));
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    // … so this read waits for a connection until the pool timeout, and gets a 503.
    let read: Response = app.get_task(&user.token, &id).await;
    read.assert_problem(503);
    held.execute_sql("ROLLBACK")
        .unwrap_or_else(|e| panic!("cannot unlock: {e}"));
    drop(held);
    let write = blocked_write
        .await
        .unwrap_or_else(|e| panic!("the write task: {e}"));
    write.assert_status(201);

    let after = scrape(&app).await;
    let grew = |name: &str| require(&after, name) - require(&before, name);
    assert!(
        grew("taskapi_db_pool_waits_total") >= 1.0,
        "{before}\n---\n{after}"
    );
    assert!(
        grew("taskapi_db_pool_timeouts_total") >= 1.0,
        "{before}\n---\n{after}"
    );
    assert!(
        grew("taskapi_db_pool_wait_seconds_total") >= 0.4,
        "the 500ms wait is counted:\n{before}\n---\n{after}"
    );
    assert_eq!(require(&after, &requests("GET", "/tasks/{id}", 503)), 1.0);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn disabled_metrics_are_an_unknown_route(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__METRICS__ENABLED", "false")]).await;
    app.get("/ping").await.assert_status(200);
    app.get("/metrics").await.assert_problem(404);
    assert_eq!(app.metrics_address, None);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn metrics_bound_elsewhere_are_served_only_there(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__METRICS__BIND", "127.0.0.1:0")]).await;
    let metrics = app
        .metrics_address
        .clone()
        .expect("metrics.bind gives the metrics a listener of their own");
    assert_ne!(metrics, app.address);

    app.get("/ping").await.assert_status(200);
    app.get("/metrics").await.assert_problem(404);

    let text = scrape_at(&app, &metrics).await;
    assert_eq!(
        require(&text, &requests("GET", "/ping", 200)),
        1.0,
        "the API's requests are counted"
    );
    assert_eq!(
        require(&text, &requests("GET", "unmatched", 404)),
        1.0,
        "the API listener's /metrics is an unknown route"
    );
    assert!(require(&text, "taskapi_db_pool_max_connections") >= 1.0);

    // The metrics listener serves nothing else.
    let other = send(app.http.get(format!("{metrics}/ping")).send()).await;
    other.assert_problem(404);
}

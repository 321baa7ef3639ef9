//! `GET /events` end to end: the change feed as server-sent events — each change as it
//! commits, resuming after `Last-Event-ID` or `?cursor=`, heartbeats, single-use tickets for
//! `EventSource`, the per-user cap, the end of a stream with its session, other users'
//! changes never shown, a stale cursor refused (410), and a change made through another
//! instance delivered.
//!
//! On PostgreSQL a change shows once no transaction older than its own is still running on
//! the server (other tests' included), so waits for an event are generous; nothing is
//! asserted about how long they take.

use std::pin::Pin;
use std::time::Duration;

use actix_web::http::Method;
use actix_web::web::Bytes;
use futures_util::{Stream, StreamExt};
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::response::Response;
use crate::support::{Backend, Client, TestApp, TestUser, string};

/// Longest wait for an event a test caused.
const DEADLINE: Duration = Duration::from_secs(60);

/// One thing a stream sent.
#[derive(Debug, Clone, PartialEq)]
enum Sent {
    /// An event: its `id:`, `event:` and `data:` (parsed).
    Event {
        id: String,
        name: String,
        data: Value,
    },
    /// A comment line (`: …`), such as a heartbeat.
    Comment(String),
    /// A `retry:` line.
    Retry(String),
}

/// An open stream, read as it comes.
struct Events {
    body: Pin<Box<dyn Stream<Item = Result<Bytes, awc::error::PayloadError>>>>,
    buffer: String,
    /// Headers of the answer.
    content_type: String,
}

impl Events {
    /// Opens `path` with `headers`; the answer when it is not a stream.
    async fn open(
        client: &Client,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Events, Response> {
        let request = client
            .request_with(Method::GET, path, token, headers)
            .timeout(DEADLINE);
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        if response.status().as_u16() != 200 {
            let status = response.status();
            let headers = response.headers().clone();
            let mut response = response;
            let body = response
                .body()
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            return Err(Response {
                status,
                headers,
                body,
                elapsed: Duration::ZERO,
            });
        }
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(Events {
            body: Box::pin(response),
            buffer: String::new(),
            content_type,
        })
    }

    /// The next thing sent within `within`; `None` when the stream ended, panics when
    /// nothing came in time.
    async fn next(&mut self, within: Duration) -> Option<Sent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&block));
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .unwrap_or_else(|_| {
                    panic!("nothing sent within {within:?}; so far {:?}", self.buffer)
                });
            match chunk {
                Some(Ok(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next change event (comments and retry lines skipped).
    async fn next_change(&mut self) -> (String, Value) {
        loop {
            match self.next(DEADLINE).await {
                Some(Sent::Event { id, name, data }) => {
                    assert_eq!(name, "change");
                    return (id, data);
                }
                Some(_) => {}
                None => panic!("the stream ended while a change was awaited"),
            }
        }
    }

    /// The next change event about a task titled `title`, skipping others.
    async fn change_titled(&mut self, title: &str) -> (String, Value) {
        loop {
            let (id, change) = self.next_change().await;
            if change["data"]["title"] == title {
                return (id, change);
            }
        }
    }
}

/// One block of the stream (lines up to a blank line).
fn parse(block: &str) -> Sent {
    let (mut id, mut name, mut data) = (None, None, None);
    for line in block.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix(':') {
            // A block may hold a retry line and a comment together; the comment is what
            // tells the opening apart.
            if id.is_none() && name.is_none() && data.is_none() {
                return Sent::Comment(comment.trim().to_owned());
            }
        } else if let Some(v) = line.strip_prefix("retry: ") {
            if !block.contains("\nevent:") {
                return Sent::Retry(v.to_owned());
            }
        } else if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("event: ") {
            name = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("data: ") {
            data = Some(serde_json::from_str(v).unwrap_or_else(|e| panic!("{v}: {e}")));
        } else {
            panic!("not a line of server-sent events: {line:?} in {block:?}");
        }
    }
    Sent::Event {
        id: id.unwrap_or_else(|| panic!("no id: {block:?}")),
        name: name.unwrap_or_else(|| panic!("no event: {block:?}")),
        data: data.unwrap_or_else(|| panic!("no data: {block:?}")),
    }
}

async fn stream(app: &Client, user: &TestUser, query: &str) -> Events {
    Events::open(app, &format!("/events{query}"), Some(&user.token), &[])
        .await
        .unwrap_or_else(|r| panic!("{} {}", r.status, r.text()))
}

async fn ticket(app: &Client, user: &TestUser) -> String {
    let response = app
        .call(Method::POST, "/events/ticket", Some(&user.token))
        .await;
    let body = response.json_with_status(201);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(body["expires_in"], 30);
    string(&body["ticket"])
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_stream_sends_each_change_as_it_commits_and_resumes_after_the_last_event(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let mut events = stream(&app, &alice, "").await;
    assert!(
        events.content_type.starts_with("text/event-stream"),
        "{}",
        events.content_type
    );
    // It opens with how long to wait before reconnecting.
    assert_eq!(
        events.next(DEADLINE).await,
        Some(Sent::Retry("3000".into()))
    );
    let task = app.task(&alice.token, "first").await;
    let (first_id, change) = events.change_titled("first").await;
    assert_eq!(change["entity"], "task");
    assert_eq!(change["op"], "upsert");
    assert_eq!(change["id"], task["id"]);
    assert_eq!(
        change["cursor"],
        json!(first_id),
        "the event's id is the change's cursor"
    );
    assert_eq!(
        change["data"], task,
        "the task as GET /tasks/{{id}} shows it"
    );
    // A deletion is a change too.
    app.delete_task(&alice.token, &string(&task["id"]))
        .await
        .assert_status(204);
    loop {
        let (_, change) = events.next_change().await;
        if change["id"] == task["id"] && change["op"] == "delete" {
            assert_eq!(change["data"], Value::Null);
            break;
        }
    }
    drop(events);
    // Resuming after the first event: what came after it, and not it.
    app.task(&alice.token, "second").await;
    let mut resumed = Events::open(
        &app,
        "/events",
        Some(&alice.token),
        &[("Last-Event-ID", &first_id)],
    )
    .await
    .unwrap_or_else(|r| panic!("{}", r.text()));
    let (_, change) = resumed.next_change().await;
    assert_ne!(change["data"]["title"], "first", "{change}");
    resumed.change_titled("second").await;
    // ?cursor= does the same; Last-Event-ID (what EventSource sends on reconnecting) wins.
    let by_query = stream(&app, &alice, &format!("?cursor={first_id}")).await;
    drop(by_query);
    let bad = Events::open(
        &app,
        "/events",
        Some(&alice.token),
        &[("Last-Event-ID", "nope")],
    )
    .await
    .err()
    .unwrap_or_else(|| panic!("a bad Last-Event-ID was accepted"));
    assert_eq!(bad.invalid_fields(), vec!["Last-Event-ID"]);
    for query in ["?cursor=nope", "?limit=5"] {
        let refused = Events::open(&app, &format!("/events{query}"), Some(&alice.token), &[])
            .await
            .err()
            .unwrap_or_else(|| panic!("{query} was accepted"));
        refused.assert_problem(422);
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn another_users_changes_never_show_and_heartbeats_keep_the_stream_open(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__EVENTS__HEARTBEAT", "1s")]).await;
    let alice = app.signed_up("alice@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let mut events = stream(&app, &alice, "").await;
    app.task(&bob.token, "bob's secret").await;
    app.task(&alice.token, "alice's own").await;
    let mut heartbeats = 0;
    loop {
        match events.next(DEADLINE).await {
            Some(Sent::Event { data, .. }) => {
                assert_ne!(data["data"]["title"], "bob's secret", "{data}");
                if data["data"]["title"] == "alice's own" {
                    break;
                }
            }
            Some(Sent::Comment(text)) if text == "heartbeat" => heartbeats += 1,
            Some(_) => {}
            None => panic!("the stream ended"),
        }
    }
    // Nothing of Bob's follows either; heartbeats do.
    while heartbeats < 2 {
        match events.next(DEADLINE).await {
            Some(Sent::Comment(text)) if text == "heartbeat" => heartbeats += 1,
            Some(Sent::Event { data, .. }) => panic!("unexpected change {data}"),
            Some(_) => {}
            None => panic!("the stream ended"),
        }
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_ticket_opens_one_stream_once_and_api_tokens_send_their_header(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let t = ticket(&app, &alice).await;
    let mut events = Events::open(&app, &format!("/events?ticket={t}"), None, &[])
        .await
        .unwrap_or_else(|r| panic!("{}", r.text()));
    app.task(&alice.token, "by ticket").await;
    events.change_titled("by ticket").await;
    // Used up: a second use is 401, as is a made-up ticket or no credential at all.
    for path in [
        format!("/events?ticket={t}"),
        "/events?ticket=made-up".to_owned(),
        "/events".to_owned(),
    ] {
        let refused = Events::open(&app, &path, None, &[])
            .await
            .err()
            .unwrap_or_else(|| panic!("{path} was accepted"));
        refused.assert_unauthorized();
    }
    // A ticket checks nothing but itself: parameters come after the credential.
    let t2 = ticket(&app, &alice).await;
    let refused = Events::open(&app, &format!("/events?ticket={t2}&cursor=nope"), None, &[])
        .await
        .err()
        .unwrap_or_else(|| panic!("a bad cursor was accepted"));
    assert_eq!(refused.invalid_fields(), vec!["cursor"]);
    // A ticket of a session that ended is no good.
    let t3 = ticket(&app, &alice).await;
    app.logout(&alice.token, &alice.refresh_token)
        .await
        .assert_status(204);
    Events::open(&app, &format!("/events?ticket={t3}"), None, &[])
        .await
        .err()
        .unwrap_or_else(|| panic!("a ticket outlived its session"))
        .assert_unauthorized();
    // API tokens: no tickets (403), but the stream with the token as a header, given
    // changes:read.
    let bob = app.signed_up("bob@example.com").await;
    let reader = string(&app.api_token(&bob, &["changes:read"]).await["token"]);
    let other = string(&app.api_token(&bob, &["tasks:read"]).await["token"]);
    app.call(Method::POST, "/events/ticket", Some(&reader))
        .await
        .assert_problem(403);
    let mut by_token = Events::open(&app, "/events", Some(&reader), &[])
        .await
        .unwrap_or_else(|r| panic!("{}", r.text()));
    app.task(&bob.token, "seen by the token").await;
    by_token.change_titled("seen by the token").await;
    Events::open(&app, "/events", Some(&other), &[])
        .await
        .err()
        .unwrap_or_else(|| panic!("a token without changes:read was let in"))
        .assert_problem(403);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_account_holds_at_most_its_streams_and_a_stream_ends_with_its_session(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__EVENTS__MAX_STREAMS_PER_USER", "2"),
        ("TASKAPI__EVENTS__HEARTBEAT", "1s"),
    ])
    .await;
    let alice = app.signed_up("alice@example.com").await;
    let first = stream(&app, &alice, "").await;
    let mut second = stream(&app, &alice, "").await;
    let refused = Events::open(&app, "/events", Some(&alice.token), &[])
        .await
        .err()
        .unwrap_or_else(|| panic!("a third stream was opened"));
    refused.assert_problem(429);
    assert!(refused.header("retry-after").is_some());
    // Another account is not held to Alice's streams.
    let bob = app.signed_up("bob@example.com").await;
    let _bobs = stream(&app, &bob, "").await;
    // Once a stream goes away, another may open (the server notices at its next write).
    drop(first);
    let mut reopened = None;
    for _ in 0..100 {
        match Events::open(&app, "/events", Some(&alice.token), &[]).await {
            Ok(events) => {
                reopened = Some(events);
                break;
            }
            Err(response) => {
                response.assert_problem(429);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert!(reopened.is_some(), "no stream could open after one closed");
    // Logging out ends the session's streams (at their next heartbeat).
    app.logout(&alice.token, &alice.refresh_token)
        .await
        .assert_status(204);
    loop {
        match second.next(DEADLINE).await {
            None => break,
            Some(Sent::Event { data, .. }) => panic!("unexpected change {data}"),
            Some(_) => {}
        }
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_cursor_older_than_the_retention_is_gone(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__SYNC__RETENTION", "1s")]).await;
    let alice = app.signed_up("alice@example.com").await;
    let page = app
        .call(Method::GET, "/changes", Some(&alice.token))
        .await
        .json_with_status(200);
    let cursor = string(&page["next_cursor"]);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let gone = Events::open(
        &app,
        &format!("/events?cursor={cursor}"),
        Some(&alice.token),
        &[],
    )
    .await
    .err()
    .unwrap_or_else(|| panic!("a stale cursor was accepted"));
    gone.assert_problem(410);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_change_made_through_another_instance_reaches_the_stream(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let first = TestApp::spawn().await;
    let second = first.spawn_sibling(&[]).await;
    let alice = first.signed_up("alice@example.com").await;
    let mut events = stream(&second, &alice, "").await;
    first.task(&alice.token, "written through the first").await;
    let (_, change) = events.change_titled("written through the first").await;
    assert_eq!(change["op"], "upsert");
}

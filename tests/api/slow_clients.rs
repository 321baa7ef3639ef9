//! Slow clients and connection limits, over raw TCP sockets against the real server: every
//! request head (not only a connection's first) and every body must arrive in time, else
//! 408 and the connection closes; idle keep-alive connections close; a request running too
//! long answers 503; connections beyond `server.max_connections` wait.
//!
//! Time bounds here are generous ceilings (a limit of 1 s must act within 4 s), never
//! measurements.

use std::time::Duration;

use actix_web::http::Method;
use rstest::rstest;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::support::{Backend, TestApp, send};

/// How long a limit of a second may take to act, at most: generous, and still shorter than
/// the defaults (5 s and more), so that a key the server ignored would fail the test.
const WITHIN: Duration = Duration::from_secs(4);

/// How long an ordinary answer may take, at most.
const ANSWERED: Duration = Duration::from_secs(30);

/// One answer read off a socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    fn problem(&self) -> Value {
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{}",
            self.head
        );
        let problem: Value = serde_json::from_slice(&self.body).unwrap();
        assert_eq!(problem["status"], self.status, "{problem}");
        assert!(
            !problem["request_id"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{problem}"
        );
        problem
    }
}

async fn connect(app: &TestApp) -> TcpStream {
    let address = app.client.address.trim_start_matches("http://").to_owned();
    TcpStream::connect(address).await.unwrap()
}

/// Reads one answer (head and `Content-Length` body); `None` when the connection ends first
/// or `within` passes.
async fn read_answer(socket: &mut TcpStream, within: Duration) -> Option<Answer> {
    let read = async {
        let mut data = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).into_owned();
                let status = head.split(' ').nth(1)?.parse().ok()?;
                let mut answer = Answer {
                    status,
                    head,
                    body: Vec::new(),
                };
                let length: usize = answer.header("content-length")?.parse().ok()?;
                let start = end + 4;
                while data.len() < start + length {
                    let n = socket.read(&mut chunk).await.ok()?;
                    if n == 0 {
                        return None;
                    }
                    data.extend_from_slice(&chunk[..n]);
                }
                answer.body = data[start..start + length].to_vec();
                return Some(answer);
            }
            let n = socket.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            data.extend_from_slice(&chunk[..n]);
        }
    };
    timeout(within, read).await.ok().flatten()
}

/// Whether the server closes the connection within `within` without sending anything more.
async fn closes_silently(socket: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0u8; 1024];
    match timeout(within, socket.read(&mut chunk)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(n)) => panic!("the server sent {:?}", String::from_utf8_lossy(&chunk[..n])),
        Err(_) => false,
    }
}

const PING: &[u8] = b"GET /ping HTTP/1.1\r\nHost: taskapi\r\n\r\n";

async fn ping(socket: &mut TcpStream) -> Answer {
    socket.write_all(PING).await.unwrap();
    read_answer(socket, ANSWERED)
        .await
        .unwrap_or_else(|| panic!("no answer to GET /ping"))
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn every_request_head_must_arrive_in_time_not_only_the_first(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    // A keep-alive far longer than the test: only the head timeout can end these.
    let app = TestApp::spawn_with(&[
        ("TASKAPI__SERVER__REQUEST_HEAD_TIMEOUT", "1s"),
        ("TASKAPI__SERVER__KEEP_ALIVE", "60s"),
    ])
    .await;

    // The first head of a connection.
    let mut first = connect(&app).await;
    first.write_all(b"GET /pi").await.unwrap();
    let answer = read_answer(&mut first, WITHIN).await.unwrap();
    assert_eq!(answer.status, 408, "{}", answer.head);
    answer.problem();
    assert!(closes_silently(&mut first, WITHIN).await);

    // A later one: actix's own timer would hold this connection for ever.
    let mut later = connect(&app).await;
    assert_eq!(ping(&mut later).await.status, 200);
    later.write_all(b"G").await.unwrap();
    let answer = read_answer(&mut later, WITHIN)
        .await
        .unwrap_or_else(|| panic!("a slow second head was held"));
    assert_eq!(answer.status, 408, "{}", answer.head);
    assert_eq!(answer.problem()["status"], 408);
    assert!(answer.header("x-request-id").is_some(), "{}", answer.head);
    assert!(closes_silently(&mut later, WITHIN).await);

    // Heads that arrive in time are served, one after another.
    let mut steady = connect(&app).await;
    for _ in 0..3 {
        assert_eq!(ping(&mut steady).await.status, 200);
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_body_that_stops_arriving_answers_408_and_closes(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__SERVER__REQUEST_BODY_TIMEOUT", "1s"),
        ("TASKAPI__SERVER__KEEP_ALIVE", "60s"),
        ("TASKAPI__CORS__ALLOWED_ORIGINS", "https://app.example.com"),
    ])
    .await;
    let mut socket = connect(&app).await;
    // One byte of a 60-byte body, then nothing; from a page of an allowed origin, which
    // must be able to read the answer.
    socket
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: taskapi\r\nContent-Type: application/json\r\n\
              Origin: https://app.example.com\r\nContent-Length: 60\r\n\r\n{",
        )
        .await
        .unwrap();
    let answer = read_answer(&mut socket, WITHIN)
        .await
        .unwrap_or_else(|| panic!("a slow body was held"));
    assert_eq!(answer.status, 408, "{}", answer.head);
    answer.problem();
    assert_eq!(
        answer.header("access-control-allow-origin").as_deref(),
        Some("https://app.example.com"),
        "{}",
        answer.head
    );
    assert!(closes_silently(&mut socket, WITHIN).await);

    // A body that arrives in time is read as ever (an unknown account: 401).
    let mut socket = connect(&app).await;
    let body = br#"{"email":"nobody@example.com","password":"wrong password!"}"#;
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: taskapi\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(body).await.unwrap();
    let answer = read_answer(&mut socket, ANSWERED).await.unwrap();
    assert_eq!(answer.status, 401, "{}", answer.head);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_body_left_unread_by_an_early_answer_must_still_arrive_in_time(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__SERVER__REQUEST_BODY_TIMEOUT", "1s"),
        ("TASKAPI__SERVER__KEEP_ALIVE", "60s"),
    ])
    .await;
    let mut socket = connect(&app).await;
    // Refused for want of a token before its body is read; actix then reads the rest of a
    // chunked body to keep the connection, which must not let it trickle for ever.
    socket
        .write_all(
            b"POST /tasks HTTP/1.1\r\nHost: taskapi\r\nContent-Type: application/json\r\n\
              Transfer-Encoding: chunked\r\n\r\n10\r\n{\"title\":",
        )
        .await
        .unwrap();
    let answer = read_answer(&mut socket, ANSWERED).await.unwrap();
    assert_eq!(answer.status, 401, "{}", answer.head);
    assert!(
        closes_silently(&mut socket, WITHIN).await,
        "a body left unread kept its connection past server.request_body_timeout"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_idle_keep_alive_connection_is_closed(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__SERVER__KEEP_ALIVE", "1s"),
        ("TASKAPI__SERVER__REQUEST_HEAD_TIMEOUT", "60s"),
    ])
    .await;
    let mut socket = connect(&app).await;
    assert_eq!(ping(&mut socket).await.status, 200);
    assert!(
        closes_silently(&mut socket, WITHIN).await,
        "an idle keep-alive connection stayed open"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_request_running_past_the_request_timeout_answers_503(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    // A registration hashes its password: at this cost it takes far longer than 20 ms.
    let app = TestApp::spawn_with(&[
        ("TASKAPI__SERVER__REQUEST_TIMEOUT", "20ms"),
        ("TASKAPI__THROTTLE__REFUSAL_DELAY", "0s"),
        ("TASKAPI__AUTH__BCRYPT_COST", "10"),
        ("TASKAPI__CORS__ALLOWED_ORIGINS", "https://app.example.com"),
    ])
    .await;
    let response = app
        .register("slow@example.com", "a long enough password")
        .await;
    response.assert_problem(503);
    response.check_unavailable().unwrap();
    // From a page of an allowed origin, the page can read it (and its Retry-After).
    let from_page = send(
        app.request(Method::POST, "/register")
            .insert_header(("origin", "https://app.example.com"))
            .send_json(&json!({"email": "page@example.com", "password": "a long enough password"})),
    )
    .await;
    from_page.assert_problem(503);
    assert_eq!(
        from_page.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert!(
        from_page
            .header("access-control-expose-headers")
            .is_some_and(|h| h.to_ascii_lowercase().contains("retry-after")),
        "{:?}",
        from_page.header("access-control-expose-headers")
    );
    // Counted in the metrics, under a route label of their own.
    let metrics = app.get("/metrics").await.text();
    assert!(
        metrics.contains(
            r#"taskapi_http_requests_total{method="POST",route="timed_out",status="503"} 2"#
        ),
        "{metrics}"
    );
    // Quick requests are still answered.
    app.get("/ping").await.assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn beyond_max_connections_a_new_connection_waits_until_another_closes(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__SERVER__MAX_CONNECTIONS", "1"),
        ("TASKAPI__SERVER__KEEP_ALIVE", "60s"),
        ("TASKAPI__SERVER__REQUEST_HEAD_TIMEOUT", "60s"),
    ])
    .await;
    let mut held = connect(&app).await;
    assert_eq!(ping(&mut held).await.status, 200);

    let mut waiting = connect(&app).await;
    waiting.write_all(PING).await.unwrap();
    assert!(
        read_answer(&mut waiting, Duration::from_secs(2))
            .await
            .is_none(),
        "a connection beyond server.max_connections was served"
    );
    drop(held);
    let answer = read_answer(&mut waiting, ANSWERED)
        .await
        .unwrap_or_else(|| panic!("the waiting connection was not served once the other closed"));
    assert_eq!(answer.status, 200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn clients_are_served_while_200_slow_connections_are_held(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__SERVER__REQUEST_HEAD_TIMEOUT", "60s"),
        ("TASKAPI__SERVER__KEEP_ALIVE", "60s"),
    ])
    .await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut socket = connect(&app).await;
        // A head that never ends.
        socket
            .write_all(b"GET /ping HTTP/1.1\r\nHost: taskapi\r\n")
            .await
            .unwrap();
        slow.push(socket);
    }
    for _ in 0..3 {
        let mut socket = connect(&app).await;
        assert_eq!(ping(&mut socket).await.status, 200);
    }
    app.get("/ping").await.assert_status(200);
    // The slow ones were held, not dropped.
    let mut chunk = [0u8; 16];
    for socket in &mut slow {
        assert!(
            timeout(Duration::from_millis(1), socket.read(&mut chunk))
                .await
                .is_err(),
            "a slow connection was answered or closed"
        );
    }
}

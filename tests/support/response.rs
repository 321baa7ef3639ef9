//! The one response type of every end-to-end test: what a client sees of an answer, read in
//! full, with the assertions the tests share.

use std::time::Duration;

use awc::http::StatusCode;
use awc::http::header::HeaderMap;
use serde_json::{Value, json};

/// Everything a client sees of a response.
#[derive(Debug)]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, read in full.
    pub body: Vec<u8>,
    /// From just before sending to the last byte read.
    pub elapsed: Duration,
}

impl Response {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics, showing the body, if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the {} response body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    /// One header's value as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// One header's value; panics if absent.
    pub fn require_header(&self, name: &str) -> &str {
        self.header(name).unwrap_or_else(|| {
            panic!(
                "the {} response has no {name} header; headers: {:?}",
                self.status, self.headers
            )
        })
    }

    /// The media type of the body, without parameters.
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// Asserts the status, showing the body on failure.
    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "expected status {expected}, got {}; body: {}",
            self.status,
            self.text()
        );
        self
    }

    /// Asserts a 2xx JSON answer with the given status and returns the body.
    #[track_caller]
    pub fn json_with_status(&self, expected: u16) -> Value {
        self.assert_status(expected);
        assert_eq!(
            self.media_type(),
            "application/json",
            "a {expected} answer carries JSON"
        );
        self.json()
    }

    /// Asserts an RFC 9457 problem with the given status and returns its body: the media type
    /// is `application/problem+json`, the body has `type`, `title`, `status` (matching the
    /// response), `detail` and `request_id` (matching `X-Request-Id`), and `errors` exactly
    /// for 422.
    #[track_caller]
    pub fn assert_problem(&self, expected: u16) -> Value {
        self.assert_status(expected);
        assert_eq!(
            self.media_type(),
            "application/problem+json",
            "an error is problem+json; headers: {:?}",
            self.headers
        );
        let body = self.json();
        for key in ["type", "title", "detail", "request_id"] {
            assert!(
                body.get(key).is_some_and(Value::is_string),
                "the problem has no string `{key}`: {body}"
            );
        }
        assert_eq!(
            body["status"],
            json!(expected),
            "the problem's status: {body}"
        );
        assert_eq!(
            body["request_id"].as_str(),
            self.header("x-request-id"),
            "the problem's request_id is the X-Request-Id header"
        );
        if expected == 422 {
            let errors = body["errors"]
                .as_array()
                .unwrap_or_else(|| panic!("a 422 problem lists `errors`: {body}"));
            assert!(!errors.is_empty(), "a 422 names at least one field: {body}");
            for error in errors {
                assert!(
                    error["field"].is_string() && error["message"].is_string(),
                    "each error has a field and a message: {error}"
                );
            }
        } else {
            assert!(
                body.get("errors").is_none(),
                "only a 422 lists errors: {body}"
            );
        }
        body
    }

    /// Asserts a 422 problem and returns the fields it names, in order.
    #[track_caller]
    pub fn invalid_fields(&self) -> Vec<String> {
        let body = self.assert_problem(422);
        body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts a 401 problem carrying `WWW-Authenticate: Bearer …`.
    #[track_caller]
    pub fn assert_unauthorized(&self) -> Value {
        let body = self.assert_problem(401);
        let challenge = self.require_header("www-authenticate");
        assert!(
            challenge.starts_with("Bearer"),
            "the 401 challenge is a Bearer one: {challenge}"
        );
        body
    }

    /// The target of the `Link: <…>; rel="next"` header (a path with its query), if any.
    pub fn next_link(&self) -> Option<String> {
        let links: Vec<&str> = self
            .headers
            .get_all("link")
            .filter_map(|v| v.to_str().ok())
            .collect();
        links.iter().flat_map(|v| v.split(',')).find_map(|link| {
            let (target, params) = link.trim().strip_prefix('<')?.split_once('>')?;
            params
                .split(';')
                .map(str::trim)
                .any(|p| p == "rel=\"next\"" || p == "rel=next")
                .then(|| target.to_owned())
        })
    }

    /// Whether this is a well-formed 503 "database unavailable" answer: problem+json whose
    /// `status` is 503, with a `Retry-After` header. `Err` says what is wrong.
    pub fn check_unavailable(&self) -> Result<(), String> {
        let problem = |why: &str| {
            Err(format!(
                "{why}: status {}, headers {:?}, body {}",
                self.status,
                self.headers,
                self.text()
            ))
        };
        if self.status != 503 {
            return problem("not a 503");
        }
        if self.media_type() != "application/problem+json" {
            return problem("a 503 that is not application/problem+json");
        }
        if self
            .header("retry-after")
            .is_none_or(|v| v.trim().parse::<u64>().is_err())
        {
            return problem("a 503 without a Retry-After of whole seconds");
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(body) if body["status"] == json!(503) && body["title"].is_string() => Ok(()),
            _ => problem("a 503 whose body is not a problem document with status 503"),
        }
    }
}

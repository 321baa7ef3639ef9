//! The one HTTP client of every end-to-end test, whatever runs the server (in-process or a
//! child process): an `awc` client bound to one server's address, with one method per
//! endpoint the tests call. [`crate::support::process::Api`] is its blocking face, for tests
//! that drive servers from plain threads.

use std::time::{Duration, Instant};

use awc::http::Method;
use awc::http::header::HeaderValue;
use awc::{ClientRequest, SendClientRequest};
use serde_json::{Value, json};

use super::fixtures::{PASSWORD, string};
use super::response::Response;

/// Bodies up to this size are read back (Swagger UI's bundle is over a megabyte).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// How long a request may take to be answered when the test sets no deadline of its own.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`send`] waits for an answer and its whole body: past `DEFAULT_TIMEOUT`, which
/// bounds the answer's head, so that a slow body still fails rather than hangs.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// The user's id.
    pub id: String,
    /// The normalised email.
    pub email: String,
    /// The user's access token.
    pub token: String,
    /// The refresh token of the same login.
    pub refresh_token: String,
}

/// A client of one server.
#[derive(Clone)]
pub struct Client {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The HTTP client (cheap to clone: shares its connection pool).
    pub http: awc::Client,
}

/// Sends a request and reads the whole response, within `timeout` from the start: `Err`
/// on a transport failure or when the time runs out first.
pub async fn try_send(request: SendClientRequest, timeout: Duration) -> Result<Response, String> {
    let started = Instant::now();
    let exchange = async {
        let mut response = request
            .await
            .map_err(|e| format!("the request failed: {e}"))?;
        let body = response
            .body()
            .limit(MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| format!("reading the response body failed: {e}"))?;
        Ok(Response {
            status: response.status(),
            headers: response.headers().clone(),
            body: body.to_vec(),
            elapsed: started.elapsed(),
        })
    };
    actix_web::rt::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")))
}

/// Sends a request and reads the whole response; panics on a transport failure.
pub async fn send(request: SendClientRequest) -> Response {
    try_send(request, SEND_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

impl Client {
    /// A client of the server at `address` (`http://host:port`), following no redirect.
    pub fn new(address: String) -> Client {
        let http = awc::Client::builder()
            .timeout(DEFAULT_TIMEOUT)
            .disable_redirects()
            .finish();
        Client { address, http }
    }

    /// Sends one request with an optional JSON body, within `timeout`; `Err` on a transport
    /// failure or when the time runs out first.
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Response, String> {
        let mut request = self.request(method.clone(), path).timeout(timeout);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let sent = match body {
            Some(body) => request.send_json(body),
            None => request.send(),
        };
        try_send(sent, timeout)
            .await
            .map_err(|e| format!("{method} {path}: {e}"))
    }

    /// The absolute URL of a path (which may carry a query string).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request to build further (headers, body) before sending.
    pub fn request(&self, method: Method, path: &str) -> ClientRequest {
        self.http.request(method, self.url(path))
    }

    /// Sends a bodiless request.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>) -> Response {
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        send(request.send()).await
    }

    /// Sends a request with a JSON body (`Content-Type: application/json`).
    pub async fn call_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        send(request.send_json(body)).await
    }

    /// Sends a request with a raw body and the given content type (none if `None`).
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<String>,
    ) -> Response {
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.content_type(content_type);
        }
        send(request.send_body(body.into())).await
    }

    /// A request carrying the token (if any) and the extra headers, to send as the caller
    /// likes. Header values are taken as bytes, so non-ASCII values go out as they are.
    pub fn request_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> ClientRequest {
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            let value = HeaderValue::from_bytes(value.as_bytes())
                .unwrap_or_else(|e| panic!("{name}: {value:?} is no header value: {e}"));
            request = request.insert_header((*name, value));
        }
        request
    }

    /// Sends a bodiless request with extra headers.
    pub async fn call_with_headers(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Response {
        send(self.request_with(method, path, token, headers).send()).await
    }

    /// Sends a JSON request with extra headers.
    pub async fn call_json_with_headers(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Response {
        send(
            self.request_with(method, path, token, headers)
                .send_json(body),
        )
        .await
    }

    /// `GET path` without credentials.
    pub async fn get(&self, path: &str) -> Response {
        self.call(Method::GET, path, None).await
    }

    /// `POST /register`.
    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.call_json(
            Method::POST,
            "/register",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// `POST /login`.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.call_json(
            Method::POST,
            "/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// `GET /me`.
    pub async fn get_me(&self, token: &str) -> Response {
        self.call(Method::GET, "/me", Some(token)).await
    }

    /// `POST /tasks`.
    pub async fn create_task(&self, token: &str, body: &Value) -> Response {
        self.call_json(Method::POST, "/tasks", Some(token), body)
            .await
    }

    /// `GET /tasks`.
    pub async fn list_tasks(&self, token: &str) -> Response {
        self.call(Method::GET, "/tasks", Some(token)).await
    }

    /// `GET /tasks/{id}`.
    pub async fn get_task(&self, token: &str, id: &str) -> Response {
        self.call(Method::GET, &format!("/tasks/{id}"), Some(token))
            .await
    }

    /// `PATCH /tasks/{id}`.
    pub async fn patch_task(&self, token: &str, id: &str, body: &Value) -> Response {
        self.call_json(Method::PATCH, &format!("/tasks/{id}"), Some(token), body)
            .await
    }

    /// `PUT /tasks/{id}`.
    pub async fn put_task(&self, token: &str, id: &str, body: &Value) -> Response {
        self.call_json(Method::PUT, &format!("/tasks/{id}"), Some(token), body)
            .await
    }

    /// `DELETE /tasks/{id}`.
    pub async fn delete_task(&self, token: &str, id: &str) -> Response {
        self.call(Method::DELETE, &format!("/tasks/{id}"), Some(token))
            .await
    }

    /// Registers `email` and logs in.
    pub async fn signed_up(&self, email: &str) -> TestUser {
        let user = self.register(email, PASSWORD).await.json_with_status(201);
        self.logged_in(&string(&user["id"]), email, PASSWORD).await
    }

    /// Logs in a known account.
    pub async fn logged_in(&self, id: &str, email: &str, password: &str) -> TestUser {
        let login = self.login(email, password).await.json_with_status(200);
        TestUser {
            id: id.to_owned(),
            email: email.to_owned(),
            token: string(&login["access_token"]),
            refresh_token: string(&login["refresh_token"]),
        }
    }

    /// `POST /token/refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.call_json(
            Method::POST,
            "/token/refresh",
            None,
            &json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// `POST /logout`.
    pub async fn logout(&self, token: &str, refresh_token: &str) -> Response {
        self.call_json(
            Method::POST,
            "/logout",
            Some(token),
            &json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// `POST /logout/all`.
    pub async fn logout_all(&self, token: &str) -> Response {
        self.call(Method::POST, "/logout/all", Some(token)).await
    }

    /// `POST /me/password`.
    pub async fn change_password(&self, token: &str, current: &str, new: &str) -> Response {
        self.call_json(
            Method::POST,
            "/me/password",
            Some(token),
            &json!({"current_password": current, "new_password": new}),
        )
        .await
    }

    /// `DELETE /me`.
    pub async fn delete_me(&self, token: &str) -> Response {
        self.call(Method::DELETE, "/me", Some(token)).await
    }

    /// A registered, logged-in user with a generic email.
    pub async fn user(&self) -> TestUser {
        self.signed_up("someone@example.com").await
    }

    /// Creates a task titled `title` and returns its body.
    pub async fn task(&self, token: &str, title: &str) -> Value {
        self.create_task(token, &json!({"title": title}))
            .await
            .json_with_status(201)
    }
}

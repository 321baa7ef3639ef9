//! The test harness: [`TestApp`] runs the real application in-process on a random port with
//! a database of its own — an SQLite file in a temporary folder, or a fresh PostgreSQL
//! database when the test runs on that backend — and talks to it over HTTP with `awc`.

use std::cell::Cell;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use awc::http::header::{HeaderMap, HeaderValue};
use awc::http::{Method, StatusCode};
use awc::{Client, ClientRequest, SendClientRequest};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use taskapi::{Application, Settings};
use taskapi_storage_testing::PostgresTestDatabase;
use tempfile::TempDir;

/// The storage backend a test runs on (see the `e2e!` macro).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the server `TASKAPI_TEST_DATABASE_URL` names.
    Postgres,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Sqlite) };
}

/// Runs a test body with every [`TestApp`] it spawns on `backend`. Each `#[actix_web::test]`
/// runs on its own single-threaded runtime, so a thread-local is the test's own.
pub async fn on_backend<F: Future<Output = ()>>(backend: Backend, test: F) {
    BACKEND.with(|b| b.set(backend));
    test.await;
}

/// Whether PostgreSQL tests can run here (says once why not, when they cannot).
pub fn postgres_available() -> bool {
    taskapi_storage_testing::postgres_server_url().is_some()
}
/// The HS256 secret the test server signs with (at least 32 bytes).
pub const JWT_SECRET: &str = "end-to-end-tests-secret-with-more-than-32-bytes";
/// A password that satisfies the policy.
pub const PASSWORD: &str = "correct horse battery staple";
/// Bodies up to this size are read back (Swagger UI's bundle is over a megabyte).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// A running application and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// `http://127.0.0.1:<port>` of the metrics listener, when `metrics.bind` gave it one of
    /// its own.
    pub metrics_address: Option<String>,
    /// An HTTP client (cheap to clone: shares its connection pool).
    pub client: Client,
    /// The settings the application runs with.
    pub settings: Settings,
    /// The configuration variables it was started with (to start another instance).
    pub vars: Vec<(String, String)>,
    /// The database folder; deleted when the test ends.
    _data: TempDir,
    /// The PostgreSQL database, when on that backend; dropped when the test ends.
    _postgres: Option<PostgresTestDatabase>,
}

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

/// Everything a client sees of a response.
#[derive(Debug)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, read in full.
    pub body: Vec<u8>,
}

impl TestResponse {
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
}

/// Sends a request and reads the whole response.
pub async fn send(request: SendClientRequest) -> TestResponse {
    let mut response = request
        .await
        .unwrap_or_else(|e| panic!("the request failed: {e}"));
    let body = response
        .body()
        .limit(MAX_RESPONSE_BYTES)
        .await
        .unwrap_or_else(|e| panic!("reading the response body failed: {e}"));
    TestResponse {
        status: response.status(),
        headers: response.headers().clone(),
        body: body.to_vec(),
    }
}

impl TestApp {
    /// Starts the application on a random port with a fresh database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Starts another instance of `self`'s application on the same database, with extra
    /// configuration variables.
    pub async fn spawn_sibling(&self, extra: &[(&str, &str)]) -> TestApp {
        let mut vars = self.vars.clone();
        for (key, value) in extra {
            vars.retain(|(k, _)| k != key);
            vars.push(((*key).to_owned(), (*value).to_owned()));
        }
        let data = TempDir::new().unwrap_or_else(|e| panic!("cannot make a temp dir: {e}"));
        Self::start(vars, data, None).await
    }

    /// Starts the application with extra configuration variables (`TASKAPI__…`).
    pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
        let data = TempDir::new().unwrap_or_else(|e| panic!("cannot make a temp dir: {e}"));
        let postgres = match BACKEND.with(Cell::get) {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                PostgresTestDatabase::create()
                    .unwrap_or_else(|e| panic!("cannot create a PostgreSQL test database: {e}"))
                    .expect("TASKAPI_TEST_DATABASE_URL is set for PostgreSQL tests"),
            ),
        };
        let database_url = match &postgres {
            Some(db) => db.url().to_owned(),
            None => format!("sqlite://{}", data.path().join("taskapi.db").display()),
        };
        let mut vars: Vec<(String, String)> = [
            ("TASKAPI_ENV", "test".to_owned()),
            ("TASKAPI__DATABASE__URL", database_url),
            ("TASKAPI__SERVER__HOST", "127.0.0.1".to_owned()),
            ("TASKAPI__SERVER__PORT", "0".to_owned()),
            ("TASKAPI__SERVER__WORKERS", "2".to_owned()),
            ("TASKAPI__SERVER__SHUTDOWN_TIMEOUT", "1s".to_owned()),
            ("TASKAPI__AUTH__BCRYPT_COST", "4".to_owned()),
            ("TASKAPI__AUTH__JWT_SECRET", JWT_SECRET.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (key, value) in extra {
            vars.retain(|(k, _)| k != key);
            vars.push(((*key).to_owned(), (*value).to_owned()));
        }
        Self::start(vars, data, postgres).await
    }

    async fn start(
        vars: Vec<(String, String)>,
        data: TempDir,
        postgres: Option<PostgresTestDatabase>,
    ) -> TestApp {
        let settings = Settings::load_from(Path::new("config"), &vars)
            .unwrap_or_else(|e| panic!("the test configuration does not load: {e}"));
        let app = Application::build(settings.clone())
            .await
            .unwrap_or_else(|e| panic!("the application does not start: {e}"));
        let port = app.port();
        let metrics_port = app.metrics_port();
        actix_web::rt::spawn(app.run_until_stopped());
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .disable_redirects()
            .finish();
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            metrics_address: metrics_port.map(|port| format!("http://127.0.0.1:{port}")),
            client,
            settings,
            vars,
            _data: data,
            _postgres: postgres,
        }
    }

    /// A client of another server (e.g. the binary run as a child process) that shares this
    /// application's database and settings.
    pub fn client_of(&self, address: String) -> TestApp {
        TestApp {
            address,
            metrics_address: None,
            client: self.client.clone(),
            settings: self.settings.clone(),
            vars: self.vars.clone(),
            _data: TempDir::new().unwrap_or_else(|e| panic!("cannot make a temp dir: {e}")),
            _postgres: None,
        }
    }

    /// The application's own temporary folder (a working directory for the binary).
    pub fn data_path(&self) -> &Path {
        self._data.path()
    }

    /// The absolute URL of a path (which may carry a query string).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request to build further (headers, body) before sending.
    pub fn request(&self, method: Method, path: &str) -> ClientRequest {
        self.client.request(method, self.url(path))
    }

    /// Sends a bodiless request.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>) -> TestResponse {
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
    ) -> TestResponse {
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
    ) -> TestResponse {
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
    ) -> TestResponse {
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
    ) -> TestResponse {
        send(
            self.request_with(method, path, token, headers)
                .send_json(body),
        )
        .await
    }

    /// `GET path` without credentials.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, None).await
    }

    /// `POST /register`.
    pub async fn register(&self, email: &str, password: &str) -> TestResponse {
        self.call_json(
            Method::POST,
            "/register",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// `POST /login`.
    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.call_json(
            Method::POST,
            "/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// `GET /me`.
    pub async fn get_me(&self, token: &str) -> TestResponse {
        self.call(Method::GET, "/me", Some(token)).await
    }

    /// `POST /tasks`.
    pub async fn create_task(&self, token: &str, body: &Value) -> TestResponse {
        self.call_json(Method::POST, "/tasks", Some(token), body)
            .await
    }

    /// `GET /tasks`.
    pub async fn list_tasks(&self, token: &str) -> TestResponse {
        self.call(Method::GET, "/tasks", Some(token)).await
    }

    /// `GET /tasks/{id}`.
    pub async fn get_task(&self, token: &str, id: &str) -> TestResponse {
        self.call(Method::GET, &format!("/tasks/{id}"), Some(token))
            .await
    }

    /// `PATCH /tasks/{id}`.
    pub async fn patch_task(&self, token: &str, id: &str, body: &Value) -> TestResponse {
        self.call_json(Method::PATCH, &format!("/tasks/{id}"), Some(token), body)
            .await
    }

    /// `PUT /tasks/{id}`.
    pub async fn put_task(&self, token: &str, id: &str, body: &Value) -> TestResponse {
        self.call_json(Method::PUT, &format!("/tasks/{id}"), Some(token), body)
            .await
    }

    /// `DELETE /tasks/{id}`.
    pub async fn delete_task(&self, token: &str, id: &str) -> TestResponse {
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

    /// Registers `email`, makes it an administrator (as `taskapi admin promote` does) and
    /// logs in.
    pub async fn signed_up_admin(&self, email: &str) -> TestUser {
        let user = self.register(email, PASSWORD).await.json_with_status(201);
        taskapi::promote_admin(&self.settings, email)
            .await
            .unwrap_or_else(|e| panic!("cannot promote {email}: {e}"));
        self.logged_in(&string(&user["id"]), email, PASSWORD).await
    }

    /// `POST /token/refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> TestResponse {
        self.call_json(
            Method::POST,
            "/token/refresh",
            None,
            &json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// `POST /logout`.
    pub async fn logout(&self, token: &str, refresh_token: &str) -> TestResponse {
        self.call_json(
            Method::POST,
            "/logout",
            Some(token),
            &json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// `POST /logout/all`.
    pub async fn logout_all(&self, token: &str) -> TestResponse {
        self.call(Method::POST, "/logout/all", Some(token)).await
    }

    /// `POST /me/password`.
    pub async fn change_password(&self, token: &str, current: &str, new: &str) -> TestResponse {
        self.call_json(
            Method::POST,
            "/me/password",
            Some(token),
            &json!({"current_password": current, "new_password": new}),
        )
        .await
    }

    /// `DELETE /me`.
    pub async fn delete_me(&self, token: &str) -> TestResponse {
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

/// A JSON string's value; panics otherwise.
#[track_caller]
pub fn string(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
        .to_owned()
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Access-token claims as the service issues them, for `sub`, expiring in `ttl` seconds.
pub fn claims(sub: &str, ttl: i64) -> Value {
    let now = now();
    json!({
        "sub": sub,
        "exp": now + ttl,
        "iat": now - 1,
        "jti": uuid::Uuid::now_v7().to_string(),
        "iss": "taskapi",
        "role": "user",
    })
}

/// The session id (`sid`) of an access token the service issued.
pub fn session_of(token: &str) -> String {
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .unwrap_or_else(|e| panic!("cannot read the token's claims: {e}"));
    string(&claims["sid"])
}

/// Signs `claims` with `alg` and `secret`.
pub fn sign(alg: Algorithm, secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_else(|e| panic!("cannot sign a token: {e}"))
}

/// An unsigned token (`alg: none`) carrying `claims`.
pub fn unsigned_token(claims: &Value) -> String {
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64url(claims.to_string().as_bytes());
    format!("{header}.{payload}.")
}

/// Unpadded base64url, as JWTs use.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let symbols = chunk.len() + 1;
        for i in 0..symbols {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// A query string of `pairs`, percent-encoded (every byte but RFC 3986's unreserved ones).
pub fn query(pairs: &[(&str, &str)]) -> String {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The decoded name–value pairs of a query string (`+` is a space), in order.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// A random UUID string (for ids that exist nowhere).
pub fn random_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[test]
fn base64url_matches_known_vectors() {
    assert_eq!(base64url(b""), "");
    assert_eq!(base64url(b"f"), "Zg");
    assert_eq!(base64url(b"fo"), "Zm8");
    assert_eq!(base64url(b"foo"), "Zm9v");
    assert_eq!(base64url(b"foob"), "Zm9vYg");
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
}

#[test]
fn query_strings_round_trip() {
    let pairs = [
        ("q", "Ärger & Co + 50% #1 ?=/"),
        ("a b", ""),
        ("sort", "-title"),
    ];
    let text = query(&pairs);
    assert_eq!(
        text,
        "q=%C3%84rger%20%26%20Co%20%2B%2050%25%20%231%20%3F%3D%2F&a%20b=&sort=-title"
    );
    let decoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(parse_query(&text), decoded);
    assert_eq!(
        parse_query("a+b=c+d&e=%zz&f"),
        [
            ("a b".to_owned(), "c d".to_owned()),
            ("e".to_owned(), "%zz".to_owned()),
            ("f".to_owned(), String::new()),
        ]
    );
}

//! The outermost middleware: request ids, the access log, request metrics, security
//! headers, and the final shape of every error (problem+json carrying the request id).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{Error, HttpMessage, HttpResponse};

use crate::AppState;
use crate::error::{ApiError, Problem, problem_response};
use crate::metrics::Metrics;

/// The request-id header, read from clients and written on every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Keeps an incoming `X-Request-Id` when the request comes straight from a trusted proxy
/// (`from_trusted_proxy`) and the id is 1–128 characters of `[A-Za-z0-9._-]` (safe to log
/// and echo); otherwise makes a new one. Any other client could otherwise pick the id its
/// requests are logged under, and make its lines pass for someone else's.
fn request_id(req: &ServiceRequest, from_trusted_proxy: bool) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .filter(|_| from_trusted_proxy)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        })
        .map_or_else(|| uuid::Uuid::now_v7().simple().to_string(), str::to_owned)
}

/// Longest path the access log writes, in bytes; a longer one is cut (the request itself is
/// unaffected), so that a client cannot make every log line as long as its URL.
const MAX_LOGGED_PATH: usize = 256;

/// `path` as the access log writes it: whole when short, else its first
/// [`MAX_LOGGED_PATH`] bytes (cut at a character boundary) and how many bytes were left out.
pub(crate) fn loggable_path(path: &str) -> String {
    if path.len() <= MAX_LOGGED_PATH {
        return path.to_owned();
    }
    let cut = (0..=MAX_LOGGED_PATH)
        .rev()
        .find(|i| path.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}…(+{} bytes)", &path[..cut], path.len() - cut)
}

/// Wraps every request: see the module docs.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let from_trusted_proxy = req
        .app_data::<Data<AppState>>()
        .is_some_and(|state| state.throttle.trusts_peer(req.request()));
    let id = request_id(&req, from_trusted_proxy);
    req.extensions_mut().insert(RequestId(id.clone()));
    // What an answer made outside the CORS middleware needs for its headers: see below.
    let cors = req
        .headers()
        .get(header::ORIGIN)
        .cloned()
        .and_then(|origin| {
            let state = req.app_data::<Data<AppState>>()?;
            Some((origin, state.cors_origins.clone()))
        });
    let metrics = req.app_data::<Data<Metrics>>().cloned();
    let method = req.method().clone();
    // The path only, and at most its first bytes: query strings are never logged (so they
    // need no bound of their own).
    let path = loggable_path(req.path());
    // Handlers and extractors turn their errors into responses themselves; an `Err` here
    // left its request behind (a request that ran out of time, or actix's own machinery),
    // so it is rendered here, with the request id and an access line, and passed on whole.
    let response = match next.call(req).await {
        Ok(response) => response.map_into_boxed_body(),
        Err(error) => {
            let mut response = problem_with_id(error.error_response(), &id);
            stamp(response.headers_mut(), &id);
            if let Some((origin, origins)) = &cors {
                crate::cors::allow_answer(response.headers_mut(), origins, origin);
            }
            if let Some(metrics) = &metrics {
                metrics.observe_unrouted(&method, response.status(), started.elapsed());
            }
            log::info!(
                target: "taskapi::access",
                "{id} {method} {path} {} {:.3}ms",
                response.status().as_u16(),
                started.elapsed().as_secs_f64() * 1000.0
            );
            return Err(InternalError::from_response(error, response).into());
        }
    };
    let elapsed = started.elapsed();
    // Recorded here rather than in a middleware of its own: this one already times every
    // request, and one layer fewer is cheaper. Present only when metrics are enabled.
    if let Some(metrics) = &metrics {
        metrics.observe(response.request(), response.status(), elapsed);
    }
    let mut response = finish_problem(response, &id);
    stamp(response.headers_mut(), &id);
    // The CORS middleware sits inside the deadlines, which answer 408 themselves.
    if let Some((origin, origins)) = &cors {
        crate::cors::allow_answer(response.headers_mut(), origins, origin);
    }

    log::info!(
        target: "taskapi::access",
        "{id} {method} {path} {} {:.3}ms",
        response.status().as_u16(),
        elapsed.as_secs_f64() * 1000.0
    );
    Ok(response)
}

/// The headers every answer carries.
fn stamp(headers: &mut header::HeaderMap, id: &str) {
    if let Ok(value) = HeaderValue::from_str(id) {
        headers.insert(REQUEST_ID, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// Every error leaves as problem+json with the request id in its body: ours carry their
/// `Problem` in the response extensions; anything else (an error produced by actix itself)
/// is replaced by a generic problem for its status.
fn finish_problem(response: ServiceResponse<BoxBody>, id: &str) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (req, res) = response.into_parts();
    ServiceResponse::new(req, problem_with_id(res, id))
}

/// An error response as problem+json carrying the request id.
fn problem_with_id(res: HttpResponse<BoxBody>, id: &str) -> HttpResponse<BoxBody> {
    let status = res.status();
    let mut problem = match res.extensions().get::<Problem>().cloned() {
        Some(p) => p,
        None => generic_problem(status),
    };
    problem.request_id = id.to_owned();
    let mut rebuilt = HttpResponse::build(status);
    if res.head().connection_type() == ConnectionType::Close {
        rebuilt.force_close();
    }
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rebuilt.append_header((name.clone(), value.clone()));
        }
    }
    problem_response(rebuilt, problem)
}

fn generic_problem(status: StatusCode) -> Problem {
    let mut problem = ApiError::Internal(String::new()).problem();
    problem.status = status.as_u16();
    problem.title = status.canonical_reason().unwrap_or("Error").to_owned();
    problem.detail = match status {
        StatusCode::BAD_REQUEST => "The request could not be understood.".into(),
        s if s.is_server_error() => "Something went wrong on our side.".into(),
        _ => format!(
            "The request failed: {}.",
            status.canonical_reason().unwrap_or("error")
        ),
    };
    problem
}

/// The default service: 404 for every unknown route.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("Route"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn id_for(header: Option<&str>) -> String {
        id_from(header, true)
    }

    fn id_from(header: Option<&str>, trusted: bool) -> String {
        let mut req = TestRequest::default();
        if let Some(h) = header {
            req = req.insert_header((REQUEST_ID, h));
        }
        request_id(&req.to_srv_request(), trusted)
    }

    #[test]
    fn an_incoming_request_id_is_kept_only_from_a_trusted_proxy() {
        assert_eq!(id_from(Some("abc-123"), true), "abc-123");
        let id = id_from(Some("abc-123"), false);
        assert_ne!(id, "abc-123");
        assert_eq!(id.len(), 32, "a fresh id is a simple uuid");
    }

    #[test]
    fn sane_incoming_request_ids_are_kept_and_others_replaced() {
        assert_eq!(id_for(Some("abc-123_X.y")), "abc-123_X.y");
        let long = "a".repeat(128);
        assert_eq!(id_for(Some(&long)), long);
        for bad in ["", "has space", "semi;colon", "ü", &"a".repeat(129)] {
            let id = id_for(Some(bad));
            assert_ne!(id, bad);
            assert_eq!(id.len(), 32, "a fresh id is a simple uuid");
        }
        assert_eq!(id_for(None).len(), 32);
    }

    #[test]
    fn the_access_log_cuts_long_paths_at_a_character_boundary() {
        assert_eq!(loggable_path("/tasks/1"), "/tasks/1");
        let exact = format!("/{}", "a".repeat(MAX_LOGGED_PATH - 1));
        assert_eq!(loggable_path(&exact), exact);
        let long = format!("/{}", "a".repeat(10_000));
        let logged = loggable_path(&long);
        assert!(logged.starts_with(&long[..MAX_LOGGED_PATH]), "{logged}");
        assert!(logged.ends_with("…(+9745 bytes)"), "{logged}");
        // A multi-byte character straddling the cut is left out whole.
        let wide = format!("/{}é{}", "a".repeat(MAX_LOGGED_PATH - 2), "b".repeat(50));
        let logged = loggable_path(&wide);
        assert!(logged.starts_with(&wide[..MAX_LOGGED_PATH - 1]), "{logged}");
        assert!(logged.ends_with("…(+52 bytes)"), "{logged}");
    }
}

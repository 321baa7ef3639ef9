//! CORS for browser clients: only the configured origins (none by default), no credentials
//! (bearer tokens, no cookies). A preflight from another origin gets no
//! `Access-Control-Allow-*` header; a simple request from one is served without them, so the
//! browser keeps the answer from the page.

use actix_cors::Cors;
use actix_web::http::{Method, Uri, header};

/// Headers a browser may send.
const ALLOWED_HEADERS: [header::HeaderName; 5] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    header::HeaderName::from_static("idempotency-key"),
];

/// Response headers a page may read.
const EXPOSED_HEADERS: [header::HeaderName; 6] = [
    header::LINK,
    header::ETAG,
    header::LOCATION,
    header::RETRY_AFTER,
    crate::edge::REQUEST_ID,
    header::HeaderName::from_static(crate::routes::changes::X_CHANGES_CURSOR),
];

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: usize = 3600;

/// A `cors.allowed_origins` entry that is not an origin; the message says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidOrigin(pub(crate) String);

/// Checks that `origin` is what browsers send in `Origin`: `scheme://host[:port]`, nothing
/// more.
///
/// # Errors
/// [`InvalidOrigin`], saying why not.
pub fn validate_origin(origin: &str) -> Result<(), InvalidOrigin> {
    let uri: Uri = origin.parse().map_err(|_| {
        InvalidOrigin(format!(
            "`{origin}` is not an origin like https://app.example.com"
        ))
    })?;
    let plain = matches!(uri.scheme_str(), Some("http" | "https"))
        && uri.host().is_some_and(|h| !h.is_empty())
        && uri.path() == "/"
        && !origin.ends_with('/')
        && uri.query().is_none()
        && !origin.contains('@');
    if plain {
        Ok(())
    } else {
        Err(InvalidOrigin(format!(
            "`{origin}` is not an origin: write scheme://host[:port], without a path or a \
             trailing slash"
        )))
    }
}

/// Gives an answer made outside the CORS middleware (a request that ran out of time, a body
/// that did not arrive) the headers the middleware gives every other answer to an allowed
/// `origin`, so that the page can read it (and its `Retry-After`) rather than see a network
/// error. Answers that already carry them, and other origins, are left as they are.
pub(crate) fn allow_answer(
    headers: &mut header::HeaderMap,
    origins: &[String],
    origin: &header::HeaderValue,
) {
    if headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        || !origins
            .iter()
            .any(|allowed| allowed.as_bytes() == origin.as_bytes())
    {
        return;
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.append(header::VARY, header::HeaderValue::from_static("Origin"));
    let exposed = EXPOSED_HEADERS.each_ref().map(|h| h.as_str()).join(", ");
    if let Ok(exposed) = header::HeaderValue::from_str(&exposed) {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed);
    }
}

/// The CORS middleware for `origins` (already validated).
pub(crate) fn middleware(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers(ALLOWED_HEADERS)
        .expose_headers(EXPOSED_HEADERS)
        .max_age(PREFLIGHT_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bare_origins_are_accepted() {
        for good in [
            "https://app.example.com",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
        ] {
            assert_eq!(validate_origin(good), Ok(()), "{good}");
        }
        for bad in [
            "*",
            "",
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "ftp://example.com",
            "https://user@example.com",
            "https://example.com?x=1",
        ] {
            assert!(validate_origin(bad).is_err(), "{bad}");
        }
    }
}

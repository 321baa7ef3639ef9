//! The reference web client at `/app/`: plain HTML, CSS and ES modules, compiled into the
//! binary (the binary hands over its files; nothing is read from disk at run time), plus a
//! generated `/app/config.json` telling the client where the API is.
//!
//! Every response carries a Content-Security-Policy that allows no inline script, no other
//! origin for scripts, styles and images, and requests (`fetch`, `EventSource`) only to this
//! origin and the configured API origin: a page opened with `?api=` naming any other origin
//! cannot send it a token. Files are revalidated on every load (`no-cache` with a strong
//! `ETag`), so an upgrade of the binary shows at once and an unchanged file costs a 304.
//! `web.enabled = false` leaves `/app` out (404).

use actix_web::dev::HttpServiceFactory;
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderValue, IF_NONE_MATCH,
    LOCATION, REFERRER_POLICY,
};
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::cors::{InvalidOrigin, validate_origin};
use crate::error::ApiError;

/// One file of the client: its path under `/app/` (`js/main.js`) and its contents.
pub type WebAsset = (&'static str, &'static [u8]);

/// A file as served: media type, entity tag, contents.
#[derive(Debug, Clone)]
struct Served {
    path: &'static str,
    content_type: &'static str,
    etag: HeaderValue,
    body: web::Bytes,
}

impl Served {
    fn new(path: &'static str, content_type: &'static str, body: web::Bytes) -> Self {
        let digest = Sha256::digest(&body);
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let etag = HeaderValue::from_str(&format!("\"{hex}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Self {
            path,
            content_type,
            etag,
            body,
        }
    }
}

/// The web client as this server serves it: its files, `config.json` and the policy.
#[derive(Debug, Clone)]
pub struct WebClient {
    files: Vec<Served>,
    config: Served,
    csp: HeaderValue,
}

/// The media type of a client file, by its extension; `None` for a kind the client does not
/// ship (so that a new kind of file is a start-up error, not a file served as something
/// else).
fn media_type(path: &str) -> Option<&'static str> {
    let extension = path.rsplit_once('.').map(|(_, ext)| ext)?;
    Some(match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// The policy of `/app/` for a client that calls the API at `api_origin` (`None`: this
/// origin). No inline script or style, nothing from another origin but the API's requests,
/// no plugin, no framing, no form posted anywhere (the client sends everything with
/// `fetch`), and Trusted Types required so that no string ever becomes markup or script.
fn web_csp(api_origin: Option<&str>) -> String {
    let connect = match api_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; \
         require-trusted-types-for 'script'; trusted-types 'none'"
    )
}

/// Why the web client cannot be served as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidWebClient {
    /// `web.api_origin` is not an origin.
    #[error("web.api_origin: {0}")]
    Origin(#[from] InvalidOrigin),
    /// A file of a kind the client is not meant to ship (no known media type).
    #[error("web client file `{0}` has no known media type")]
    UnknownMediaType(&'static str),
    /// The client has no `index.html`.
    #[error("the web client has no index.html")]
    NoIndex,
}

impl WebClient {
    /// The client made of `assets`, calling the API at `api_origin` (empty: this origin).
    ///
    /// # Errors
    /// [`InvalidWebClient`] for an `api_origin` that is not `scheme://host[:port]`, a file
    /// of an unknown kind, or no `index.html`.
    pub fn new(assets: &'static [WebAsset], api_origin: &str) -> Result<Self, InvalidWebClient> {
        let api_origin = Some(api_origin.trim()).filter(|o| !o.is_empty());
        if let Some(origin) = api_origin {
            validate_origin(origin)?;
        }
        let files = assets
            .iter()
            .map(|(path, body)| {
                let content_type =
                    media_type(path).ok_or(InvalidWebClient::UnknownMediaType(path))?;
                Ok(Served::new(
                    path,
                    content_type,
                    web::Bytes::from_static(body),
                ))
            })
            .collect::<Result<Vec<_>, InvalidWebClient>>()?;
        if !files.iter().any(|f| f.path == "index.html") {
            return Err(InvalidWebClient::NoIndex);
        }
        let config = serde_json::json!({ "api_base": api_origin.unwrap_or("") });
        let config = Served::new(
            "config.json",
            "application/json",
            web::Bytes::from(config.to_string()),
        );
        let csp = HeaderValue::from_str(&web_csp(api_origin)).map_err(|_| {
            InvalidOrigin(format!(
                "`{}` cannot be written in a header",
                api_origin.unwrap_or_default()
            ))
        })?;
        Ok(Self { files, config, csp })
    }

    fn file(&self, path: &str) -> Option<&Served> {
        if path == "config.json" {
            return Some(&self.config);
        }
        self.files.iter().find(|f| f.path == path)
    }

    fn respond(&self, req: &HttpRequest, file: &Served) -> HttpResponse {
        let unchanged = if_none_match(req, &file.etag);
        let mut response = if unchanged {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        response
            .insert_header((CONTENT_SECURITY_POLICY, self.csp.clone()))
            .insert_header((ETAG, file.etag.clone()))
            // Revalidated on every load (a 304 while unchanged), so an upgrade shows at once.
            .insert_header((CACHE_CONTROL, "no-cache"))
            // The page's address (with its `?api=`) stays out of other servers' logs.
            .insert_header((REFERRER_POLICY, "no-referrer"));
        if unchanged {
            return response.finish();
        }
        response
            .insert_header((CONTENT_TYPE, file.content_type))
            .body(file.body.clone())
    }
}

/// Whether `If-None-Match` names `etag` (weak comparison) or is `*`.
fn if_none_match(req: &HttpRequest, etag: &HeaderValue) -> bool {
    let Ok(ours) = etag.to_str() else {
        return false;
    };
    req.headers()
        .get_all(IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours)
}

async fn index(req: HttpRequest, client: web::Data<WebClient>) -> Result<HttpResponse, ApiError> {
    let file = client
        .file("index.html")
        .ok_or(ApiError::NotFound("Page"))?;
    Ok(client.respond(&req, file))
}

async fn asset(
    req: HttpRequest,
    file: web::Path<String>,
    client: web::Data<WebClient>,
) -> Result<HttpResponse, ApiError> {
    let file = client
        .file(file.as_str())
        .ok_or(ApiError::NotFound("Page"))?;
    Ok(client.respond(&req, file))
}

/// `/app` without its slash: the client's relative addresses need it, so it moves there,
/// keeping the query (`?api=`).
async fn add_slash(req: HttpRequest) -> HttpResponse {
    let location = match req.query_string() {
        "" => "/app/".to_owned(),
        query => format!("/app/?{query}"),
    };
    HttpResponse::PermanentRedirect()
        .insert_header((LOCATION, location))
        .finish()
}

/// `/app` (a redirect to `/app/`), `/app/`, `/app/index.html`, `/app/config.json` and the
/// client's files under `/app/` (any other name there is a 404). Registered before
/// paperclip's routes, and only when `web.enabled`.
pub fn service(client: web::Data<WebClient>) -> impl HttpServiceFactory {
    web::scope("/app")
        .app_data(client)
        .service(web::resource("").route(web::get().to(add_slash)))
        .service(web::resource(["/", "/index.html"]).route(web::get().to(index)))
        .service(web::resource("/{file:.*}").route(web::get().to(asset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSETS: &[WebAsset] = &[("index.html", b"<!doctype html>"), ("js/a.js", b"1")];

    #[test]
    fn the_policy_allows_requests_to_the_api_origin_only_besides_this_one() {
        assert!(web_csp(None).contains("connect-src 'self';"));
        let csp = web_csp(Some("https://api.example.com"));
        assert!(csp.contains("connect-src 'self' https://api.example.com;"));
        assert!(csp.contains("script-src 'self';"));
        assert!(!csp.contains("unsafe"));
    }

    #[test]
    fn a_bad_api_origin_or_file_kind_or_no_index_is_refused() {
        assert!(matches!(
            WebClient::new(ASSETS, "https://api.example.com/path"),
            Err(InvalidWebClient::Origin(_))
        ));
        assert!(matches!(
            WebClient::new(ASSETS, "https://api.example.com; script-src *"),
            Err(InvalidWebClient::Origin(_))
        ));
        const ODD: &[WebAsset] = &[("index.html", b""), ("run.exe", b"")];
        assert_eq!(
            WebClient::new(ODD, "").err(),
            Some(InvalidWebClient::UnknownMediaType("run.exe"))
        );
        const NO_INDEX: &[WebAsset] = &[("js/a.js", b"")];
        assert_eq!(
            WebClient::new(NO_INDEX, "").err(),
            Some(InvalidWebClient::NoIndex)
        );
        assert!(WebClient::new(ASSETS, " ").is_ok());
    }

    #[test]
    fn each_file_has_its_own_strong_etag() {
        let client = WebClient::new(ASSETS, "").unwrap_or_else(|e| panic!("{e}"));
        let tags: Vec<_> = client.files.iter().map(|f| f.etag.clone()).collect();
        assert_ne!(tags[0], tags[1]);
        assert!(tags.iter().all(|t| {
            let t = t.to_str().unwrap_or_default();
            t.starts_with('"') && t.ends_with('"') && t.len() == 26
        }));
    }
}

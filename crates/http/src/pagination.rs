//! What every paginated list shares: the `limit` rule, the opaque cursor codec and its one
//! error wording, the wording of a bad sort, the `Link: <…>; rel="next"` header (built from
//! the request's own path and query, so every list links to itself), and the OpenAPI
//! declarations of `limit`, `cursor` and `sort`.

use actix_web::HttpRequest;
use actix_web::http::header::LINK;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use paperclip::v2::models::{DataType, DefaultSchemaRaw, Parameter};
use serde::Serialize;
use taskapi_domain::PageSize;

use crate::instant::within_storable_years;
use crate::query::query_parameter;
use crate::reply::JsonOk;

/// What a cursor that is not one of ours is told.
pub(crate) const NOT_OURS: &str =
    "is not a cursor this API gave out; follow the Link header of the previous page";

/// A longest cursor worth decoding: one holds a sort key of at most a few hundred bytes.
const MAX_CURSOR_LEN: usize = 4096;

/// Parses `limit`: a whole number from 1 to [`PageSize::MAX`].
///
/// # Errors
/// A message naming the bounds.
pub(crate) fn parse_limit(raw: &str) -> Result<PageSize, String> {
    raw.parse::<i64>()
        .map_err(|_| format!("must be a whole number between 1 and {}", PageSize::MAX))
        .and_then(|n| PageSize::new(n).map_err(|e| e.to_string()))
}

/// What a `sort` that names none of `fields` is told.
pub(crate) fn bad_sort(fields: &[&str]) -> String {
    format!(
        "must be one of {}, optionally prefixed by - for descending",
        fields.join(", ")
    )
}

/// What a cursor made for another sort order is told (`cursor_sort` and `sort` in their API
/// form).
pub(crate) fn foreign_sort(cursor_sort: &str, sort: &str) -> String {
    format!("belongs to sort={cursor_sort}, not sort={sort}; keep the sort of the first page")
}

/// The opaque form of every cursor: URL-safe base64 of a small JSON array of strings.
/// Only this crate reads it; the format may change.
pub(crate) fn encode_cursor(parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::Value::from(parts.to_vec()).to_string())
}

/// The strings of a cursor.
///
/// # Errors
/// [`NOT_OURS`] when it is not one of ours.
pub(crate) fn decode_cursor(raw: &str) -> Result<Vec<String>, String> {
    let parts = (raw.len() <= MAX_CURSOR_LEN)
        .then(|| URL_SAFE_NO_PAD.decode(raw).ok())
        .flatten()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    parts.ok_or_else(|| NOT_OURS.to_owned())
}

/// A cursor's instant key as text: RFC 3339 to the microsecond, as stored.
pub(crate) fn encode_instant(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A cursor's instant key back, if it is one this API could have written (within the
/// storable years).
///
/// # Errors
/// [`NOT_OURS`] otherwise.
pub(crate) fn decode_instant(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|at| at.with_timezone(&Utc))
        .and_then(|at| within_storable_years(at).ok())
        .ok_or_else(|| NOT_OURS.to_owned())
}

/// The next page's address: the request's own path and query (every parameter but `cursor`,
/// as sent), to which the next cursor is added.
#[derive(Debug, Clone)]
pub(crate) struct NextLink {
    path: String,
    params: Vec<(String, String)>,
}

impl NextLink {
    /// The link base of `req`. Its query string was already validated by the list's parser;
    /// one that does not decode keeps no parameter.
    pub(crate) fn of(req: &HttpRequest) -> Self {
        let params: Vec<(String, String)> =
            serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        Self {
            path: req.path().to_owned(),
            params: params.into_iter().filter(|(k, _)| k != "cursor").collect(),
        }
    }

    /// `<path?params&cursor=…>; rel="next"`, percent-encoded.
    pub(crate) fn header(&self, cursor: &str) -> Option<String> {
        let mut params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        params.push(("cursor", cursor));
        let query = serde_urlencoded::to_string(&params).ok()?;
        Some(format!("<{}?{query}>; rel=\"next\"", self.path))
    }

    /// A page's answer: its items, and `Link: rel="next"` when a `next` cursor says more
    /// follow.
    pub(crate) fn reply<T: Serialize>(&self, items: T, next: Option<String>) -> JsonOk<T> {
        let reply = JsonOk::new(items);
        match next.and_then(|cursor| self.header(&cursor)) {
            Some(link) => reply.header((LINK, link)),
            None => reply,
        }
    }
}

/// `cursor` in the OpenAPI document: a non-empty opaque string of at most the length any
/// cursor of ours has (an empty or longer one is refused).
pub(crate) fn cursor_parameter(description: &str) -> Parameter<DefaultSchemaRaw> {
    let mut cursor = query_parameter("cursor", description, DataType::String, None);
    cursor.min_length = Some(1);
    cursor.max_length = u32::try_from(MAX_CURSOR_LEN).ok();
    cursor
}

/// `limit` in the OpenAPI document.
pub(crate) fn limit_parameter() -> Parameter<DefaultSchemaRaw> {
    let mut limit = query_parameter(
        "limit",
        "Page size, 1–100 (default 50).",
        DataType::Integer,
        None,
    );
    limit.minimum = Some(1.0);
    limit.maximum = Some(f32::from(PageSize::MAX));
    limit.default = Some(serde_json::json!(PageSize::default().get()));
    limit
}

/// `sort` in the OpenAPI document: each of `fields`, ascending or (`-`) descending.
pub(crate) fn sort_parameter(description: &str, fields: &[&str]) -> Parameter<DefaultSchemaRaw> {
    let mut sort = query_parameter("sort", description, DataType::String, None);
    sort.enum_ = fields
        .iter()
        .flat_map(|f| [serde_json::json!(f), serde_json::json!(format!("-{f}"))])
        .collect();
    sort
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let encoded = encode_cursor(&["a", "b\nc"]);
        assert_eq!(decode_cursor(&encoded), Ok(vec!["a".into(), "b\nc".into()]));
        for bad in ["", "abc", "zz", &"A".repeat(MAX_CURSOR_LEN + 1)] {
            assert_eq!(decode_cursor(bad), Err(NOT_OURS.to_owned()), "{bad}");
        }
    }

    #[test]
    fn the_next_link_repeats_the_request_but_its_cursor() {
        let req = TestRequest::get()
            .uri("/admin/users/1/tasks?q=a%20b&cursor=old&limit=2")
            .to_http_request();
        let link = NextLink::of(&req).header("new").unwrap_or_default();
        assert_eq!(
            link,
            "</admin/users/1/tasks?q=a+b&limit=2&cursor=new>; rel=\"next\""
        );
    }

    #[test]
    fn limits_are_whole_numbers_from_1_to_100() {
        assert_eq!(parse_limit("7").map(PageSize::get), Ok(7));
        for bad in ["0", "101", "abc", "-1", "1.5"] {
            assert!(parse_limit(bad).is_err(), "{bad}");
        }
    }
}

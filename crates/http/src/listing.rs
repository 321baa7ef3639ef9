//! `GET /tasks` parameters (filters, sort, page size, cursor), the opaque cursor, and the
//! `Link: <…>; rel="next"` header. Every bad parameter is a 422 naming it.

use actix_web::dev::Payload;
use actix_web::http::header::LINK;
use actix_web::{FromRequest, HttpRequest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DataType, DataTypeFormat, DefaultOperationRaw, Either};
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::{
    PageSize, Priority, SearchText, SortKey, Tag, TaskCursor, TaskFilter, TaskId, TaskListQuery,
    TaskPage, TaskSort, TaskSortField,
};

use crate::auth::AuthGate;
use crate::body::{parse_instant_exact, truncate_to_micros, within_storable_years};
use crate::dto::TaskResponse;
use crate::error::ApiError;
use crate::query::{QueryParams, query_parameter};
use crate::reply::JsonOk;

/// A validated `GET /tasks` query, and what the next page's link needs.
#[derive(Debug)]
pub struct TaskListParams {
    /// The query for the domain.
    pub query: TaskListQuery,
    /// The request's path and its parameters other than `cursor`, for the next link.
    link: (String, Vec<(&'static str, String)>),
}

/// `true` or `false`, as query parameters spell booleans.
pub(crate) fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be true or false".into()),
    }
}

fn parse_limit(raw: &str) -> Result<PageSize, String> {
    raw.parse::<i64>()
        .map_err(|_| format!("must be a whole number between 1 and {}", PageSize::MAX))
        .and_then(|n| PageSize::new(n).map_err(|e| e.to_string()))
}

/// The names of the sort fields in the API.
const SORT_FIELDS: [(&str, TaskSortField); 5] = [
    ("created_at", TaskSortField::CreatedAt),
    ("updated_at", TaskSortField::UpdatedAt),
    ("due_at", TaskSortField::DueAt),
    ("priority", TaskSortField::Priority),
    ("title", TaskSortField::Title),
];

/// Parses `sort`: `created_at`, `-due_at`, … (a leading `-` means descending).
fn parse_sort(raw: &str) -> Result<TaskSort, String> {
    let (descending, name) = match raw.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, raw),
    };
    SORT_FIELDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, field)| TaskSort { field, descending })
        .ok_or_else(|| {
            "must be one of created_at, updated_at, due_at, priority, title, \
             optionally prefixed by - for descending"
                .to_owned()
        })
}

/// The API form of a sort order (`-due_at`).
fn sort_param(sort: TaskSort) -> String {
    let name = SORT_FIELDS
        .iter()
        .find(|(_, f)| *f == sort.field)
        .map_or("", |(n, _)| n);
    format!("{}{name}", if sort.descending { "-" } else { "" })
}

impl TaskListParams {
    fn parse(path: &str, query: &str) -> Result<Self, ApiError> {
        let mut params = QueryParams::parse(query)?;
        let mut link: Vec<(&'static str, String)> = Vec::new();
        let mut keep = |name: &'static str, params: &mut QueryParams| -> Option<String> {
            let raw = params.take(name)?;
            link.push((name, raw.clone()));
            Some(raw)
        };
        let mut filter = TaskFilter::default();
        let mut sort = TaskSort::default();
        let mut size = PageSize::default();
        let mut errors = taskapi_domain::ValidationErrors::new();

        if let Some(raw) = keep("is_done", &mut params) {
            filter.is_done = errors.check("is_done", parse_bool(&raw));
        }
        if let Some(raw) = keep("priority", &mut params) {
            filter.priority = errors.check("priority", Priority::parse(&raw));
        }
        if let Some(raw) = keep("tag", &mut params) {
            filter.tag = errors.check("tag", Tag::parse(&raw));
        }
        if let Some(raw) = keep("q", &mut params) {
            filter.q = errors.check("q", SearchText::parse(&raw));
        }
        // Stored instants have whole microseconds, so an exclusive bound with finer digits
        // is rounded outwards: `due_at < 10:00:00.0000001` is `due_at < 10:00:00.000001`,
        // and `due_at > 10:00:00.0000001` is `due_at > 10:00:00`.
        if let Some(raw) = keep("due_before", &mut params) {
            filter.due_before = errors.check(
                "due_before",
                parse_instant_exact(&raw)
                    .map(|at| truncate_to_micros(at, true))
                    .and_then(within_storable_years),
            );
        }
        if let Some(raw) = keep("due_after", &mut params) {
            filter.due_after = errors
                .check("due_after", parse_instant_exact(&raw))
                .map(|at| truncate_to_micros(at, false));
        }
        let mut sort_ok = true;
        if let Some(raw) = keep("sort", &mut params) {
            let parsed = errors.check("sort", parse_sort(&raw));
            sort_ok = parsed.is_some();
            sort = parsed.unwrap_or_default();
        }
        if let Some(raw) = keep("limit", &mut params) {
            size = errors.check("limit", parse_limit(&raw)).unwrap_or_default();
        }
        let after = match params.take("cursor") {
            // A cursor cannot be judged against a sort that is itself invalid; `sort`
            // already says what is wrong.
            Some(_) if !sort_ok => None,
            Some(raw) => errors.check("cursor", decode_cursor(&raw, sort)),
            None => None,
        };
        // Parameter errors first, in the order of the parameters above, then unknown ones.
        match params.finish() {
            Ok(()) => {}
            Err(ApiError::Validation(unknown)) => errors.extend(unknown),
            Err(other) => return Err(other),
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(Self {
            query: TaskListQuery {
                filter,
                sort,
                size,
                after,
            },
            link: (path.to_owned(), link),
        })
    }

    /// The `Link` header of the next page, if there is one.
    pub fn next_link(&self, next: Option<&TaskCursor>) -> Option<String> {
        let cursor = next?;
        let (path, params) = &self.link;
        link_header(path, params.clone(), encode_cursor(cursor))
    }

    /// The answer of a task list: the page's tasks, and `Link: rel="next"` when there are more.
    pub(crate) fn reply(&self, page: TaskPage) -> JsonOk<Vec<TaskResponse>> {
        let link = self.next_link(page.next.as_ref());
        let reply = JsonOk::new(page.items.into_iter().map(TaskResponse::from).collect());
        match link {
            Some(link) => reply.header((LINK, link)),
            None => reply,
        }
    }
}

/// `<path?params&cursor=…>; rel="next"`, percent-encoded: the one shape of every list's
/// next-page link.
pub(crate) fn link_header(
    path: &str,
    mut params: Vec<(&str, String)>,
    cursor: String,
) -> Option<String> {
    params.push(("cursor", cursor));
    let query = serde_urlencoded::to_string(&params).ok()?;
    Some(format!("<{path}?{query}>; rel=\"next\"",))
}

/// The opaque form of every cursor: URL-safe base64 of a small JSON array of strings.
/// Only this crate reads it; the format may change.
pub(crate) fn encode_cursor_parts(parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::Value::from(parts.to_vec()).to_string())
}

/// The strings of a cursor, or `None` when it is not one of ours.
pub(crate) fn decode_cursor_parts(raw: &str) -> Option<Vec<String>> {
    // A cursor holds a sort key of at most a few hundred bytes; anything far longer is not ours.
    if raw.len() > 4096 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Encodes a task cursor: its sort, the kind and value of its key, and its id.
pub fn encode_cursor(cursor: &TaskCursor) -> String {
    let (kind, value) = match &cursor.key {
        SortKey::Instant(at) => ("t", at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        SortKey::NoDueDate => ("n", String::new()),
        SortKey::Priority(rank) => ("p", rank.to_string()),
        SortKey::Title(title) => ("s", title.clone()),
    };
    encode_cursor_parts(&[
        &sort_param(cursor.sort),
        kind,
        &value,
        &cursor.id.to_string(),
    ])
}

/// Decodes a cursor and checks that it belongs to `sort`.
fn decode_cursor(raw: &str, sort: TaskSort) -> Result<TaskCursor, String> {
    const NOT_OURS: &str =
        "is not a cursor this API gave out; follow the Link header of the previous page";
    let parts = decode_cursor_parts(raw).ok_or_else(|| NOT_OURS.to_owned())?;
    let [sort_raw, kind, value, id] = parts.as_slice() else {
        return Err(NOT_OURS.into());
    };
    let cursor_sort = parse_sort(sort_raw).map_err(|_| NOT_OURS.to_owned())?;
    if cursor_sort != sort {
        return Err(format!(
            "belongs to sort={}, not sort={}; keep the sort of the first page",
            sort_param(cursor_sort),
            sort_param(sort)
        ));
    }
    let key = match kind.as_str() {
        "t" => SortKey::Instant(
            DateTime::parse_from_rfc3339(value)
                .ok()
                .map(|at| at.with_timezone(&Utc))
                .and_then(|at| within_storable_years(at).ok())
                .ok_or_else(|| NOT_OURS.to_owned())?,
        ),
        "n" => SortKey::NoDueDate,
        "p" => SortKey::Priority(value.parse().map_err(|_| NOT_OURS.to_owned())?),
        "s" => SortKey::Title(value.clone()),
        _ => return Err(NOT_OURS.into()),
    };
    let cursor = TaskCursor {
        sort,
        key,
        id: id.parse::<TaskId>().map_err(|_| NOT_OURS.to_owned())?,
    };
    if cursor.is_consistent() {
        Ok(cursor)
    } else {
        Err(NOT_OURS.into())
    }
}

impl FromRequest for TaskListParams {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = Self::parse(req.path(), req.query_string());
        let gate = AuthGate::of(req);
        async move {
            AuthGate::passed(gate).await?;
            parsed
        }
        .boxed_local()
    }
}

impl Apiv2Schema for TaskListParams {}

impl OperationModifier for TaskListParams {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        let mut limit = query_parameter(
            "limit",
            "Page size, 1–100 (default 50).",
            DataType::Integer,
            None,
        );
        limit.minimum = Some(1.0);
        limit.maximum = Some(100.0);
        limit.default = Some(serde_json::json!(50));
        let mut priority = query_parameter(
            "priority",
            "Only tasks of this priority.",
            DataType::String,
            None,
        );
        priority.enum_ = vec![
            serde_json::json!("low"),
            serde_json::json!("medium"),
            serde_json::json!("high"),
        ];
        let mut sort = query_parameter(
            "sort",
            "Order: created_at (default), updated_at, due_at, priority or title; prefix - for descending. \
             Ties are broken by id; tasks without due_at come last either way.",
            DataType::String,
            None,
        );
        sort.enum_ = ["created_at", "updated_at", "due_at", "priority", "title"]
            .iter()
            .flat_map(|f| [serde_json::json!(f), serde_json::json!(format!("-{f}"))])
            .collect();
        for parameter in [
            query_parameter(
                "is_done",
                "Only done (true) or open (false) tasks.",
                DataType::Boolean,
                None,
            ),
            priority,
            query_parameter(
                "tag",
                "Only tasks with this tag (case-insensitive).",
                DataType::String,
                None,
            ),
            query_parameter(
                "q",
                "Case-insensitive text to find in the title or description.",
                DataType::String,
                None,
            ),
            query_parameter(
                "due_before",
                "Only tasks due before this instant (exclusive).",
                DataType::String,
                Some(DataTypeFormat::DateTime),
            ),
            query_parameter(
                "due_after",
                "Only tasks due after this instant (exclusive).",
                DataType::String,
                Some(DataTypeFormat::DateTime),
            ),
            sort,
            limit,
            query_parameter(
                "cursor",
                "Opaque cursor from the previous page's Link header.",
                DataType::String,
                None,
            ),
        ] {
            op.parameters.push(Either::Right(parameter));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(e) => e.errors().iter().map(|f| f.field.clone()).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn instants_past_the_year_9999_are_refused_even_when_rounding_makes_them() {
        // Storage keeps years 1–9999 only; rounding an exclusive bound up must not slip past.
        let err = TaskListParams::parse("/tasks", "due_before=9999-12-31T23:59:59.9999999Z")
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(fields(err), vec!["due_before"]);
        assert!(TaskListParams::parse("/tasks", "due_before=9999-12-31T23:59:59.999999Z").is_ok());
    }

    #[test]
    fn a_forged_cursor_with_an_unstorable_instant_is_not_ours() {
        let sort = TaskSort::default();
        let forged = encode_cursor_parts(&[
            &sort_param(sort),
            "t",
            "9999-12-31T23:59:59-01:00",
            &uuid::Uuid::nil().to_string(),
        ]);
        assert!(decode_cursor(&forged, sort).is_err());
    }

    #[test]
    fn sorts_parse_with_an_optional_minus_and_round_trip() {
        for raw in [
            "created_at",
            "-created_at",
            "updated_at",
            "due_at",
            "-due_at",
            "priority",
            "-title",
        ] {
            let sort = parse_sort(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(sort_param(sort), raw);
        }
        assert_eq!(parse_sort("-priority").map(|s| s.descending), Ok(true));
        for bad in [
            "",
            "-",
            "--title",
            "id",
            "Title",
            "created_at,title",
            "+title",
        ] {
            assert!(parse_sort(bad).is_err(), "{bad:?}");
        }
    }
}

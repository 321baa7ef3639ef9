//! Query strings of paginated lists: parsing `limit`, `cursor`, `sort` and filters into a
//! domain query (422 naming every bad parameter), opaque cursors, and the
//! `Link: <…>; rel="next"` header. Only the admin account list uses it so far; the task list
//! is meant to share the same rules.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use chrono::DateTime;
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DataType, DefaultOperationRaw, Either, Parameter, ParameterIn};
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::{
    Role, UserCursor, UserId, UserListQuery, UserSort, UserSortField, UserSortKey, ValidationErrors,
};

use crate::auth::AuthGate;
use crate::error::ApiError;
use crate::query::percent_decode;

/// The `name=value` pairs of a query string, decoded, in order.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => (percent_decode(name), percent_decode(value)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 2048 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

fn sort_code(sort: UserSort) -> &'static str {
    match (sort.field, sort.descending) {
        (UserSortField::CreatedAt, false) => "created_at",
        (UserSortField::CreatedAt, true) => "-created_at",
        (UserSortField::Email, false) => "email",
        (UserSortField::Email, true) => "-email",
    }
}

fn parse_sort(raw: &str) -> Option<UserSort> {
    let (descending, field) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let field = match field {
        "created_at" => UserSortField::CreatedAt,
        "email" => UserSortField::Email,
        _ => return None,
    };
    Some(UserSort { field, descending })
}

/// The opaque form of a cursor: hex of `u1`, the sort it belongs to, its key and its id,
/// one per line. Clients must not build or read them; the format may change.
pub(crate) fn encode_cursor(sort: UserSort, cursor: &UserCursor) -> String {
    let key = match &cursor.key {
        UserSortKey::CreatedAt(at) => at.timestamp_micros().to_string(),
        UserSortKey::Email(email) => email.clone(),
    };
    hex(format!("u1\n{}\n{key}\n{}", sort_code(sort), cursor.id).as_bytes())
}

/// Reads a cursor back, checking it was made for `sort`.
fn decode_cursor(raw: &str, sort: UserSort) -> Result<UserCursor, &'static str> {
    let invalid = "is not a cursor from this list; start again without one";
    let text = unhex(raw)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(invalid)?;
    let mut parts = text.splitn(4, '\n');
    let (Some("u1"), Some(code), Some(key), Some(id)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid);
    };
    if code != sort_code(sort) {
        return Err("belongs to another sort order; start again without a cursor");
    }
    let id = id.parse::<UserId>().map_err(|_| invalid)?;
    let key = match sort.field {
        UserSortField::CreatedAt => key
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .map(UserSortKey::CreatedAt)
            .ok_or(invalid)?,
        UserSortField::Email => UserSortKey::Email(key.to_owned()),
    };
    Ok(UserCursor { key, id })
}

/// The query of `GET /admin/users`: `limit`, `cursor`, `q`, `role`, `disabled`, `sort`.
#[derive(Debug, Clone)]
pub struct UserListParams(pub UserListQuery);

const USER_LIST_PARAMS: &[&str] = &["limit", "cursor", "q", "role", "disabled", "sort"];

/// Longest `q` accepted (an email is at most 254 bytes).
const MAX_Q_CHARS: usize = 254;

/// Parses the query string of `GET /admin/users`.
///
/// # Errors
/// `Validation` naming every bad or unknown parameter.
pub(crate) fn parse_user_list(query: &str) -> Result<UserListQuery, ApiError> {
    let mut errors = ValidationErrors::new();
    let mut seen: Vec<String> = Vec::new();
    let mut values = std::collections::HashMap::new();
    for (name, value) in query_pairs(query) {
        if seen.contains(&name) {
            if !errors.errors().iter().any(|e| e.field == name) {
                errors.push(name.clone(), "must be given at most once");
            }
            continue;
        }
        seen.push(name.clone());
        if USER_LIST_PARAMS.contains(&name.as_str()) {
            values.insert(name, value);
        } else {
            errors.push(name, "is not a known query parameter");
        }
    }
    let mut out = UserListQuery::default();
    if let Some(raw) = values.get("limit") {
        match raw.parse::<u32>() {
            Ok(n) if (1..=UserListQuery::MAX_LIMIT).contains(&n) => out.limit = n,
            _ => errors.push(
                "limit",
                format!("must be an integer from 1 to {}", UserListQuery::MAX_LIMIT),
            ),
        }
    }
    if let Some(raw) = values.get("sort") {
        match parse_sort(raw) {
            Some(sort) => out.sort = sort,
            None => errors.push(
                "sort",
                "must be one of created_at, -created_at, email, -email",
            ),
        }
    }
    if let Some(raw) = values.get("q") {
        if raw.chars().count() > MAX_Q_CHARS {
            errors.push("q", format!("must be at most {MAX_Q_CHARS} characters"));
        } else if !raw.is_empty() {
            out.email_contains = Some(raw.to_lowercase());
        }
    }
    if let Some(raw) = values.get("role") {
        match Role::parse(raw) {
            Ok(role) => out.role = Some(role),
            Err(message) => errors.push("role", message),
        }
    }
    if let Some(raw) = values.get("disabled") {
        match raw.as_str() {
            "true" => out.disabled = Some(true),
            "false" => out.disabled = Some(false),
            _ => errors.push("disabled", "must be true or false"),
        }
    }
    if let Some(raw) = values.get("cursor") {
        match decode_cursor(raw, out.sort) {
            Ok(cursor) => out.after = Some(cursor),
            // A bad sort already said what is wrong; the cursor cannot be judged without it.
            Err(_) if errors.errors().iter().any(|e| e.field == "sort") => {}
            Err(message) => errors.push("cursor", message),
        }
    }
    errors.into_result(|| out).map_err(ApiError::Validation)
}

/// The `Link` header value pointing to the page after `next`, keeping the filters.
pub(crate) fn next_link(path: &str, query: &UserListQuery, next: &UserCursor) -> String {
    let mut params = vec![format!("limit={}", query.limit)];
    if query.sort != UserSort::default() {
        params.push(format!("sort={}", percent_encode(sort_code(query.sort))));
    }
    if let Some(q) = &query.email_contains {
        params.push(format!("q={}", percent_encode(q)));
    }
    if let Some(role) = query.role {
        params.push(format!("role={}", role.as_str()));
    }
    if let Some(disabled) = query.disabled {
        params.push(format!("disabled={disabled}"));
    }
    params.push(format!("cursor={}", encode_cursor(query.sort, next)));
    format!("<{path}?{}>; rel=\"next\"", params.join("&"))
}

impl FromRequest for UserListParams {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = parse_user_list(req.query_string());
        let gate = AuthGate::of(req);
        async move {
            AuthGate::passed(gate).await?;
            parsed.map(UserListParams)
        }
        .boxed_local()
    }
}

impl Apiv2Schema for UserListParams {}

fn query_parameter(
    name: &str,
    description: &str,
    data_type: DataType,
    enum_: &[&str],
) -> Either<paperclip::v2::models::Reference, Parameter<paperclip::v2::models::DefaultSchemaRaw>> {
    Either::Right(Parameter {
        in_: ParameterIn::Query,
        name: name.into(),
        description: Some(description.into()),
        required: false,
        data_type: Some(data_type),
        enum_: enum_.iter().map(|v| serde_json::Value::from(*v)).collect(),
        ..Default::default()
    })
}

impl OperationModifier for UserListParams {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        op.parameters.extend([
            query_parameter(
                "limit",
                "Page size, 1–100 (default 50).",
                DataType::Integer,
                &[],
            ),
            query_parameter(
                "cursor",
                "Opaque: the `cursor` of the previous page's `Link: rel=\"next\"`.",
                DataType::String,
                &[],
            ),
            query_parameter(
                "q",
                "Only emails containing this text (case-insensitive).",
                DataType::String,
                &[],
            ),
            query_parameter(
                "role",
                "Only this role.",
                DataType::String,
                &["user", "admin"],
            ),
            query_parameter(
                "disabled",
                "Only disabled (true) or enabled (false) accounts.",
                DataType::Boolean,
                &[],
            ),
            query_parameter(
                "sort",
                "Order (ties by id); `-` for descending. Default `created_at`.",
                DataType::String,
                &["created_at", "-created_at", "email", "-email"],
            ),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn fields(query: &str) -> Vec<String> {
        match parse_user_list(query) {
            Ok(_) => Vec::new(),
            Err(ApiError::Validation(e)) => e.errors().iter().map(|f| f.field.clone()).collect(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn defaults_and_every_parameter_parse() {
        let q = parse_user_list("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q, UserListQuery::default());
        let q = parse_user_list("limit=7&q=Bob%40&role=admin&disabled=false&sort=-email")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.limit, 7);
        assert_eq!(q.email_contains.as_deref(), Some("bob@"));
        assert_eq!((q.role, q.disabled), (Some(Role::Admin), Some(false)));
        assert_eq!(
            q.sort,
            UserSort {
                field: UserSortField::Email,
                descending: true
            }
        );
    }

    #[test]
    fn bad_parameters_are_each_named() {
        assert_eq!(
            fields("limit=0&role=root&disabled=yes&sort=name&cursor=zz&x=1"),
            ["x", "limit", "sort", "role", "disabled"]
        );
        assert_eq!(fields("limit=101"), ["limit"]);
        assert_eq!(fields("limit=abc"), ["limit"]);
        assert_eq!(fields("limit=5&limit=6"), ["limit"]);
        assert_eq!(fields("cursor=zz"), ["cursor"]);
        assert_eq!(fields(&format!("q={}", "a".repeat(255))), ["q"]);
    }

    #[test]
    fn cursors_round_trip_and_belong_to_their_sort() {
        let id = UserId::from_uuid(Uuid::from_u128(5));
        let by_email = UserSort {
            field: UserSortField::Email,
            descending: false,
        };
        let cursor = UserCursor {
            key: UserSortKey::Email("a\nb@example.com".into()),
            id,
        };
        let encoded = encode_cursor(by_email, &cursor);
        assert_eq!(decode_cursor(&encoded, by_email), Ok(cursor));
        assert!(decode_cursor(&encoded, UserSort::default()).is_err());
        let at = DateTime::from_timestamp_micros(1_795_000_000_123_456)
            .unwrap_or_else(|| panic!("out of range"));
        let cursor = UserCursor {
            key: UserSortKey::CreatedAt(at),
            id,
        };
        let encoded = encode_cursor(UserSort::default(), &cursor);
        assert_eq!(decode_cursor(&encoded, UserSort::default()), Ok(cursor));
        for bad in ["", "abc", "zz", &hex(b"u1\ncreated_at\nnope\nnope")] {
            assert!(decode_cursor(bad, UserSort::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_next_link_keeps_the_filters() {
        let query = parse_user_list("limit=2&q=a%20b&role=user&disabled=true&sort=email")
            .unwrap_or_else(|e| panic!("{e}"));
        let next = UserCursor {
            key: UserSortKey::Email("x@example.com".into()),
            id: UserId::from_uuid(Uuid::from_u128(1)),
        };
        let link = next_link("/admin/users", &query, &next);
        assert!(link.starts_with(
            "</admin/users?limit=2&sort=email&q=a%20b&role=user&disabled=true&cursor="
        ));
        assert!(link.ends_with(">; rel=\"next\""));
        let target = link
            .trim_start_matches("</admin/users?")
            .trim_end_matches(">; rel=\"next\"");
        assert_eq!(
            parse_user_list(target).ok().and_then(|q| q.after),
            Some(next)
        );
    }
}

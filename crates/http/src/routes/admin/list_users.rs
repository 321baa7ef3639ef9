//! `GET /admin/users`: its parameters (`limit`, `cursor`, `q`, `role`, `disabled`, `sort`),
//! the account cursor, and the handler.

use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use chrono::DateTime;
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use paperclip::actix::{OperationModifier, api_v2_operation};
use paperclip::v2::models::{DataType, DefaultOperationRaw, Either, Parameter};
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::{
    Role, UserCursor, UserId, UserListQuery, UserSort, UserSortField, UserSortKey, ValidationErrors,
};

use crate::AppState;
use crate::auth::{AdminUser, AuthGate};
use crate::body::NO_CONTROL;
use crate::error::ApiError;
use crate::instant::within_storable_years;
use crate::pagination::{
    self, NOT_OURS, NextLink, bad_sort, foreign_sort, limit_parameter, parse_limit, sort_parameter,
};
use crate::query::{QueryParams, parse_bool};
use crate::reply::JsonOk;
use crate::routes::accounts::UserResponse;

/// The fields accounts can be sorted by, in their API form.
const SORT_FIELDS: &[&str] = &["created_at", "email"];

/// Lists accounts, a page at a time (`Link: <…>; rel="next"` while more follow).
#[api_v2_operation(operation_id = "list_users", tags(Admin))]
pub async fn list_users(
    caller: AdminUser,
    state: Data<AppState>,
    params: UserListParams,
) -> Result<JsonOk<Vec<UserResponse>>, ApiError> {
    let UserListParams { query, link } = params;
    let page = state.admin.list_users(&caller.0, query.clone()).await?;
    let next = page
        .next
        .as_ref()
        .map(|next| encode_cursor(query.sort, next));
    let items = page.items.into_iter().map(UserResponse::from).collect();
    Ok(link.reply(items, next))
}

fn sort_code(sort: UserSort) -> &'static str {
    match (sort.field, sort.descending) {
        (UserSortField::CreatedAt, false) => "created_at",
        (UserSortField::CreatedAt, true) => "-created_at",
        (UserSortField::Email, false) => "email",
        (UserSortField::Email, true) => "-email",
    }
}

fn parse_sort(raw: &str) -> Result<UserSort, String> {
    let (descending, field) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let field = match field {
        "created_at" => UserSortField::CreatedAt,
        "email" => UserSortField::Email,
        _ => return Err(bad_sort(SORT_FIELDS)),
    };
    Ok(UserSort { field, descending })
}

/// The opaque form of an account cursor: its sort, its key and its id.
fn encode_cursor(sort: UserSort, cursor: &UserCursor) -> String {
    let key = match &cursor.key {
        UserSortKey::CreatedAt(at) => at.timestamp_micros().to_string(),
        UserSortKey::Email(email) => email.clone(),
    };
    pagination::encode_cursor(&[sort_code(sort), &key, &cursor.id.to_string()])
}

/// Reads a cursor back, checking it was made for `sort`.
fn decode_cursor(raw: &str, sort: UserSort) -> Result<UserCursor, String> {
    let invalid = || NOT_OURS.to_owned();
    let parts = pagination::decode_cursor(raw)?;
    let [code, key, id] = parts.as_slice() else {
        return Err(invalid());
    };
    if code != sort_code(sort) {
        // A code that names no sort is not one of ours.
        let cursor_sort = parse_sort(code).map_err(|_| invalid())?;
        return Err(foreign_sort(sort_code(cursor_sort), sort_code(sort)));
    }
    let id = id.parse::<UserId>().map_err(|_| invalid())?;
    let key = match sort.field {
        UserSortField::CreatedAt => key
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .and_then(|at| within_storable_years(at).ok())
            .map(UserSortKey::CreatedAt)
            .ok_or_else(invalid)?,
        UserSortField::Email => UserSortKey::Email(key.clone()),
    };
    Ok(UserCursor { key, id })
}

/// The query of `GET /admin/users`, and where its next page is.
#[derive(Debug, Clone)]
pub struct UserListParams {
    /// The query for the domain.
    pub query: UserListQuery,
    /// Where the next page is.
    link: NextLink,
}

/// Longest `q` accepted (an email is at most 254 bytes).
const MAX_Q_CHARS: usize = 254;

fn parse_q(raw: &str) -> Result<Option<String>, String> {
    if raw.chars().count() > MAX_Q_CHARS {
        Err(format!("must be at most {MAX_Q_CHARS} characters"))
    } else if raw.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok((!raw.is_empty()).then(|| raw.to_lowercase()))
    }
}

/// Parses the query string of `GET /admin/users`.
///
/// # Errors
/// `Validation` naming every bad, repeated or unknown parameter.
pub(crate) fn parse_user_list(query: &str) -> Result<UserListQuery, ApiError> {
    let mut params = QueryParams::parse(query)?;
    let mut errors = ValidationErrors::new();
    let mut out = UserListQuery::default();
    if let Some(raw) = params.take("limit") {
        out.size = errors.check("limit", parse_limit(&raw)).unwrap_or(out.size);
    }
    let mut sort_ok = true;
    if let Some(raw) = params.take("sort") {
        match parse_sort(&raw) {
            Ok(sort) => out.sort = sort,
            Err(message) => {
                sort_ok = false;
                errors.push("sort", message);
            }
        }
    }
    if let Some(raw) = params.take("q") {
        out.email_contains = errors.check("q", parse_q(&raw)).flatten();
    }
    if let Some(raw) = params.take("role") {
        out.role = errors.check("role", Role::parse(&raw));
    }
    if let Some(raw) = params.take("disabled") {
        out.disabled = errors.check("disabled", parse_bool(&raw));
    }
    if let Some(raw) = params.take("cursor") {
        match decode_cursor(&raw, out.sort) {
            Ok(cursor) => out.after = Some(cursor),
            // A bad sort already said what is wrong; the cursor cannot be judged without it.
            Err(_) if !sort_ok => {}
            Err(message) => errors.push("cursor", message),
        }
    }
    if let Err(ApiError::Validation(unknown)) = params.finish() {
        errors.extend(unknown);
    }
    errors.into_result(|| out).map_err(ApiError::Validation)
}

impl FromRequest for UserListParams {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = parse_user_list(req.query_string()).map(|query| UserListParams {
            query,
            link: NextLink::of(req),
        });
        let gate = AuthGate::of(req);
        async move {
            AuthGate::passed(gate).await?;
            parsed
        }
        .boxed_local()
    }
}

impl Apiv2Schema for UserListParams {}

/// A query parameter of `GET /admin/users` for the OpenAPI document, with its allowed
/// values when it has a fixed set.
fn query_parameter(
    name: &str,
    description: &str,
    data_type: DataType,
    enum_: &[&str],
) -> Parameter<paperclip::v2::models::DefaultSchemaRaw> {
    let mut parameter = crate::query::query_parameter(name, description, data_type, None);
    parameter.enum_ = enum_.iter().map(|v| serde_json::Value::from(*v)).collect();
    parameter
}

impl OperationModifier for UserListParams {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        let mut q = query_parameter(
            "q",
            "Only emails containing this text (case-insensitive).",
            DataType::String,
            &[],
        );
        q.max_length = u32::try_from(MAX_Q_CHARS).ok();
        q.pattern = Some(NO_CONTROL.into());
        op.parameters.extend(
            [
                limit_parameter(),
                pagination::cursor_parameter(
                    "Opaque: the `cursor` of the previous page's `Link: rel=\"next\"`.",
                ),
                q,
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
                sort_parameter(
                    "Order (ties by id); `-` for descending. Default `created_at`.",
                    SORT_FIELDS,
                ),
            ]
            .map(Either::Right),
        );
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
        assert_eq!(q.size.get(), 7);
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
            ["limit", "sort", "role", "disabled", "x"]
        );
        assert_eq!(fields("limit=101"), ["limit"]);
        assert_eq!(fields("limit=abc"), ["limit"]);
        assert_eq!(fields("limit=5&limit=6"), ["limit"]);
        assert_eq!(fields("cursor=zz"), ["cursor"]);
        assert_eq!(fields(&format!("q={}", "a".repeat(255))), ["q"]);
    }

    #[test]
    fn the_next_link_keeps_the_filters_and_its_cursor_reads_back() {
        let sent = "limit=2&q=a%20b&role=user&disabled=true&sort=email";
        let req = actix_web::test::TestRequest::get()
            .uri(&format!("/admin/users?{sent}&cursor=old"))
            .to_http_request();
        let query = parse_user_list(sent).unwrap_or_else(|e| panic!("{e}"));
        let next = UserCursor {
            key: UserSortKey::Email("x@example.com".into()),
            id: UserId::from_uuid(Uuid::from_u128(1)),
        };
        let link = NextLink::of(&req)
            .header(&encode_cursor(query.sort, &next))
            .unwrap_or_default();
        assert!(
            link.starts_with(
                "</admin/users?limit=2&q=a+b&role=user&disabled=true&sort=email&cursor="
            ),
            "{link}"
        );
        let target = link
            .trim_start_matches("</admin/users?")
            .trim_end_matches(">; rel=\"next\"");
        assert_eq!(
            parse_user_list(target).ok().and_then(|q| q.after),
            Some(next)
        );
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
        let forged = pagination::encode_cursor(&["created_at", "nope", "nope"]);
        for bad in ["", "abc", "zz", &forged] {
            assert!(decode_cursor(bad, UserSort::default()).is_err(), "{bad}");
        }
    }
}

//! `GET /lists`: its parameters (the archived filter, sort, page size, cursor), the list
//! cursor, and the handler. Every bad parameter is a 422 naming it.

use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use paperclip::actix::{OperationModifier, api_v2_operation};
use paperclip::v2::models::{DataType, DefaultOperationRaw, Either};
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::{
    ListCursor, ListFilter, ListId, ListListQuery, ListPage, ListSort, ListSortField, ListSortKey,
    PageSize,
};

use super::ListResponse;
use crate::AppState;
use crate::auth::{AuthGate, AuthUser};
use crate::error::ApiError;
use crate::pagination::{
    self, NOT_OURS, NextLink, foreign_sort, limit_parameter, parse_limit, sort_parameter,
};
use crate::query::{QueryParams, parse_bool, query_parameter};
use crate::reply::JsonOk;

/// The fields lists can be sorted by: each API name with its domain field.
const SORTS: [(&str, ListSortField); 2] = [
    ("created_at", ListSortField::CreatedAt),
    ("name", ListSortField::Name),
];

/// The API names of [`SORTS`].
const SORT_FIELDS: [&str; 2] = ["created_at", "name"];

/// Parses `sort`: `created_at`, `-name`, … (a leading `-` means descending).
fn parse_sort(raw: &str) -> Result<ListSort, String> {
    let (descending, name) = match raw.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, raw),
    };
    SORTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, field)| ListSort { field, descending })
        .ok_or_else(|| pagination::bad_sort(&SORT_FIELDS))
}

/// The API form of a sort order (`-name`).
fn sort_param(sort: ListSort) -> String {
    let name = SORTS
        .iter()
        .find(|(_, f)| *f == sort.field)
        .map_or("", |(n, _)| n);
    format!("{}{name}", if sort.descending { "-" } else { "" })
}

/// Lists the lists the caller belongs to, a page at a time (follow `Link: rel="next"`);
/// `X-Changes-Cursor` is where to follow their changes from.
#[api_v2_operation(operation_id = "list_lists", tags(Lists))]
pub async fn list(
    state: Data<AppState>,
    caller: AuthUser,
    params: ListListParams,
) -> Result<JsonOk<Vec<ListResponse>>, ApiError> {
    // The present just before the read, as for `GET /tasks`: every change the page does not
    // show commits after it, so following the changes from it misses nothing.
    let present = state.changes.present().await?;
    let page = state.lists.list(&caller.0, params.query.clone()).await?;
    Ok(params.reply(page).header((
        crate::routes::changes::X_CHANGES_CURSOR,
        crate::routes::changes::encode_cursor(&present),
    )))
}

/// A validated `GET /lists` query, and what the next page's link needs.
#[derive(Debug)]
pub struct ListListParams {
    /// The query for the domain.
    query: ListListQuery,
    /// Where the next page is.
    link: NextLink,
}

impl ListListParams {
    fn parse(query: &str) -> Result<ListListQuery, ApiError> {
        let mut params = QueryParams::parse(query)?;
        let mut filter = ListFilter::default();
        let mut sort = ListSort::default();
        let mut size = PageSize::default();
        let mut errors = taskapi_domain::ValidationErrors::new();
        if let Some(raw) = params.take("archived") {
            filter.archived = errors.check("archived", parse_bool(&raw));
        }
        let mut sort_ok = true;
        if let Some(raw) = params.take("sort") {
            let parsed = errors.check("sort", parse_sort(&raw));
            sort_ok = parsed.is_some();
            sort = parsed.unwrap_or_default();
        }
        if let Some(raw) = params.take("limit") {
            size = errors.check("limit", parse_limit(&raw)).unwrap_or_default();
        }
        let after = match params.take("cursor") {
            Some(_) if !sort_ok => None,
            Some(raw) => errors.check("cursor", decode_cursor(&raw, sort)),
            None => None,
        };
        match params.finish() {
            Ok(()) => {}
            Err(ApiError::Validation(unknown)) => errors.extend(unknown),
            Err(other) => return Err(other),
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(ListListQuery {
            filter,
            sort,
            size,
            after,
        })
    }

    /// The page's lists, and `Link: rel="next"` when there are more.
    fn reply(&self, page: ListPage) -> JsonOk<Vec<ListResponse>> {
        let items = page.items.into_iter().map(ListResponse::from).collect();
        self.link
            .reply(items, page.next.as_ref().map(encode_cursor))
    }
}

/// Encodes a list cursor: its sort, the kind and value of its key, and its id.
fn encode_cursor(cursor: &ListCursor) -> String {
    let (kind, value) = match &cursor.key {
        ListSortKey::Instant(at) => ("t", pagination::encode_instant(at)),
        ListSortKey::Name(name) => ("s", name.clone()),
    };
    pagination::encode_cursor(&[
        &sort_param(cursor.sort),
        kind,
        &value,
        &cursor.id.to_string(),
    ])
}

/// Decodes a cursor and checks that it belongs to `sort`.
fn decode_cursor(raw: &str, sort: ListSort) -> Result<ListCursor, String> {
    let parts = pagination::decode_cursor(raw)?;
    let [sort_raw, kind, value, id] = parts.as_slice() else {
        return Err(NOT_OURS.into());
    };
    let cursor_sort = parse_sort(sort_raw).map_err(|_| NOT_OURS.to_owned())?;
    if cursor_sort != sort {
        return Err(foreign_sort(&sort_param(cursor_sort), &sort_param(sort)));
    }
    let key = match kind.as_str() {
        "t" => ListSortKey::Instant(pagination::decode_instant(value)?),
        "s" => ListSortKey::Name(value.clone()),
        _ => return Err(NOT_OURS.into()),
    };
    let cursor = ListCursor {
        sort,
        key,
        id: id.parse::<ListId>().map_err(|_| NOT_OURS.to_owned())?,
    };
    if cursor.is_consistent() {
        Ok(cursor)
    } else {
        Err(NOT_OURS.into())
    }
}

impl FromRequest for ListListParams {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = Self::parse(req.query_string()).map(|query| Self {
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

impl Apiv2Schema for ListListParams {}

impl OperationModifier for ListListParams {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        let sort = sort_parameter(
            "Order: created_at (default) or name; prefix - for descending. Ties are broken by id.",
            &SORT_FIELDS,
        );
        for parameter in [
            query_parameter(
                "archived",
                "Only archived (true) or only active (false) lists; both by default.",
                DataType::Boolean,
                None,
            ),
            sort,
            limit_parameter(),
            pagination::cursor_parameter("Opaque cursor from the previous page's Link header."),
        ] {
            op.parameters.push(Either::Right(parameter));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_parse_with_an_optional_minus_and_round_trip() {
        for raw in ["created_at", "-created_at", "name", "-name"] {
            let sort = parse_sort(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(sort_param(sort), raw);
        }
        for bad in ["", "-", "title", "Name", "--name"] {
            assert!(parse_sort(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_cursor_of_another_sort_or_shape_is_refused() {
        let by_name = ListSort {
            field: ListSortField::Name,
            descending: false,
        };
        let forged = pagination::encode_cursor(&[
            "name",
            "t",
            "2026-01-01T00:00:00Z",
            &uuid::Uuid::nil().to_string(),
        ]);
        assert!(decode_cursor(&forged, by_name).is_err());
        assert!(decode_cursor(&forged, ListSort::default()).is_err());
        let good = encode_cursor(&ListCursor {
            sort: by_name,
            key: ListSortKey::Name("groceries".into()),
            id: ListId::from_uuid(uuid::Uuid::nil()),
        });
        assert!(decode_cursor(&good, by_name).is_ok());
    }
}

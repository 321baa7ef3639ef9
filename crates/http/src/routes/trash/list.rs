//! `GET /trash`: its parameters (`list_id`, page size, cursor), the trash cursor, and the
//! handler. Every bad parameter is a 422 naming it.

use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use paperclip::actix::{OperationModifier, api_v2_operation};
use paperclip::v2::models::{DataType, DataTypeFormat, DefaultOperationRaw, Either};
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::{ListId, PageSize, TaskId, TrashCursor, TrashPage, TrashQuery};

use super::TrashedTaskResponse;
use crate::AppState;
use crate::auth::{AuthGate, ScopedUser, TasksRead};
use crate::error::ApiError;
use crate::pagination::{self, NOT_OURS, NextLink, limit_parameter, parse_limit};
use crate::query::{QueryParams, query_parameter};
use crate::reply::JsonOk;

/// What a `list_id` that is not a UUID is told.
const NOT_A_UUID: &str = "must be a UUID";

/// The first part of every trash cursor: a cursor of another listing is not ours.
const CURSOR_KIND: &str = "trash";

/// Lists the trashed tasks of the lists where the caller is an editor or owner (archived
/// lists left out unless `list_id` names one), newest deletion first, a page at a time
/// (follow `Link: rel="next"`); `X-Changes-Cursor` is where to follow their changes from.
#[api_v2_operation(operation_id = "list_trash", tags(Trash))]
pub async fn list(
    state: Data<AppState>,
    caller: ScopedUser<TasksRead>,
    params: TrashListParams,
) -> Result<JsonOk<Vec<TrashedTaskResponse>>, ApiError> {
    // The present just before the read, as for GET /tasks: a restore or purge the page does
    // not show commits after it.
    let present = state.changes.present().await?;
    let page = state.trash.list(&caller.0, params.query.clone()).await?;
    Ok(params.reply(page).header((
        crate::routes::changes::X_CHANGES_CURSOR,
        crate::routes::changes::encode_cursor(&present),
    )))
}

/// A validated `GET /trash` query, and what the next page's link needs.
#[derive(Debug)]
pub struct TrashListParams {
    /// The query for the domain.
    query: TrashQuery,
    /// Where the next page is.
    link: NextLink,
}

impl TrashListParams {
    fn parse(query: &str) -> Result<TrashQuery, ApiError> {
        let mut params = QueryParams::parse(query)?;
        let mut errors = taskapi_domain::ValidationErrors::new();
        let list_id = params
            .take("list_id")
            .and_then(|raw| errors.check("list_id", raw.parse::<ListId>().map_err(|_| NOT_A_UUID)));
        let size = match params.take("limit") {
            Some(raw) => errors.check("limit", parse_limit(&raw)).unwrap_or_default(),
            None => PageSize::default(),
        };
        let after = params
            .take("cursor")
            .and_then(|raw| errors.check("cursor", decode_cursor(&raw)));
        match params.finish() {
            Ok(()) => {}
            Err(ApiError::Validation(unknown)) => errors.extend(unknown),
            Err(other) => return Err(other),
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(TrashQuery {
            list_id,
            size,
            after,
        })
    }

    /// The page's trashed tasks, and `Link: rel="next"` when there are more.
    fn reply(&self, page: TrashPage) -> JsonOk<Vec<TrashedTaskResponse>> {
        let items = page
            .items
            .into_iter()
            .map(TrashedTaskResponse::from)
            .collect();
        self.link
            .reply(items, page.next.as_ref().map(encode_cursor))
    }
}

/// Encodes a trash cursor: its kind, the deletion instant and the id.
fn encode_cursor(cursor: &TrashCursor) -> String {
    pagination::encode_cursor(&[
        CURSOR_KIND,
        &pagination::encode_instant(&cursor.trashed_at),
        &cursor.id.to_string(),
    ])
}

/// Decodes a trash cursor.
fn decode_cursor(raw: &str) -> Result<TrashCursor, String> {
    let parts = pagination::decode_cursor(raw)?;
    let [kind, at, id] = parts.as_slice() else {
        return Err(NOT_OURS.into());
    };
    if kind != CURSOR_KIND {
        return Err(NOT_OURS.into());
    }
    Ok(TrashCursor {
        trashed_at: pagination::decode_instant(at)?,
        id: id.parse::<TaskId>().map_err(|_| NOT_OURS.to_owned())?,
    })
}

impl FromRequest for TrashListParams {
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

impl Apiv2Schema for TrashListParams {}

impl OperationModifier for TrashListParams {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        let mut list_id = query_parameter(
            "list_id",
            "Only the trash of this list (archived or not); without it, the trash of every \
             unarchived list the caller edits or owns.",
            DataType::String,
            Some(DataTypeFormat::Uuid),
        );
        list_id.max_length = Some(45);
        for parameter in [
            list_id,
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
    fn cursors_round_trip_and_those_of_other_listings_are_refused() {
        let cursor = TrashCursor {
            trashed_at: chrono::DateTime::from_timestamp(1_700_000_000, 123_000)
                .unwrap_or_default(),
            id: TaskId::from_uuid(uuid::Uuid::from_u128(42)),
        };
        assert_eq!(decode_cursor(&encode_cursor(&cursor)), Ok(cursor));
        let foreign = pagination::encode_cursor(&[
            "created_at",
            "2026-01-01T00:00:00Z",
            &uuid::Uuid::nil().to_string(),
        ]);
        assert!(decode_cursor(&foreign).is_err());
        assert!(decode_cursor("abc").is_err());
    }

    #[test]
    fn unknown_and_bad_parameters_are_each_named() {
        let err = TrashListParams::parse("list_id=x&limit=0&cursor=zz&sort=title")
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        let ApiError::Validation(errors) = err else {
            panic!("{err:?}");
        };
        let fields: Vec<&str> = errors.errors().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["list_id", "limit", "cursor", "sort"]);
    }
}

//! `PATCH /lists/{id}`: the handler and its request body.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;
use taskapi_domain::{ListName, ListPatch};

use super::{LIST_READ_ONLY, ListResponse, NAME_RULE, with_etag};
use crate::AppState;
use crate::auth::AuthUser;
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody};
use crate::conditional::IfMatchHeader;
use crate::error::ApiError;
use crate::path::ListIdParam;
use crate::query::NoQuery;
use crate::reply::JsonOk;

/// Renames (editors and owners) or archives and restores (owners) a list; absent fields
/// stay. With `If-Match`, only if the list is still at that version. The inbox refuses both.
#[api_v2_operation(operation_id = "update_list", tags(Lists))]
pub async fn update(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: ListIdParam,
    if_match: IfMatchHeader,
    body: JsonBody<UpdateListRequest>,
) -> Result<JsonOk<ListResponse>, ApiError> {
    let id = id.get()?;
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    let list = state
        .lists
        .update(&caller.0, id, body.0, if_match.0)
        .await?;
    Ok(with_etag(list))
}

/// A partial update of a list: absent fields stay as they are.
#[derive(Debug)]
pub struct UpdateListRequest;

const NAME: Field = Field::new(
    "name",
    Kind::Text(NAME_RULE),
    "1–100 characters after trimming (editors and owners).",
);
const ARCHIVED: Field = Field::new(
    "archived",
    Kind::Boolean,
    "Archive (true) or restore (false) the list (owners).",
);

impl RequestBody for UpdateListRequest {
    const NAME: &'static str = "UpdateListRequest";
    const DESCRIPTION: &'static str =
        "A partial update of a list: absent fields stay as they are; read-only fields are ignored.";
    const FIELDS: &'static [Field] = &[NAME, ARCHIVED];
    const READ_ONLY: &'static [&'static str] = LIST_READ_ONLY;
    type Parsed = ListPatch;

    fn parse(f: &mut Fields) -> Option<ListPatch> {
        let name = f.string(NAME);
        let name = match f.optional(NAME, name) {
            Some(Some(n)) => f.check(NAME, ListName::parse(&n)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let archived = f.boolean(ARCHIVED);
        let archived = f.optional(ARCHIVED, archived);
        Some(ListPatch {
            name: name?,
            archived: archived?,
        })
    }
}

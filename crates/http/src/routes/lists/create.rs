//! `POST /lists`: the creation handler and its request body.

use actix_web::http::header::{ETAG, LOCATION};
use actix_web::web::Data;
use paperclip::actix::api_v2_operation;
use taskapi_domain::ListName;

use super::{LIST_READ_ONLY, ListResponse, NAME_RULE, etag};
use crate::AppState;
use crate::auth::AuthUser;
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody};
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::JsonCreated;

/// Creates a list, the caller its owner. 409 past the account's list quota; 429 past its
/// writes per minute.
#[api_v2_operation(operation_id = "create_list", tags(Lists))]
pub async fn create(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    body: JsonBody<CreateListRequest>,
) -> Result<JsonCreated<ListResponse>, ApiError> {
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    let list = state.lists.create(&caller.0, body.0).await?;
    let (location, tag) = (format!("/lists/{}", list.id), etag(&list));
    Ok(JsonCreated::new(ListResponse::from(list))
        .header((LOCATION, location))
        .header((ETAG, tag)))
}

/// A new list.
#[derive(Debug)]
pub struct CreateListRequest;

const NAME: Field = Field::new(
    "name",
    Kind::Text(NAME_RULE),
    "1–100 characters after trimming.",
)
.required();

impl RequestBody for CreateListRequest {
    const NAME: &'static str = "CreateListRequest";
    const DESCRIPTION: &'static str = "A new list; the caller becomes its owner.";
    const FIELDS: &'static [Field] = &[NAME];
    const READ_ONLY: &'static [&'static str] = LIST_READ_ONLY;
    type Parsed = ListName;

    fn parse(f: &mut Fields) -> Option<ListName> {
        let name = f.string(NAME);
        f.required(NAME, name)
            .and_then(|n| f.check(NAME, ListName::parse(&n)))
    }
}

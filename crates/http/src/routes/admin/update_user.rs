//! `PATCH /admin/users/{id}`: the handler and its request body.

use actix_web::web::Data;
use paperclip::actix::{api_v2_operation, web::Json};
use taskapi_domain::AccountChange;
use taskapi_domain::Role;

use crate::AppState;
use crate::auth::AdminUser;
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody};
use crate::error::ApiError;
use crate::path::UserIdParam;
use crate::query::NoQuery;
use crate::routes::accounts::{ROLES, UserResponse};

/// Changes an account's role or enabled state; either ends every session of the account.
/// 409 when it would leave no active administrator.
#[api_v2_operation(operation_id = "update_user", tags(Admin))]
pub async fn update_user(
    caller: AdminUser,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<UpdateUserRequest>,
    id: UserIdParam,
) -> Result<Json<UserResponse>, ApiError> {
    let JsonBody(change) = body;
    let user = state
        .admin
        .update_user(&caller.0, id.get()?, change)
        .await?;
    Ok(Json(user.into()))
}

/// An administrator's change of an account: absent fields stay as they are.
#[derive(Debug)]
pub struct UpdateUserRequest;

/// Fields of a user a client may send back unchanged from a response; ignored on input.
const USER_READ_ONLY: &[&str] = &["id", "email", "created_at"];

const ROLE: Field = Field::new("role", Kind::OneOf(ROLES), "The new role.");
const DISABLED: Field = Field::new(
    "disabled",
    Kind::Boolean,
    "True disables the account (it cannot log in, its sessions end); false enables it.",
);

impl RequestBody for UpdateUserRequest {
    const NAME: &'static str = "UpdateUserRequest";
    const DESCRIPTION: &'static str =
        "An administrator's change of an account: absent fields stay as they are.";
    const FIELDS: &'static [Field] = &[ROLE, DISABLED];
    const READ_ONLY: &'static [&'static str] = USER_READ_ONLY;
    type Parsed = AccountChange;

    fn parse(f: &mut Fields) -> Option<AccountChange> {
        let role = f.string(ROLE);
        let role = match f.optional(ROLE, role) {
            Some(Some(r)) => f.check(ROLE, Role::parse(&r)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let disabled = f.boolean(DISABLED);
        let disabled = f.optional(DISABLED, disabled);
        Some(AccountChange {
            role: role?,
            disabled: disabled?,
        })
    }
}

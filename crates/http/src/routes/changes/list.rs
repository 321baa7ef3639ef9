//! `GET /changes`: the caller's changes after a cursor, a page at a time.

use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use paperclip::actix::{Apiv2Schema, OperationModifier, api_v2_operation};
use paperclip::v2::models::{DataType, DefaultOperationRaw, DefaultSchemaRaw, Either};
use paperclip::v2::schema::Apiv2Schema as Apiv2SchemaTrait;
use serde::Serialize;
use taskapi_domain::{
    Change, ChangeCursor, ChangeLimit, ChangeOp, ChangePage, ChangedEntity, Entity,
};
use uuid::Uuid;

use super::{MAX_CURSOR_LEN, decode_cursor, encode_cursor};
use crate::AppState;
use crate::auth::{AuthGate, ChangesRead, ScopedUser};
use crate::error::ApiError;
use crate::query::{QueryParams, query_parameter};
use crate::reply::JsonOk;
use crate::routes::lists::ListResponse;
use crate::routes::tasks::TaskResponse;

/// The caller's changes after `cursor`, in commit order: each entity's latest change in
/// the page, with the entity as it is now. Without `cursor`, an empty page whose
/// `next_cursor` is the present. 410 when the cursor is older than the retention.
#[api_v2_operation(operation_id = "list_changes", tags(Changes))]
pub async fn list(
    state: Data<AppState>,
    caller: ScopedUser<ChangesRead>,
    params: ChangeParams,
) -> Result<JsonOk<ChangePageResponse>, ApiError> {
    let page = state
        .changes
        .read(&caller.0, params.cursor, params.limit)
        .await?;
    Ok(JsonOk::new(page.into()))
}

/// What kind of entity changed.
#[derive(Debug, Clone, Copy, Serialize, Apiv2Schema)]
#[serde(rename_all = "lowercase")]
pub enum EntityDto {
    /// A task.
    Task,
    /// A list.
    List,
}

/// What happened to it.
#[derive(Debug, Clone, Copy, Serialize, Apiv2Schema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOpDto {
    /// It exists: `data` holds it as it is now.
    Upsert,
    /// It is gone (for the caller): drop it.
    Delete,
}

/// One change.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct ChangeResponse {
    /// Resume after this change with `GET /changes?cursor=<this>`.
    pub cursor: String,
    /// `task` or `list`.
    pub entity: EntityDto,
    /// `upsert` when the entity exists now, `delete` when it is gone (for a list, also
    /// when you lost it: drop the list and its tasks).
    pub op: ChangeOpDto,
    /// The entity's id.
    pub id: Uuid,
    /// The list the task is in; a list's own id for a list.
    pub list_id: Option<Uuid>,
    /// When the (latest) change was made.
    pub at: DateTime<Utc>,
    /// The entity as it is now (a task, or a list as you see it: your `role`, its
    /// `member_count`); null for `delete`.
    pub data: Option<ChangeData>,
}

/// A changed entity as it is now: a task when `entity` is `task`, a list when it is `list`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ChangeData {
    /// A task.
    Task(TaskResponse),
    /// A list, as the caller sees it.
    List(ListResponse),
}

/// Declared as an object here; the document states it as `oneOf` the task and the list
/// (`crate::openapi`), which paperclip cannot express.
impl Apiv2SchemaTrait for ChangeData {
    fn raw_schema() -> DefaultSchemaRaw {
        DefaultSchemaRaw {
            data_type: Some(DataType::Object),
            ..DefaultSchemaRaw::default()
        }
    }
}

/// A page of changes.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct ChangePageResponse {
    /// The changes, in commit order; several changes of one entity are collapsed into its
    /// latest.
    pub changes: Vec<ChangeResponse>,
    /// Where to go on from: pass it as `cursor` next time.
    pub next_cursor: String,
    /// Whether more changes already follow `next_cursor` (ask again at once).
    pub has_more: bool,
}

impl From<Change> for ChangeResponse {
    fn from(c: Change) -> Self {
        Self {
            cursor: encode_cursor(&c.cursor),
            entity: match c.entity {
                Entity::Task => EntityDto::Task,
                Entity::List => EntityDto::List,
            },
            op: match c.op {
                ChangeOp::Upsert => ChangeOpDto::Upsert,
                ChangeOp::Delete => ChangeOpDto::Delete,
            },
            id: c.id,
            list_id: c.list_id,
            at: c.at,
            data: c.data.map(|entity| match entity {
                ChangedEntity::Task(task) => ChangeData::Task(task.into()),
                ChangedEntity::List(list) => ChangeData::List(list.into()),
            }),
        }
    }
}

impl From<ChangePage> for ChangePageResponse {
    fn from(page: ChangePage) -> Self {
        Self {
            changes: page.changes.into_iter().map(ChangeResponse::from).collect(),
            next_cursor: encode_cursor(&page.next),
            has_more: page.has_more,
        }
    }
}

/// A validated `GET /changes` query.
#[derive(Debug)]
pub struct ChangeParams {
    cursor: Option<ChangeCursor>,
    limit: ChangeLimit,
}

impl ChangeParams {
    fn parse(query: &str) -> Result<Self, ApiError> {
        let mut params = QueryParams::parse(query)?;
        let mut errors = taskapi_domain::ValidationErrors::new();
        let cursor = params
            .take("cursor")
            .and_then(|raw| errors.check("cursor", decode_cursor(&raw)));
        let limit = params
            .take("limit")
            .and_then(|raw| {
                errors.check(
                    "limit",
                    raw.parse::<i64>()
                        .map_err(|_| ())
                        .and_then(|n| ChangeLimit::new(n).map_err(|_| ()))
                        .map_err(|()| {
                            format!("must be a whole number between 1 and {}", ChangeLimit::MAX)
                        }),
                )
            })
            .unwrap_or_default();
        match params.finish() {
            Ok(()) => {}
            Err(ApiError::Validation(unknown)) => errors.extend(unknown),
            Err(other) => return Err(other),
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(Self { cursor, limit })
    }
}

impl FromRequest for ChangeParams {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = Self::parse(req.query_string());
        let gate = AuthGate::of(req);
        async move {
            AuthGate::passed(gate).await?;
            parsed
        }
        .boxed_local()
    }
}

impl Apiv2SchemaTrait for ChangeParams {}

impl OperationModifier for ChangeParams {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        let mut cursor = query_parameter(
            "cursor",
            "Where to go on from: `next_cursor` of the previous page, a change's `cursor`, or \
             `X-Changes-Cursor` of `GET /tasks` or `GET /lists`. Without it, the page is empty and \
             `next_cursor` is the present. One older than the retention (`sync.retention`, \
             30 days by default) is 410 Gone: read everything again.",
            DataType::String,
            None,
        );
        cursor.min_length = Some(1);
        cursor.max_length = u32::try_from(MAX_CURSOR_LEN).ok();
        let mut limit = query_parameter(
            "limit",
            "Most changes a page reads, 1–1000 (default 100), before collapsing.",
            DataType::Integer,
            None,
        );
        limit.minimum = Some(1.0);
        limit.maximum = Some(f32::from(ChangeLimit::MAX));
        limit.default = Some(serde_json::json!(ChangeLimit::default().get()));
        for parameter in [cursor, limit] {
            op.parameters.push(Either::Right(parameter));
        }
    }
}

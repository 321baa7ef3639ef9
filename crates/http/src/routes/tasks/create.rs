//! `POST /tasks`: the creation handler, its request body and its 201 response (first given
//! or replayed for a repeated `Idempotency-Key`).

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, ETAG, HeaderName, LOCATION};
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, Responder};
use paperclip::actix::{OperationModifier, api_v2_operation};
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::{
    Created, Description, IdempotentRequest, ListId, Priority, Tag, TagProblem, Tags, TagsError,
    TaskDraft, TaskId, TaskTitle, UserId, ValidationErrors,
};

use super::{NEW_TASK_READ_ONLY, PRIORITIES, TaskResponse, etag};
use crate::AppState;
use crate::auth::{ScopedUser, TasksWrite};
use crate::body::{
    Field, Fields, Kind, NOT_BLANK, NOT_BLANK_VISIBLE, RequestBody, Slot, TEXT_WITH_BREAKS, Text,
};
use crate::error::ApiError;
use crate::idempotency::{IdempotencyKeyHeader, IdempotentBody};
use crate::query::NoQuery;

/// Creates a task in one of the caller's lists (their inbox unless `list_id` names another;
/// editors and owners only), as a subtask of `parent_id` if given, last among its siblings;
/// with `Idempotency-Key`, at most once. 409 past the account's task quota or in an
/// archived list; 422 for a parent that is not a task of the list or sits at the deepest
/// level (4); 429 past the account's writes per minute.
#[api_v2_operation(operation_id = "create_task", tags(Tasks))]
pub async fn create(
    state: Data<AppState>,
    caller: ScopedUser<TasksWrite>,
    _query: NoQuery,
    key: IdempotencyKeyHeader,
    body: IdempotentBody<CreateTaskRequest>,
) -> Result<CreatedTask, ApiError> {
    let IdempotentBody(draft, fingerprint) = body;
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    let repeatable = key.0.map(|key| IdempotentRequest {
        key,
        fingerprint: fingerprint.0,
    });
    let created = state.tasks.create(&caller.0, draft, repeatable).await?;
    Ok(CreatedTask(created))
}

/// Marks a replayed response of an idempotent request.
const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// A creation's response: 201 with the task, `Location` and `ETag`, the same for the first
/// answer and for a replay of a repeated `Idempotency-Key` (which returns the task as it was
/// created, marked by `Idempotent-Replayed: true`).
#[derive(Debug)]
pub struct CreatedTask(Created);

impl Responder for CreatedTask {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        let Created { task, replayed } = self.0;
        let mut response = HttpResponse::build(StatusCode::CREATED);
        response.insert_header((CONTENT_TYPE, "application/json"));
        response.insert_header((LOCATION, format!("/tasks/{}", task.id)));
        response.insert_header((ETAG, etag(&task)));
        if replayed {
            response.insert_header((IDEMPOTENT_REPLAYED, "true"));
        }
        response.body(serde_json::to_string(&TaskResponse::from(task)).unwrap_or_default())
    }
}

impl Apiv2Schema for CreatedTask {
    fn name() -> Option<String> {
        TaskResponse::name()
    }

    fn raw_schema() -> DefaultSchemaRaw {
        TaskResponse::raw_schema()
    }
}

impl OperationModifier for CreatedTask {
    fn update_response(op: &mut DefaultOperationRaw) {
        op.responses.insert(
            "201".into(),
            Either::Right(Response {
                description: Some("Created".into()),
                schema: Some({
                    let mut def = TaskResponse::schema_with_ref();
                    def.retain_ref();
                    def
                }),
                ..Default::default()
            }),
        );
    }
}

/// A new task. Only `title` is required.
#[derive(Debug)]
pub struct CreateTaskRequest;

/// A title's rule: 1–200 characters once trimmed, no control characters, bidirectional
/// controls or zero-width characters.
pub(crate) const TITLE_RULE: Text = Text {
    min_len: Some(1),
    max_len: Some(TaskTitle::MAX_CHARS as u32),
    pattern: Some(NOT_BLANK_VISIBLE),
    format: None,
};

/// A description's rule: up to 10 000 characters, no control characters but tabs and line
/// breaks.
pub(crate) const DESCRIPTION_RULE: Text = Text {
    min_len: None,
    max_len: Some(Description::MAX_CHARS as u32),
    pattern: Some(TEXT_WITH_BREAKS),
    format: None,
};

/// The tags' rule: at most 20 (distinct once folded), each 1–40 characters once trimmed.
pub(crate) const TAGS_RULE: Kind = Kind::TextList {
    max_items: Tags::MAX as u32,
    item: Text {
        min_len: Some(1),
        max_len: Some(Tag::MAX_CHARS as u32),
        pattern: Some(NOT_BLANK),
        format: None,
    },
};

/// A UUID's rule (of a path id or a reference in a body).
pub(crate) const UUID_RULE: Text = Text {
    min_len: None,
    max_len: Some(45),
    pattern: None,
    format: Some("uuid"),
};

/// Why a reference is refused before it is looked up.
pub(crate) const NOT_A_UUID: &str = "must be a UUID";

const LIST_ID: Field = Field::new(
    "list_id",
    Kind::Text(UUID_RULE),
    "The list to create it in (editors and owners); default, or null: the caller's inbox.",
)
.nullable();
const PARENT_ID: Field = Field::new(
    "parent_id",
    Kind::Text(UUID_RULE),
    "The task of the same list to make it a subtask of (at most 4 levels); default, or null: \
     the top level.",
)
.nullable();
/// The assignee field of a new task or an update.
pub(crate) const ASSIGNEE_ID: Field = Field::new(
    "assignee_id",
    Kind::Text(UUID_RULE),
    "The member of the task's list to assign it to; null for nobody.",
)
.nullable();
const TITLE: Field = Field::new(
    "title",
    Kind::Text(TITLE_RULE),
    "1–200 characters after trimming.",
)
.required();
const DESCRIPTION: Field = Field::new(
    "description",
    Kind::Text(DESCRIPTION_RULE),
    "Up to 10 000 characters, kept as written; default empty.",
)
.nullable();
const IS_DONE: Field = Field::new(
    "is_done",
    Kind::Boolean,
    "Default false; true also sets `completed_at`.",
);
const PRIORITY: Field = Field::new("priority", Kind::OneOf(PRIORITIES), "Default `medium`.");
const DUE_AT: Field =
    Field::new("due_at", Kind::Instant, "RFC 3339 date-time, or null.").nullable();
const TAGS: Field = Field::new(
    "tags",
    TAGS_RULE,
    "At most 20 tags of 1–40 characters; trimmed, lower-cased, duplicates folded.",
);

impl RequestBody for CreateTaskRequest {
    const NAME: &'static str = "CreateTaskRequest";
    const DESCRIPTION: &'static str = "A new task. Only `title` is required.";
    const FIELDS: &'static [Field] = &[
        LIST_ID,
        PARENT_ID,
        TITLE,
        DESCRIPTION,
        IS_DONE,
        PRIORITY,
        DUE_AT,
        TAGS,
        ASSIGNEE_ID,
    ];
    const READ_ONLY: &'static [&'static str] = NEW_TASK_READ_ONLY;
    type Parsed = TaskDraft;

    fn parse(f: &mut Fields) -> Option<TaskDraft> {
        let list_id = match f.string(LIST_ID) {
            Some(Slot::Present(raw)) => f
                .check(LIST_ID, raw.parse::<ListId>().map_err(|_| NOT_A_UUID))
                .map(Some),
            Some(Slot::Absent | Slot::Null) => Some(None),
            None => None,
        };
        let parent_id = match f.string(PARENT_ID) {
            Some(Slot::Present(raw)) => f
                .check(PARENT_ID, raw.parse::<TaskId>().map_err(|_| NOT_A_UUID))
                .map(Some),
            Some(Slot::Absent | Slot::Null) => Some(None),
            None => None,
        };
        let title = f.string(TITLE);
        let title = f
            .required(TITLE, title)
            .and_then(|t| f.check(TITLE, TaskTitle::parse(&t)));
        let description = match f.string(DESCRIPTION) {
            Some(Slot::Present(d)) => f.check(DESCRIPTION, Description::parse(d)),
            Some(Slot::Absent | Slot::Null) => Some(Description::empty()),
            None => None,
        };
        let is_done = f.boolean(IS_DONE);
        let is_done = f.optional(IS_DONE, is_done).map(Option::unwrap_or_default);
        let priority = f.string(PRIORITY);
        let priority = match f.optional(PRIORITY, priority) {
            Some(Some(p)) => f.check(PRIORITY, Priority::parse(&p)),
            Some(None) => Some(Priority::default()),
            None => None,
        };
        let due_at = match f.timestamp(DUE_AT) {
            Some(Slot::Present(d)) => Some(Some(d)),
            Some(Slot::Absent | Slot::Null) => Some(None),
            None => None,
        };
        let tags = f.strings(TAGS);
        let tags = match f.optional(TAGS, tags) {
            Some(Some(t)) => f.check_many(tags_of(&t)),
            Some(None) => Some(Tags::default()),
            None => None,
        };
        let assignee_id = match f.string(ASSIGNEE_ID) {
            Some(Slot::Present(raw)) => f
                .check(ASSIGNEE_ID, raw.parse::<UserId>().map_err(|_| NOT_A_UUID))
                .map(Some),
            Some(Slot::Absent | Slot::Null) => Some(None),
            None => None,
        };
        Some(TaskDraft {
            list_id: list_id?,
            parent_id: parent_id?,
            assignee_id: assignee_id?,
            title: title?,
            description: description?,
            is_done: is_done?,
            priority: priority?,
            due_at: due_at?,
            tags: tags?,
        })
    }
}

/// Parses a task's tags, naming each invalid tag by its position in the list as sent
/// (`tags[3]`) and the count as `tags`.
pub(super) fn tags_of(raw: &[String]) -> Result<Tags, ValidationErrors> {
    Tags::parse(raw).map_err(|TagsError(problems)| {
        let mut errors = ValidationErrors::new();
        for problem in problems {
            match problem {
                TagProblem::Invalid { index, error } => {
                    errors.push(format!("tags[{index}]"), error.to_string());
                }
                TagProblem::TooMany { .. } | TagProblem::TooManyEntries { .. } => {
                    errors.push("tags", problem.to_string());
                }
            }
        }
        errors
    })
}

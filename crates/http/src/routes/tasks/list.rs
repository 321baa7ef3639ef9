//! `GET /tasks`: its parameters (filters, sort, page size, cursor), the task cursor, and the
//! handler. Every bad parameter is a 422 naming it. `GET /admin/users/{id}/tasks` takes the
//! same parameters.

use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use paperclip::actix::{OperationModifier, api_v2_operation};
use paperclip::v2::models::{DataType, DataTypeFormat, DefaultOperationRaw, Either};
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::{
    ListId, PageSize, Principal, Priority, SearchText, SortKey, Tag, TaskCursor, TaskFilter,
    TaskId, TaskListQuery, TaskPage, TaskSort, TaskSortField, UserId,
};

use super::TaskResponse;
use crate::AppState;
use crate::auth::{AuthGate, ScopedUser, TasksRead};
use crate::body::{NO_CONTROL, NOT_BLANK};
use crate::error::ApiError;
use crate::instant::{parse_instant_exact, truncate_to_micros, within_storable_years};
use crate::pagination::{
    self, NOT_OURS, NextLink, foreign_sort, limit_parameter, parse_limit, sort_parameter,
};
use crate::query::{QueryParams, parse_bool, query_parameter};
use crate::reply::JsonOk;
use crate::search_gate::SearchTurn;

/// The fields tasks can be sorted by: each API name with its domain field.
const SORTS: [(&str, TaskSortField); 6] = [
    ("created_at", TaskSortField::CreatedAt),
    ("updated_at", TaskSortField::UpdatedAt),
    ("due_at", TaskSortField::DueAt),
    ("priority", TaskSortField::Priority),
    ("title", TaskSortField::Title),
    ("position", TaskSortField::Position),
];

/// The API names of [`SORTS`], for error messages and the OpenAPI document.
const SORT_FIELDS: [&str; SORTS.len()] = {
    let mut names = [""; SORTS.len()];
    let mut i = 0;
    while i < SORTS.len() {
        names[i] = SORTS[i].0;
        i += 1;
    }
    names
};

/// Parses `sort`: `created_at`, `-due_at`, … (a leading `-` means descending).
fn parse_sort(raw: &str) -> Result<TaskSort, String> {
    let (descending, name) = match raw.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, raw),
    };
    SORTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, field)| TaskSort { field, descending })
        .ok_or_else(|| pagination::bad_sort(&SORT_FIELDS))
}

/// Parses `parent_id`: `none` (top-level tasks), or a task's id.
fn parse_parent(raw: &str) -> Result<Option<TaskId>, &'static str> {
    match raw {
        "none" => Ok(None),
        id => id
            .parse::<TaskId>()
            .map(Some)
            .map_err(|_| "must be none or a task id"),
    }
}

/// Why `sort=position` is refused without one list and one parent.
const POSITION_NEEDS_SIBLINGS: &str = "position orders the subtasks of one parent: it needs list_id and parent_id (a task id, or none for the top level)";

/// Parses `assignee` but `me`: `none`, or a member's id.
fn parse_assignee(raw: &str) -> Result<Option<UserId>, &'static str> {
    match raw {
        "none" => Ok(None),
        id => id
            .parse::<UserId>()
            .map(Some)
            .map_err(|_| "must be me, none or a user id"),
    }
}

/// The API form of a sort order (`-due_at`).
fn sort_param(sort: TaskSort) -> String {
    let name = SORTS
        .iter()
        .find(|(_, f)| *f == sort.field)
        .map_or("", |(n, _)| n);
    format!("{}{name}", if sort.descending { "-" } else { "" })
}

/// Lists the tasks of the caller's lists (archived lists left out unless `list_id` names
/// one): filtered, sorted, a page at a time (follow `Link: rel="next"`); `X-Changes-Cursor`
/// is where to follow their changes from.
#[api_v2_operation(operation_id = "list_tasks", tags(Tasks))]
pub async fn list(
    state: Data<AppState>,
    caller: ScopedUser<TasksRead>,
    params: TaskListParams,
) -> Result<JsonOk<Vec<TaskResponse>>, ApiError> {
    let _turn = params.search_turn(&state, &caller.0).await?;
    // The present just before the read: every change the page does not show commits after
    // it, so following the changes from it misses nothing (one the page already shows may
    // come again, with the task as it is then).
    let present = state.changes.present().await?;
    let query = params.for_caller(caller.0.user_id);
    let page = state.tasks.list(&caller.0, query).await?;
    Ok(params.reply(page).header((
        crate::routes::changes::X_CHANGES_CURSOR,
        crate::routes::changes::encode_cursor(&present),
    )))
}

/// A validated `GET /tasks` query, and what the next page's link needs.
#[derive(Debug)]
pub struct TaskListParams {
    /// The query for the domain (but `assignee=me`).
    query: TaskListQuery,
    /// Whether `assignee=me` was asked for.
    assigned_to_me: bool,
    /// Where the next page is.
    link: NextLink,
}

impl TaskListParams {
    /// Waits for a turn of the caller's substring searches when this query is one
    /// (`quota.concurrent_searches_per_user`); held until the page is read.
    ///
    /// # Errors
    /// 429 when the caller's other searches kept every turn for too long.
    pub async fn search_turn<'a>(
        &self,
        state: &'a AppState,
        caller: &Principal,
    ) -> Result<Option<SearchTurn<'a>>, ApiError> {
        match self.query.filter.q {
            Some(_) => state.search_gate.enter(caller.user_id).await,
            None => Ok(None),
        }
    }

    /// Parses the query; `assignee=me` is left for [`TaskListParams::for_caller`].
    fn parse(query: &str) -> Result<(TaskListQuery, bool), ApiError> {
        let mut params = QueryParams::parse(query)?;
        let mut filter = TaskFilter::default();
        let mut sort = TaskSort::default();
        let mut size = PageSize::default();
        let mut errors = taskapi_domain::ValidationErrors::new();

        if let Some(raw) = params.take("list_id") {
            filter.list_id = errors.check(
                "list_id",
                raw.parse::<ListId>().map_err(|_| super::create::NOT_A_UUID),
            );
        }
        if let Some(raw) = params.take("parent_id") {
            filter.parent = errors.check("parent_id", parse_parent(&raw));
        }
        let mut assigned_to_me = false;
        if let Some(raw) = params.take("assignee") {
            if raw == "me" {
                assigned_to_me = true;
            } else {
                filter.assignee = errors.check("assignee", parse_assignee(&raw));
            }
        }
        if let Some(raw) = params.take("is_done") {
            filter.is_done = errors.check("is_done", parse_bool(&raw));
        }
        if let Some(raw) = params.take("priority") {
            filter.priority = errors.check("priority", Priority::parse(&raw));
        }
        if let Some(raw) = params.take("tag") {
            filter.tag = errors.check("tag", Tag::parse(&raw));
        }
        if let Some(raw) = params.take("q") {
            filter.q = errors.check("q", SearchText::parse(&raw));
        }
        // Stored instants have whole microseconds, so an exclusive bound with finer digits
        // is rounded outwards: `due_at < 10:00:00.0000001` is `due_at < 10:00:00.000001`,
        // and `due_at > 10:00:00.0000001` is `due_at > 10:00:00`.
        if let Some(raw) = params.take("due_before") {
            filter.due_before = errors.check(
                "due_before",
                parse_instant_exact(&raw)
                    .map(|at| truncate_to_micros(at, true))
                    .and_then(within_storable_years),
            );
        }
        if let Some(raw) = params.take("due_after") {
            filter.due_after = errors
                .check("due_after", parse_instant_exact(&raw))
                .map(|at| truncate_to_micros(at, false));
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
            // A cursor cannot be judged against a sort that is itself invalid; `sort`
            // already says what is wrong.
            Some(_) if !sort_ok => None,
            Some(raw) => errors.check("cursor", decode_cursor(&raw, sort)),
            None => None,
        };
        let query = TaskListQuery {
            filter,
            sort,
            size,
            after,
        };
        if sort_ok && !query.sorts_siblings() {
            errors.push("sort", POSITION_NEEDS_SIBLINGS);
        }
        // Parameter errors first, in the order of the parameters above, then unknown ones.
        match params.finish() {
            Ok(()) => {}
            Err(ApiError::Validation(unknown)) => errors.extend(unknown),
            Err(other) => return Err(other),
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok((query, assigned_to_me))
    }

    /// The query for the domain, `assignee=me` meaning `caller`.
    pub(crate) fn for_caller(&self, caller: UserId) -> TaskListQuery {
        let mut query = self.query.clone();
        if self.assigned_to_me {
            query.filter.assignee = Some(Some(caller));
        }
        query
    }

    /// The answer of a task list: the page's tasks, and `Link: rel="next"` when there are more.
    pub(crate) fn reply(&self, page: TaskPage) -> JsonOk<Vec<TaskResponse>> {
        let items = page.items.into_iter().map(TaskResponse::from).collect();
        self.link
            .reply(items, page.next.as_ref().map(encode_cursor))
    }
}

/// Encodes a task cursor: its sort, the kind and value of its key, and its id.
fn encode_cursor(cursor: &TaskCursor) -> String {
    let (kind, value) = match &cursor.key {
        SortKey::Instant(at) => ("t", pagination::encode_instant(at)),
        SortKey::NoDueDate => ("n", String::new()),
        SortKey::Priority(rank) => ("p", rank.to_string()),
        SortKey::Title(title) => ("s", title.clone()),
        SortKey::Position(position) => ("o", position.clone()),
    };
    pagination::encode_cursor(&[
        &sort_param(cursor.sort),
        kind,
        &value,
        &cursor.id.to_string(),
    ])
}

/// Decodes a cursor and checks that it belongs to `sort`.
fn decode_cursor(raw: &str, sort: TaskSort) -> Result<TaskCursor, String> {
    let parts = pagination::decode_cursor(raw)?;
    let [sort_raw, kind, value, id] = parts.as_slice() else {
        return Err(NOT_OURS.into());
    };
    let cursor_sort = parse_sort(sort_raw).map_err(|_| NOT_OURS.to_owned())?;
    if cursor_sort != sort {
        return Err(foreign_sort(&sort_param(cursor_sort), &sort_param(sort)));
    }
    let key = match kind.as_str() {
        "t" => SortKey::Instant(pagination::decode_instant(value)?),
        "n" => SortKey::NoDueDate,
        "p" => SortKey::Priority(value.parse().map_err(|_| NOT_OURS.to_owned())?),
        "s" => SortKey::Title(value.clone()),
        "o" => SortKey::Position(value.clone()),
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
        let parsed = Self::parse(req.query_string()).map(|(query, assigned_to_me)| Self {
            query,
            assigned_to_me,
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

impl Apiv2Schema for TaskListParams {}

impl OperationModifier for TaskListParams {
    fn update_parameter(op: &mut DefaultOperationRaw) {
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
        let mut tag = query_parameter(
            "tag",
            "Only tasks with this tag (case-insensitive).",
            DataType::String,
            None,
        );
        tag.min_length = Some(1);
        tag.max_length = u32::try_from(Tag::MAX_CHARS).ok();
        tag.pattern = Some(NOT_BLANK.into());
        let mut q = query_parameter(
            "q",
            "Case-insensitive text to find in the title or description.",
            DataType::String,
            None,
        );
        q.min_length = Some(1);
        q.max_length = u32::try_from(SearchText::MAX_CHARS).ok();
        q.pattern = Some(NO_CONTROL.into());
        let sort = sort_parameter(
            "Order: created_at (default), updated_at, due_at, priority, title or position (the \
             order of siblings; needs list_id and parent_id); prefix - for descending. Ties are \
             broken by id; tasks without due_at come last either way.",
            &SORT_FIELDS,
        );
        let assignee = query_parameter(
            "assignee",
            "Only tasks assigned to me (the caller), to none, or to this user id.",
            DataType::String,
            None,
        );
        let mut list_id = query_parameter(
            "list_id",
            "Only the tasks of this list (archived or not); without it, the tasks of every \
             unarchived list of the caller's.",
            DataType::String,
            Some(DataTypeFormat::Uuid),
        );
        list_id.max_length = Some(45);
        let mut parent_id = query_parameter(
            "parent_id",
            "Only the subtasks of this task, or (none) only top-level tasks.",
            DataType::String,
            None,
        );
        parent_id.max_length = Some(45);
        for parameter in [
            list_id,
            parent_id,
            assignee,
            query_parameter(
                "is_done",
                "Only done (true) or open (false) tasks.",
                DataType::Boolean,
                None,
            ),
            priority,
            tag,
            q,
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

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(e) => e.errors().iter().map(|f| f.field.clone()).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn instants_past_the_year_9999_are_refused_even_when_rounding_makes_them() {
        // Storage keeps years 1–9999 only; rounding an exclusive bound up must not slip past.
        let err = TaskListParams::parse("due_before=9999-12-31T23:59:59.9999999Z")
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(fields(err), vec!["due_before"]);
        assert!(TaskListParams::parse("due_before=9999-12-31T23:59:59.999999Z").is_ok());
    }

    #[test]
    fn a_forged_cursor_with_an_unstorable_instant_is_not_ours() {
        let sort = TaskSort::default();
        let forged = pagination::encode_cursor(&[
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
            "position",
            "-position",
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

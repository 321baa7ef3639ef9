//! Tasks: the task model, its value objects, and the `TaskService` use cases.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::accounts::Principal;
use crate::error::{StoreError, TaskError};
use crate::idempotency::{
    self, HeldKey, IdempotencyKey, IdempotentOutcome, Reservation, StoredResponse,
};
use crate::ids::{TaskId, UserId};
use crate::listing::{Page, TaskCursor, TaskListQuery};
use crate::ports::{
    Clock, DecideUpdate, DeleteOutcome, IdGenerator, IdempotencyStore, TaskRepository,
    UpdateDecision, UpdateOutcome,
};
use crate::validation::ValidationErrors;

/// A task title: trimmed, 1–200 Unicode code points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    /// Longest title, in code points.
    pub const MAX_CHARS: usize = 200;

    /// Trims and checks the length.
    ///
    /// # Errors
    /// A message naming the violated bound.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let title = raw.trim();
        if title.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        match title.chars().count() {
            0 => Err("must not be empty".into()),
            n if n > Self::MAX_CHARS => {
                Err(format!("must be at most {} characters", Self::MAX_CHARS))
            }
            _ => Ok(Self(title.to_owned())),
        }
    }

    /// The title.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What titles sort and are searched by: the Unicode lower case, computed here once so
    /// that every backend orders and matches titles identically.
    pub fn sort_key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A task description: at most 10 000 code points, kept exactly as written (not trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    /// Longest description, in code points.
    pub const MAX_CHARS: usize = 10_000;

    /// Checks the length.
    ///
    /// # Errors
    /// A message naming the bound.
    pub fn parse(raw: String) -> Result<Self, String> {
        // Line breaks and tabs belong in a description; other control characters (NUL
        // above all, which PostgreSQL cannot even store) do not.
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(
                "must not contain control characters other than tabs and line breaks".into(),
            );
        }
        if raw.chars().count() > Self::MAX_CHARS {
            Err(format!("must be at most {} characters", Self::MAX_CHARS))
        } else {
            Ok(Self(raw))
        }
    }

    /// The empty description (the default, and what `null` clears to).
    pub fn empty() -> Self {
        Self(String::new())
    }

    /// The description.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How urgent a task is. Orders `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Urgent.
    High,
}

impl Priority {
    /// The priority's name (`low`, `medium`, `high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        }
    }

    /// Parses a priority name (exact, lower-case).
    ///
    /// # Errors
    /// A message listing the valid names.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "low" => Ok(Priority::Low),
            "medium" => Ok(Priority::Medium),
            "high" => Ok(Priority::High),
            _ => Err("must be one of: low, medium, high".into()),
        }
    }

    /// Its rank, `0` for low to `2` for high: what storage sorts by.
    pub fn rank(self) -> i16 {
        match self {
            Priority::Low => 0,
            Priority::Medium => 1,
            Priority::High => 2,
        }
    }

    /// The priority of a rank.
    ///
    /// # Errors
    /// A message for a rank that is none of the three (corrupt data, never a default).
    pub fn from_rank(rank: i16) -> Result<Self, String> {
        match rank {
            0 => Ok(Priority::Low),
            1 => Ok(Priority::Medium),
            2 => Ok(Priority::High),
            other => Err(format!("{other} is not a priority rank (0, 1 or 2)")),
        }
    }
}

/// One tag: trimmed, lower-cased, 1–40 code points.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// Longest tag, in code points.
    pub const MAX_CHARS: usize = 40;

    /// Trims, lower-cases and checks the length.
    ///
    /// # Errors
    /// A message naming the bound.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let tag = raw.trim().to_lowercase();
        if tag.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        match tag.chars().count() {
            0 => Err("must not be empty".into()),
            n if n > Self::MAX_CHARS => {
                Err(format!("must be at most {} characters", Self::MAX_CHARS))
            }
            _ => Ok(Self(tag)),
        }
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task's tags: duplicates folded (first occurrence kept, in order), at most 20.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(Vec<Tag>);

impl Tags {
    /// Most tags per task, counted after folding duplicates.
    pub const MAX: usize = 20;

    /// Parses every tag, folds duplicates, and checks the count. Invalid tags are reported as
    /// `tags[i]`, the count as `tags`.
    ///
    /// # Errors
    /// Every invalid tag, and the count if it is exceeded.
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut tags: Vec<Tag> = Vec::with_capacity(raw.len().min(Self::MAX));
        for (i, r) in raw.iter().enumerate() {
            if let Some(tag) = errors.check(&format!("tags[{i}]"), Tag::parse(r.as_ref()))
                && !tags.contains(&tag)
            {
                tags.push(tag);
            }
        }
        if tags.len() > Self::MAX {
            errors.push(
                "tags",
                format!("must hold at most {} distinct tags", Self::MAX),
            );
        }
        errors.into_result(|| Self(tags))
    }

    /// Rebuilds tags read back from storage, where they were stored already valid.
    pub fn from_trusted(tags: Vec<String>) -> Self {
        Self(tags.into_iter().map(Tag).collect())
    }

    /// The tags, in order.
    pub fn as_slice(&self) -> &[Tag] {
        &self.0
    }

    /// The tags as strings.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(Tag::as_str)
    }
}

/// A task, as stored and shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Its id.
    pub id: TaskId,
    /// Who owns it: only they can see or change it.
    pub owner_id: UserId,
    /// Its title.
    pub title: TaskTitle,
    /// Its description (possibly empty).
    pub description: Description,
    /// Whether it is done.
    pub is_done: bool,
    /// When it was (last) marked done; `None` while not done.
    pub completed_at: Option<DateTime<Utc>>,
    /// Its priority.
    pub priority: Priority,
    /// When it is due, if ever.
    pub due_at: Option<DateTime<Utc>>,
    /// Its tags.
    pub tags: Tags,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Starts at 1, grows by one on every change.
    pub version: i64,
}

/// A validated new task, as a client describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDraft {
    /// Required title.
    pub title: TaskTitle,
    /// Description; empty by default.
    pub description: Description,
    /// Done already? False by default.
    pub is_done: bool,
    /// Priority; medium by default.
    pub priority: Priority,
    /// Due date, if any.
    pub due_at: Option<DateTime<Utc>>,
    /// Tags; none by default.
    pub tags: Tags,
}

impl TaskDraft {
    /// A draft with only a title and every default.
    pub fn titled(title: TaskTitle) -> Self {
        Self {
            title,
            description: Description::empty(),
            is_done: false,
            priority: Priority::Medium,
            due_at: None,
            tags: Tags::default(),
        }
    }
}

/// A validated partial update: `None` leaves a field unchanged. For `due_at`,
/// `Some(None)` clears it; a cleared description is [`Description::empty`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskPatch {
    /// New title.
    pub title: Option<TaskTitle>,
    /// New description.
    pub description: Option<Description>,
    /// New done state.
    pub is_done: Option<bool>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New due date, or `Some(None)` to clear it.
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// New tags (replacing the old ones).
    pub tags: Option<Tags>,
}

/// The complete writable state of a task after an update, handed to storage.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskChanges {
    /// Title.
    pub title: TaskTitle,
    /// Description.
    pub description: Description,
    /// Done state.
    pub is_done: bool,
    /// Completion time, consistent with `is_done`.
    pub completed_at: Option<DateTime<Utc>>,
    /// Priority.
    pub priority: Priority,
    /// Due date.
    pub due_at: Option<DateTime<Utc>>,
    /// Tags.
    pub tags: Tags,
}

impl Task {
    /// Applies a patch at time `now`. Returns `None` when the patch changes nothing, so that
    /// neither `version` nor `updated_at` moves. Marking a task done sets `completed_at`
    /// (kept if it was already done); marking it not done clears it.
    pub fn apply(&self, patch: &TaskPatch, now: DateTime<Utc>) -> Option<TaskChanges> {
        let is_done = patch.is_done.unwrap_or(self.is_done);
        let completed_at = match (self.is_done, is_done) {
            (true, true) => self.completed_at,
            (false, true) => Some(now),
            (_, false) => None,
        };
        let changes = TaskChanges {
            title: patch.title.clone().unwrap_or_else(|| self.title.clone()),
            description: patch
                .description
                .clone()
                .unwrap_or_else(|| self.description.clone()),
            is_done,
            completed_at,
            priority: patch.priority.unwrap_or(self.priority),
            due_at: patch.due_at.unwrap_or(self.due_at),
            tags: patch.tags.clone().unwrap_or_else(|| self.tags.clone()),
        };
        let unchanged = changes.title == self.title
            && changes.description == self.description
            && changes.is_done == self.is_done
            && changes.completed_at == self.completed_at
            && changes.priority == self.priority
            && changes.due_at == self.due_at
            && changes.tags == self.tags;
        (!unchanged).then_some(changes)
    }
}

/// The task use cases. Every method is scoped to the caller: another user's task behaves
/// exactly like a missing one.
#[derive(Clone)]
pub struct TaskService {
    tasks: Arc<dyn TaskRepository>,
    idempotency: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl fmt::Debug for TaskService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskService").finish_non_exhaustive()
    }
}

/// One page of `owner`'s tasks: asks storage for one more than the page holds, which tells
/// whether another page exists without counting, and points the next cursor after the last
/// item shown. The one implementation behind every task listing (the owner's and the
/// administrators').
///
/// # Errors
/// What storage reports.
pub(crate) async fn page_of(
    tasks: &dyn TaskRepository,
    owner: UserId,
    query: TaskListQuery,
) -> Result<Page<Task>, StoreError> {
    let size = usize::from(query.size.get());
    let sort = query.sort;
    let limit = u32::from(query.size.get()) + 1;
    let mut items = tasks.list_for_owner(owner, query, limit).await?;
    let next = if items.len() > size {
        items.truncate(size);
        items.last().map(|last| TaskCursor::after(last, sort))
    } else {
        None
    };
    Ok(Page { items, next })
}

/// A client's precondition on a task's version (`If-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// Any existing version (`If-Match: *`).
    Any,
    /// One of these versions.
    Versions(Vec<i64>),
}

impl IfMatch {
    /// Whether `version` satisfies the condition.
    pub fn admits(&self, version: i64) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Versions(versions) => versions.contains(&version),
        }
    }
}

impl TaskService {
    /// Builds the service from its ports.
    pub fn new(
        tasks: Arc<dyn TaskRepository>,
        idempotency: Arc<dyn IdempotencyStore>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            tasks,
            idempotency,
            clock,
            ids,
        }
    }

    /// Creates a task owned by the caller, at version 1.
    ///
    /// # Errors
    /// `Store` when storage fails.
    pub async fn create(&self, caller: &Principal, draft: TaskDraft) -> Result<Task, TaskError> {
        let task = self.new_task(caller, draft);
        self.tasks.insert(task.clone()).await?;
        Ok(task)
    }

    /// The task a draft makes for the caller, now, at version 1 (not stored yet).
    fn new_task(&self, caller: &Principal, draft: TaskDraft) -> Task {
        let now = self.clock.now();
        Task {
            id: TaskId::from_uuid(self.ids.new_id()),
            owner_id: caller.user_id,
            title: draft.title,
            description: draft.description,
            is_done: draft.is_done,
            completed_at: draft.is_done.then_some(now),
            priority: draft.priority,
            due_at: draft.due_at,
            tags: draft.tags,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Creates a task at most once per idempotency key: the first request with `key`
    /// creates it and its response (made by `render`) is kept for 24 hours; a later request
    /// with the same key and the same `fingerprint` gets that response again and creates
    /// nothing. Concurrent duplicates are arbitrated by the store's unique constraint.
    ///
    /// The task and its response are stored in one transaction, and only while the
    /// reservation is still this request's: a request so slow that a retry took its
    /// reservation over as abandoned stores nothing, so a key never yields two tasks.
    ///
    /// # Errors
    /// `IdempotencyKeyReused` for the same key with another fingerprint;
    /// `IdempotencyKeyInProgress` while the first request is still running (or when this
    /// request's reservation was taken over); `Store`.
    pub async fn create_idempotent(
        &self,
        caller: &Principal,
        draft: TaskDraft,
        key: IdempotencyKey,
        fingerprint: String,
        render: impl FnOnce(&Task) -> StoredResponse,
    ) -> Result<IdempotentOutcome, TaskError> {
        let now = self.clock.now();
        let (expired_before, abandoned_before) = idempotency::cutoffs(now);
        let owner = caller.user_id;
        let reservation = self
            .idempotency
            .reserve(
                owner,
                key.clone(),
                fingerprint.clone(),
                now,
                expired_before,
                abandoned_before,
            )
            .await?;
        match reservation {
            Reservation::Taken {
                fingerprint: first, ..
            } if first != fingerprint => Err(TaskError::IdempotencyKeyReused),
            Reservation::Taken {
                response: Some(response),
                ..
            } => Ok(IdempotentOutcome {
                response,
                replayed: true,
            }),
            Reservation::Taken { response: None, .. } => Err(TaskError::IdempotencyKeyInProgress),
            Reservation::Reserved => {
                let held = HeldKey {
                    owner,
                    key,
                    reserved_at: now,
                };
                let task = self.new_task(caller, draft);
                let response = render(&task);
                match self
                    .tasks
                    .insert_for_key(task, held.clone(), response.clone())
                    .await
                {
                    Ok(true) => Ok(IdempotentOutcome {
                        response,
                        replayed: false,
                    }),
                    // A retry took the reservation over: it decides what the key yields.
                    Ok(false) => Err(TaskError::IdempotencyKeyInProgress),
                    Err(e) => {
                        // Let a retry proceed; if even this fails, the reservation is taken
                        // over once it counts as abandoned.
                        if let Err(release) = self.idempotency.release(held).await {
                            return Err(release.into());
                        }
                        Err(e.into())
                    }
                }
            }
        }
    }

    /// Forgets idempotency keys older than their lifetime; run periodically.
    ///
    /// # Errors
    /// `Store` when storage fails.
    pub async fn purge_expired_idempotency_keys(&self) -> Result<u64, TaskError> {
        let (expired_before, _) = idempotency::cutoffs(self.clock.now());
        Ok(self.idempotency.purge_expired(expired_before).await?)
    }

    /// One of the caller's tasks.
    ///
    /// # Errors
    /// `NotFound` when the caller has no task with this id.
    pub async fn get(&self, caller: &Principal, id: TaskId) -> Result<Task, TaskError> {
        self.tasks
            .find_for_owner(caller.user_id, id)
            .await?
            .ok_or(TaskError::NotFound)
    }

    /// One page of the caller's tasks.
    ///
    /// # Errors
    /// `Store` when storage fails.
    pub async fn list(
        &self,
        caller: &Principal,
        query: TaskListQuery,
    ) -> Result<Page<Task>, TaskError> {
        self.list_of(caller.user_id, query).await
    }

    /// One page of `owner`'s tasks; whoever calls it has decided the caller may see them.
    ///
    /// # Errors
    /// `Store` when storage fails.
    async fn list_of(&self, owner: UserId, query: TaskListQuery) -> Result<Page<Task>, TaskError> {
        Ok(page_of(&*self.tasks, owner, query).await?)
    }

    /// Applies a partial update (PATCH and the original service's PUT).
    ///
    /// The patch is applied to the task's current state while storage holds it locked, so
    /// concurrent updates queue instead of failing, and none is lost. A patch that changes
    /// nothing returns the task as it is, leaving `version` and `updated_at` alone.
    ///
    /// With `if_match`, the task must be at an admitted version when the lock is taken: of
    /// concurrent writers carrying the same version, exactly one succeeds.
    ///
    /// # Errors
    /// `NotFound`; `PreconditionFailed`.
    pub async fn update(
        &self,
        caller: &Principal,
        id: TaskId,
        patch: TaskPatch,
        if_match: Option<IfMatch>,
    ) -> Result<Task, TaskError> {
        let now = self.clock.now();
        let decide: DecideUpdate = Box::new(move |current: &Task| {
            if if_match.is_some_and(|condition| !condition.admits(current.version)) {
                return UpdateDecision::Refuse;
            }
            match current.apply(&patch, now) {
                // updated_at never goes backwards, even if instances' clocks disagree.
                Some(changes) => UpdateDecision::Write(changes, now.max(current.updated_at)),
                None => UpdateDecision::Keep,
            }
        });
        match self.tasks.update_with(caller.user_id, id, decide).await? {
            UpdateOutcome::Updated(task) | UpdateOutcome::Unchanged(task) => Ok(task),
            UpdateOutcome::Refused => Err(TaskError::PreconditionFailed),
            UpdateOutcome::NotFound => Err(TaskError::NotFound),
        }
    }

    /// Deletes one of the caller's tasks; with `if_match`, only at an admitted version.
    ///
    /// # Errors
    /// `NotFound` when the caller has no task with this id; `PreconditionFailed`.
    pub async fn delete(
        &self,
        caller: &Principal,
        id: TaskId,
        if_match: Option<IfMatch>,
    ) -> Result<(), TaskError> {
        let expected = match &if_match {
            None | Some(IfMatch::Any) => None,
            Some(condition) => {
                let current = self.get(caller, id).await?;
                if !condition.admits(current.version) {
                    return Err(TaskError::PreconditionFailed);
                }
                Some(current.version)
            }
        };
        match self
            .tasks
            .delete_for_owner(caller.user_id, id, expected)
            .await?
        {
            DeleteOutcome::Deleted => Ok(()),
            DeleteOutcome::NotFound => Err(TaskError::NotFound),
            DeleteOutcome::VersionMismatch => Err(TaskError::PreconditionFailed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;
    use crate::listing::{PageSize, SortKey, TaskSort, TaskSortField};
    use crate::ports::{MockClock, MockIdGenerator, MockIdempotencyStore, MockTaskRepository};
    use uuid::Uuid;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    fn caller() -> Principal {
        Principal {
            user_id: UserId::from_uuid(Uuid::from_u128(1)),
            role: Role::User,
        }
    }

    fn title(s: &str) -> TaskTitle {
        TaskTitle::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn task(version: i64) -> Task {
        Task {
            id: TaskId::from_uuid(Uuid::from_u128(99)),
            owner_id: caller().user_id,
            title: title("Buy milk"),
            description: Description::empty(),
            is_done: false,
            completed_at: None,
            priority: Priority::Medium,
            due_at: None,
            tags: Tags::default(),
            created_at: at(100),
            updated_at: at(100),
            version,
        }
    }

    fn service(repo: MockTaskRepository, now: i64) -> TaskService {
        service_with(repo, MockIdempotencyStore::new(), now)
    }

    fn service_with(repo: MockTaskRepository, keys: MockIdempotencyStore, now: i64) -> TaskService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(move || at(now));
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id().returning(|| Uuid::from_u128(99));
        TaskService::new(
            Arc::new(repo),
            Arc::new(keys),
            Arc::new(clock),
            Arc::new(ids),
        )
    }

    fn updated(current: &Task, changes: &TaskChanges, now: DateTime<Utc>) -> Task {
        Task {
            title: changes.title.clone(),
            description: changes.description.clone(),
            is_done: changes.is_done,
            completed_at: changes.completed_at,
            priority: changes.priority,
            due_at: changes.due_at,
            tags: changes.tags.clone(),
            updated_at: now,
            version: current.version + 1,
            ..current.clone()
        }
    }

    #[test]
    fn title_is_trimmed_and_bounded_in_code_points() {
        assert_eq!(title("  Buy milk \n").as_str(), "Buy milk");
        assert!(TaskTitle::parse("   ").is_err());
        assert!(TaskTitle::parse(&"é".repeat(200)).is_ok());
        assert!(TaskTitle::parse(&"é".repeat(201)).is_err());
    }

    #[test]
    fn control_characters_are_refused_where_they_do_not_belong() {
        assert!(TaskTitle::parse("a\u{0}b").is_err());
        assert!(TaskTitle::parse("two\nlines").is_err());
        assert!(Tag::parse("ta\u{7}g").is_err());
        assert!(Description::parse("nul\u{0}".into()).is_err());
        assert!(Description::parse("line one\r\n\tline two".into()).is_ok());
        // Unicode format characters are not control characters: right-to-left text works.
        assert!(TaskTitle::parse("\u{202e}abc").is_ok());
    }

    #[test]
    fn description_is_kept_verbatim_and_bounded() {
        assert_eq!(
            Description::parse("  spaced  ".into()).map(|d| d.0),
            Ok("  spaced  ".to_owned())
        );
        assert!(Description::parse("ü".repeat(10_000)).is_ok());
        assert!(Description::parse("ü".repeat(10_001)).is_err());
    }

    #[test]
    fn priority_names_and_order() {
        assert_eq!(Priority::parse("high"), Ok(Priority::High));
        assert!(Priority::parse("HIGH").is_err());
        assert!(Priority::parse("urgent").is_err());
        assert!(Priority::Low < Priority::Medium && Priority::Medium < Priority::High);
        for p in [Priority::Low, Priority::Medium, Priority::High] {
            assert_eq!(Priority::from_rank(p.rank()), Ok(p));
        }
        for corrupt in [-1, 3, i16::MAX] {
            assert!(Priority::from_rank(corrupt).is_err(), "{corrupt}");
        }
    }

    #[test]
    fn tags_are_trimmed_lower_cased_and_folded_before_counting() {
        let tags =
            Tags::parse(&[" Home", "home", "WORK ", "Straße"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            tags.iter().collect::<Vec<_>>(),
            vec!["home", "work", "straße"]
        );
        // 25 entries folding to 20 distinct tags are fine
        let mut raw: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        raw.extend((0..5).map(|i| format!("T{i}")));
        assert!(Tags::parse(&raw).is_ok());
        let too_many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        let err = Tags::parse(&too_many).err().unwrap_or_default();
        assert_eq!(err.errors()[0].field, "tags");
    }

    #[test]
    fn every_invalid_tag_is_named_by_position() {
        let long = "x".repeat(41);
        let err = Tags::parse(&["ok", " ", long.as_str()])
            .err()
            .unwrap_or_default();
        let fields: Vec<_> = err.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["tags[1]", "tags[2]"]);
    }

    #[test]
    fn patch_that_changes_nothing_is_detected() {
        let t = task(3);
        assert_eq!(t.apply(&TaskPatch::default(), at(200)), None);
        let same = TaskPatch {
            title: Some(title("Buy milk")),
            is_done: Some(false),
            ..Default::default()
        };
        assert_eq!(t.apply(&same, at(200)), None);
    }

    #[test]
    fn marking_done_sets_completed_at_and_keeps_it_when_already_done() {
        let t = task(1);
        let done = TaskPatch {
            is_done: Some(true),
            ..Default::default()
        };
        let changes = t
            .apply(&done, at(200))
            .unwrap_or_else(|| panic!("should change"));
        assert_eq!(changes.completed_at, Some(at(200)));
        let already = Task {
            is_done: true,
            completed_at: Some(at(150)),
            ..task(2)
        };
        assert_eq!(
            already.apply(&done, at(300)),
            None,
            "completed_at must be kept"
        );
        let undo = TaskPatch {
            is_done: Some(false),
            ..Default::default()
        };
        let changes = already
            .apply(&undo, at(300))
            .unwrap_or_else(|| panic!("should change"));
        assert_eq!(changes.completed_at, None);
    }

    #[test]
    fn clearing_due_at_and_description() {
        let t = Task {
            due_at: Some(at(500)),
            description: Description::parse("x".into()).unwrap_or_default(),
            ..task(1)
        };
        let clear = TaskPatch {
            due_at: Some(None),
            description: Some(Description::empty()),
            ..Default::default()
        };
        let changes = t
            .apply(&clear, at(200))
            .unwrap_or_else(|| panic!("should change"));
        assert_eq!(changes.due_at, None);
        assert_eq!(changes.description, Description::empty());
    }

    #[tokio::test]
    async fn create_sets_owner_version_and_timestamps() {
        let mut repo = MockTaskRepository::new();
        repo.expect_insert().times(1).returning(|t| {
            assert_eq!(t.version, 1);
            assert_eq!(t.owner_id, caller().user_id);
            Ok(())
        });
        let draft = TaskDraft {
            is_done: true,
            ..TaskDraft::titled(title("Ship it"))
        };
        let t = service(repo, 100)
            .create(&caller(), draft)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (t.created_at, t.updated_at, t.completed_at),
            (at(100), at(100), Some(at(100)))
        );
        assert_eq!(t.title.as_str(), "Ship it");
    }

    #[tokio::test]
    async fn get_of_a_task_the_caller_does_not_own_is_not_found() {
        let mut repo = MockTaskRepository::new();
        repo.expect_find_for_owner()
            .withf(|owner, _| *owner == caller().user_id)
            .returning(|_, _| Ok(None));
        let result = service(repo, 100)
            .get(&caller(), TaskId::from_uuid(Uuid::from_u128(5)))
            .await;
        assert!(matches!(result, Err(TaskError::NotFound)));
    }

    /// A repository whose `update_with` runs the domain's decision on `current`, as an
    /// adapter does under its lock, and reports what the decision asked for.
    fn repo_deciding_on(current: Task) -> MockTaskRepository {
        let mut repo = MockTaskRepository::new();
        repo.expect_update_with().returning(move |_, _, decide| {
            Ok(match decide(&current) {
                UpdateDecision::Write(changes, now) => {
                    UpdateOutcome::Updated(updated(&current, &changes, now))
                }
                UpdateDecision::Keep => UpdateOutcome::Unchanged(current.clone()),
                UpdateDecision::Refuse => UpdateOutcome::Refused,
            })
        });
        repo
    }

    #[tokio::test]
    async fn update_applies_the_patch_to_the_locked_state_and_returns_the_new_version() {
        let patch = TaskPatch {
            title: Some(title("Buy oat milk")),
            ..Default::default()
        };
        let t = service(repo_deciding_on(task(4)), 200)
            .update(&caller(), task(4).id, patch, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (t.version, t.updated_at, t.title.as_str()),
            (5, at(200), "Buy oat milk")
        );
    }

    #[tokio::test]
    async fn update_that_changes_nothing_keeps_version_and_updated_at() {
        let t = service(repo_deciding_on(task(4)), 200)
            .update(&caller(), task(4).id, TaskPatch::default(), None)
            .await;
        assert!(matches!(t, Ok(t) if t.version == 4 && t.updated_at == at(100)));
    }

    #[tokio::test]
    async fn updated_at_never_goes_backwards() {
        let current = Task {
            updated_at: at(1_000),
            ..task(1)
        };
        let patch = TaskPatch {
            is_done: Some(true),
            ..Default::default()
        };
        let t = service(repo_deciding_on(current), 200)
            .update(&caller(), task(1).id, patch, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.updated_at, at(1_000));
    }

    #[tokio::test]
    async fn a_stale_if_match_is_refused_under_the_lock_and_nothing_is_written() {
        let patch = TaskPatch {
            is_done: Some(true),
            ..Default::default()
        };
        let result = service(repo_deciding_on(task(3)), 200)
            .update(
                &caller(),
                task(3).id,
                patch,
                Some(IfMatch::Versions(vec![2])),
            )
            .await;
        assert!(matches!(result, Err(TaskError::PreconditionFailed)));
        // A matching or wildcard condition lets the same update through.
        for condition in [IfMatch::Versions(vec![2, 3]), IfMatch::Any] {
            let patch = TaskPatch {
                is_done: Some(true),
                ..Default::default()
            };
            let t = service(repo_deciding_on(task(3)), 200)
                .update(&caller(), task(3).id, patch, Some(condition))
                .await;
            assert!(matches!(t, Ok(t) if t.version == 4));
        }
    }

    #[tokio::test]
    async fn a_stale_if_match_on_delete_fails_without_deleting() {
        let mut repo = MockTaskRepository::new();
        repo.expect_find_for_owner()
            .returning(|_, _| Ok(Some(task(3))));
        repo.expect_delete_for_owner().never();
        let result = service(repo, 200)
            .delete(&caller(), task(3).id, Some(IfMatch::Versions(vec![2])))
            .await;
        assert!(matches!(result, Err(TaskError::PreconditionFailed)));
    }

    #[tokio::test]
    async fn update_of_a_task_the_caller_does_not_have_is_not_found() {
        let mut repo = MockTaskRepository::new();
        repo.expect_update_with()
            .withf(|owner, _, _| *owner == caller().user_id)
            .returning(|_, _, _| Ok(UpdateOutcome::NotFound));
        let result = service(repo, 200)
            .update(&caller(), task(1).id, TaskPatch::default(), None)
            .await;
        assert!(matches!(result, Err(TaskError::NotFound)));
    }

    #[tokio::test]
    async fn delete_of_a_missing_task_is_not_found_and_storage_errors_pass_through() {
        let mut repo = MockTaskRepository::new();
        repo.expect_delete_for_owner()
            .times(1)
            .withf(|_, _, expected| expected.is_none())
            .returning(|_, _, _| Ok(DeleteOutcome::NotFound));
        repo.expect_list_for_owner()
            .returning(|_, _, _| Err(StoreError::Unavailable("down".into())));
        let svc = service(repo, 100);
        assert!(matches!(
            svc.delete(&caller(), task(1).id, None).await,
            Err(TaskError::NotFound)
        ));
        assert!(matches!(
            svc.list(&caller(), TaskListQuery::default()).await,
            Err(TaskError::Store(StoreError::Unavailable(_)))
        ));
    }

    fn tasks_numbered(n: u128) -> Vec<Task> {
        (1..=n)
            .map(|i| Task {
                id: TaskId::from_uuid(Uuid::from_u128(i)),
                created_at: at(i64::try_from(i).unwrap_or_default()),
                ..task(1)
            })
            .collect()
    }

    #[tokio::test]
    async fn a_full_page_asks_for_one_more_and_points_after_its_last_item() {
        let mut repo = MockTaskRepository::new();
        repo.expect_list_for_owner()
            .withf(|_, _, limit| *limit == 3)
            .returning(|_, _, limit| Ok(tasks_numbered(u128::from(limit))));
        let query = TaskListQuery {
            size: PageSize::new(2).unwrap_or_default(),
            ..Default::default()
        };
        let page = service(repo, 100)
            .list(&caller(), query)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(page.items.len(), 2);
        let next = page.next.unwrap_or_else(|| panic!("a next page exists"));
        assert_eq!(next.id, page.items[1].id);
        assert_eq!(next.key, SortKey::Instant(at(2)));
        assert_eq!(next.sort, TaskSort::default());
    }

    #[tokio::test]
    async fn the_last_page_has_no_next_cursor() {
        let mut repo = MockTaskRepository::new();
        repo.expect_list_for_owner()
            .returning(|_, _, _| Ok(tasks_numbered(2)));
        let query = TaskListQuery {
            size: PageSize::new(2).unwrap_or_default(),
            ..Default::default()
        };
        let page = service(repo, 100)
            .list(&caller(), query)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((page.items.len(), page.next), (2, None));
    }

    #[test]
    fn cursors_carry_the_key_of_their_sort() {
        let t = Task {
            due_at: None,
            title: title("Ärger"),
            priority: Priority::High,
            ..task(1)
        };
        let by = |field, descending| TaskCursor::after(&t, TaskSort { field, descending }).key;
        assert_eq!(by(TaskSortField::DueAt, true), SortKey::NoDueDate);
        assert_eq!(
            by(TaskSortField::Title, false),
            SortKey::Title("ärger".into())
        );
        assert_eq!(by(TaskSortField::Priority, false), SortKey::Priority(2));
        assert_eq!(
            by(TaskSortField::UpdatedAt, false),
            SortKey::Instant(t.updated_at)
        );
        let forged = TaskCursor {
            sort: TaskSort::default(),
            key: SortKey::Priority(1),
            id: t.id,
        };
        assert!(!forged.is_consistent());
        assert!(TaskCursor::after(&t, TaskSort::default()).is_consistent());
    }

    #[tokio::test]
    async fn a_conditional_delete_checks_the_version_in_the_delete_itself() {
        let mut repo = MockTaskRepository::new();
        repo.expect_find_for_owner()
            .returning(|_, _| Ok(Some(task(3))));
        repo.expect_delete_for_owner()
            .times(1)
            .withf(|_, _, expected| *expected == Some(3))
            .returning(|_, _, _| Ok(DeleteOutcome::VersionMismatch));
        let result = service(repo, 200)
            .delete(&caller(), task(3).id, Some(IfMatch::Versions(vec![1, 3])))
            .await;
        assert!(matches!(result, Err(TaskError::PreconditionFailed)));
    }

    fn rendered(task: &Task) -> StoredResponse {
        StoredResponse {
            status: 201,
            body: task.title.as_str().to_owned(),
            location: None,
            etag: None,
        }
    }

    fn key() -> IdempotencyKey {
        IdempotencyKey::parse("k-1").unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn the_first_request_with_a_key_creates_and_records_its_response() {
        let mut repo = MockTaskRepository::new();
        repo.expect_insert().never();
        repo.expect_insert_for_key()
            .times(1)
            .withf(|task, held, r| {
                r.body == "Ship it"
                    && held.key == key()
                    && held.owner == task.owner_id
                    && held.reserved_at == task.created_at
            })
            .returning(|_, _, _| Ok(true));
        let mut keys = MockIdempotencyStore::new();
        keys.expect_reserve()
            .withf(|_, _, fp, now, expired, abandoned| {
                fp == "fp"
                    && *expired == *now - chrono::Duration::hours(24)
                    && *abandoned == *now - chrono::Duration::seconds(60)
            })
            .returning(|_, _, _, _, _, _| Ok(Reservation::Reserved));
        keys.expect_release().never();
        let outcome = service_with(repo, keys, 500)
            .create_idempotent(
                &caller(),
                TaskDraft::titled(title("Ship it")),
                key(),
                "fp".into(),
                rendered,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!outcome.replayed);
    }

    #[tokio::test]
    async fn a_repeated_key_replays_rejects_or_waits_and_never_creates() {
        let first = StoredResponse {
            status: 201,
            body: "first".into(),
            location: Some("/tasks/1".into()),
            etag: None,
        };
        for (found, expect) in [
            (
                Reservation::Taken {
                    fingerprint: "fp".into(),
                    response: Some(first.clone()),
                },
                "replay",
            ),
            (
                Reservation::Taken {
                    fingerprint: "other".into(),
                    response: Some(first.clone()),
                },
                "reused",
            ),
            (
                Reservation::Taken {
                    fingerprint: "fp".into(),
                    response: None,
                },
                "in progress",
            ),
        ] {
            let mut repo = MockTaskRepository::new();
            repo.expect_insert().never();
            repo.expect_insert_for_key().never();
            let mut keys = MockIdempotencyStore::new();
            keys.expect_reserve()
                .returning(move |_, _, _, _, _, _| Ok(found.clone()));
            let result = service_with(repo, keys, 500)
                .create_idempotent(
                    &caller(),
                    TaskDraft::titled(title("Again")),
                    key(),
                    "fp".into(),
                    rendered,
                )
                .await;
            match (expect, result) {
                ("replay", Ok(outcome)) => assert!(outcome.replayed && outcome.response == first),
                ("reused", Err(TaskError::IdempotencyKeyReused)) => {}
                ("in progress", Err(TaskError::IdempotencyKeyInProgress)) => {}
                (expect, other) => panic!("{expect}: got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_failed_creation_releases_its_key() {
        let mut repo = MockTaskRepository::new();
        repo.expect_insert_for_key()
            .returning(|_, _, _| Err(StoreError::Unavailable("down".into())));
        let mut keys = MockIdempotencyStore::new();
        keys.expect_reserve()
            .returning(|_, _, _, _, _, _| Ok(Reservation::Reserved));
        keys.expect_release()
            .times(1)
            .withf(|held| held.key == key())
            .returning(|_| Ok(()));
        let result = service_with(repo, keys, 500)
            .create_idempotent(
                &caller(),
                TaskDraft::titled(title("Doomed")),
                key(),
                "fp".into(),
                rendered,
            )
            .await;
        assert!(matches!(
            result,
            Err(TaskError::Store(StoreError::Unavailable(_)))
        ));
    }

    #[tokio::test]
    async fn a_request_whose_reservation_was_taken_over_stores_nothing_and_says_in_progress() {
        let mut repo = MockTaskRepository::new();
        repo.expect_insert().never();
        repo.expect_insert_for_key()
            .times(1)
            .returning(|_, _, _| Ok(false));
        let mut keys = MockIdempotencyStore::new();
        keys.expect_reserve()
            .returning(|_, _, _, _, _, _| Ok(Reservation::Reserved));
        // Not ours to release any more: the retry that took it over decides.
        keys.expect_release().never();
        let result = service_with(repo, keys, 500)
            .create_idempotent(
                &caller(),
                TaskDraft::titled(title("Too slow")),
                key(),
                "fp".into(),
                rendered,
            )
            .await;
        assert!(matches!(result, Err(TaskError::IdempotencyKeyInProgress)));
    }
}

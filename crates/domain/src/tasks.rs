//! Tasks: the task model, its value objects, and the `TaskService` use cases.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::accounts::Principal;
use crate::error::TaskError;
use crate::ids::{TaskId, UserId};
use crate::ports::{Clock, IdGenerator, TaskRepository, UpdateOutcome};
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

    /// The priority of a rank; anything unknown reads as medium.
    pub fn from_rank(rank: i16) -> Self {
        match rank {
            0 => Priority::Low,
            2 => Priority::High,
            _ => Priority::Medium,
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
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl fmt::Debug for TaskService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskService").finish_non_exhaustive()
    }
}

impl TaskService {
    /// How often an update is re-applied when concurrent writers keep winning the race.
    const UPDATE_ATTEMPTS: usize = 8;

    /// Builds the service from its ports.
    pub fn new(
        tasks: Arc<dyn TaskRepository>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self { tasks, clock, ids }
    }

    /// Creates a task owned by the caller, at version 1.
    ///
    /// # Errors
    /// `Store` when storage fails.
    pub async fn create(&self, caller: &Principal, draft: TaskDraft) -> Result<Task, TaskError> {
        let now = self.clock.now();
        let task = Task {
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
        };
        self.tasks.insert(task.clone()).await?;
        Ok(task)
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

    /// All of the caller's tasks, oldest first.
    ///
    /// # Errors
    /// `Store` when storage fails.
    pub async fn list(&self, caller: &Principal) -> Result<Vec<Task>, TaskError> {
        Ok(self.tasks.list_for_owner(caller.user_id).await?)
    }

    /// Applies a partial update (PATCH and the original service's PUT).
    ///
    /// The patch is applied to the current state and written back with a compare-and-swap
    /// on `version`; if another writer got there first, the patch is re-applied to the newer
    /// state, so concurrent updates of different fields are never lost. A patch that
    /// changes nothing returns the task as it is.
    ///
    /// # Errors
    /// `NotFound`; `Contended` if the task kept changing during every attempt.
    pub async fn update(
        &self,
        caller: &Principal,
        id: TaskId,
        patch: TaskPatch,
    ) -> Result<Task, TaskError> {
        for _ in 0..Self::UPDATE_ATTEMPTS {
            let current = self.get(caller, id).await?;
            let now = self.clock.now();
            let Some(changes) = current.apply(&patch, now) else {
                return Ok(current);
            };
            // updated_at never goes backwards, even if clocks of several instances disagree.
            let now = now.max(current.updated_at);
            match self
                .tasks
                .update_if_version(caller.user_id, id, current.version, changes, now)
                .await?
            {
                UpdateOutcome::Updated(task) => return Ok(task),
                UpdateOutcome::NotFound => return Err(TaskError::NotFound),
                UpdateOutcome::VersionMismatch => continue,
            }
        }
        Err(TaskError::Contended)
    }

    /// Deletes one of the caller's tasks.
    ///
    /// # Errors
    /// `NotFound` when the caller has no task with this id.
    pub async fn delete(&self, caller: &Principal, id: TaskId) -> Result<(), TaskError> {
        if self.tasks.delete_for_owner(caller.user_id, id).await? {
            Ok(())
        } else {
            Err(TaskError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;
    use crate::error::StoreError;
    use crate::ports::{MockClock, MockIdGenerator, MockTaskRepository};
    use mockall::Sequence;
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
        let mut clock = MockClock::new();
        clock.expect_now().returning(move || at(now));
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id().returning(|| Uuid::from_u128(99));
        TaskService::new(Arc::new(repo), Arc::new(clock), Arc::new(ids))
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
            assert_eq!(Priority::from_rank(p.rank()), p);
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

    #[tokio::test]
    async fn update_writes_with_the_version_it_read_and_returns_the_new_state() {
        let mut repo = MockTaskRepository::new();
        repo.expect_find_for_owner()
            .returning(|_, _| Ok(Some(task(4))));
        repo.expect_update_if_version()
            .times(1)
            .withf(|_, _, expected, changes, now| {
                *expected == 4 && changes.title.as_str() == "Buy oat milk" && *now == at(200)
            })
            .returning(|_, _, _, changes, now| {
                Ok(UpdateOutcome::Updated(updated(&task(4), &changes, now)))
            });
        let patch = TaskPatch {
            title: Some(title("Buy oat milk")),
            ..Default::default()
        };
        let t = service(repo, 200)
            .update(&caller(), task(4).id, patch)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((t.version, t.updated_at), (5, at(200)));
    }

    #[tokio::test]
    async fn update_that_changes_nothing_does_not_write() {
        let mut repo = MockTaskRepository::new();
        repo.expect_find_for_owner()
            .returning(|_, _| Ok(Some(task(4))));
        repo.expect_update_if_version().never();
        let t = service(repo, 200)
            .update(&caller(), task(4).id, TaskPatch::default())
            .await;
        assert!(matches!(t, Ok(t) if t.version == 4 && t.updated_at == at(100)));
    }

    #[tokio::test]
    async fn update_reapplies_the_patch_when_a_concurrent_writer_won() {
        let mut repo = MockTaskRepository::new();
        let mut seq = Sequence::new();
        repo.expect_find_for_owner()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(Some(task(1))));
        repo.expect_update_if_version()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _, _| Ok(UpdateOutcome::VersionMismatch));
        let concurrent = Task {
            priority: Priority::High,
            version: 2,
            ..task(2)
        };
        let seen = concurrent.clone();
        repo.expect_find_for_owner()
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_, _| Ok(Some(seen.clone())));
        repo.expect_update_if_version()
            .times(1)
            .in_sequence(&mut seq)
            .withf(|_, _, expected, changes, _| {
                *expected == 2 && changes.priority == Priority::High && changes.is_done
            })
            .returning(move |_, _, _, changes, now| {
                Ok(UpdateOutcome::Updated(updated(&concurrent, &changes, now)))
            });
        let patch = TaskPatch {
            is_done: Some(true),
            ..Default::default()
        };
        let t = service(repo, 200)
            .update(&caller(), task(1).id, patch)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (t.version, t.priority, t.is_done),
            (3, Priority::High, true)
        );
    }

    #[tokio::test]
    async fn update_gives_up_after_bounded_contention() {
        let mut repo = MockTaskRepository::new();
        repo.expect_find_for_owner()
            .returning(|_, _| Ok(Some(task(1))));
        repo.expect_update_if_version()
            .times(TaskService::UPDATE_ATTEMPTS)
            .returning(|_, _, _, _, _| Ok(UpdateOutcome::VersionMismatch));
        let patch = TaskPatch {
            is_done: Some(true),
            ..Default::default()
        };
        let result = service(repo, 200)
            .update(&caller(), task(1).id, patch)
            .await;
        assert!(matches!(result, Err(TaskError::Contended)));
    }

    #[tokio::test]
    async fn updated_at_never_goes_backwards() {
        let mut repo = MockTaskRepository::new();
        repo.expect_find_for_owner().returning(|_, _| {
            Ok(Some(Task {
                updated_at: at(1_000),
                ..task(1)
            }))
        });
        repo.expect_update_if_version()
            .withf(|_, _, _, _, now| *now == at(1_000))
            .returning(|_, _, _, changes, now| {
                Ok(UpdateOutcome::Updated(updated(&task(1), &changes, now)))
            });
        let patch = TaskPatch {
            is_done: Some(true),
            ..Default::default()
        };
        assert!(
            service(repo, 200)
                .update(&caller(), task(1).id, patch)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn delete_of_a_missing_task_is_not_found_and_storage_errors_pass_through() {
        let mut repo = MockTaskRepository::new();
        repo.expect_delete_for_owner()
            .times(1)
            .returning(|_, _| Ok(false));
        repo.expect_list_for_owner()
            .returning(|_| Err(StoreError::Unavailable("down".into())));
        let svc = service(repo, 100);
        assert!(matches!(
            svc.delete(&caller(), task(1).id).await,
            Err(TaskError::NotFound)
        ));
        assert!(matches!(
            svc.list(&caller()).await,
            Err(TaskError::Store(StoreError::Unavailable(_)))
        ));
    }
}

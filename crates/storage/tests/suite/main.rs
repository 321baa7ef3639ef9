//! The storage test suite, written once against the public API and run on every backend:
//! each test takes the backend as an rstest case (`sqlite`, `postgres`) and gets its own
//! fresh database. PostgreSQL cases run when `TASKAPI_TEST_DATABASE_URL` names a server
//! (each creates and drops its own database); without it they pass at once, after one
//! line on stderr saying they were skipped; with it set but the server unreachable, they
//! fail.
//!
//! Tests of listing (filters, sorts, keyset pages, query plans) live in `listing`, of
//! idempotency keys in `idempotency`, of accounts and sessions in `accounts`; what only
//! one engine has in `sqlite` and `postgres`; the rest is here.

mod accounts;
mod changes;
mod credentials;
mod housekeeping;
mod idempotency;
mod listing;
mod lists;
mod mail;
mod postgres;
mod sqlite;
mod trash;

use std::collections::BTreeSet;
use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rstest::rstest;
use taskapi_domain::{
    DeleteDecision, DeleteOutcome, HeldKey, InsertUserError, PlacementError, TaskInsert,
    TaskRepository, UpdateDecision, UpdateOutcome,
};
use taskapi_domain::{
    Description, Email, ListId, NewUser, PasswordHash, Priority, Role, StoreError, Tags, Task,
    TaskChanges, TaskId, TaskListQuery, TaskTitle, UserId,
};
use taskapi_storage::{Database, PoolSettings};
use taskapi_storage_testing::{PostgresTestDatabase, postgres_server_url};
use tempfile::TempDir;
use uuid::Uuid;

/// Any error, boxed.
pub type BoxError = Box<dyn Error + Send + Sync>;
/// What every test returns.
pub type TestResult = Result<(), BoxError>;

/// A storage backend under test: each test's rstest case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A database file in a temporary folder.
    Sqlite,
    /// A database on the server `TASKAPI_TEST_DATABASE_URL` names.
    Postgres,
}

impl Backend {
    /// Where this test's fresh databases come from; `None` when the backend is not
    /// configured here (PostgreSQL without `TASKAPI_TEST_DATABASE_URL`, announced once on
    /// stderr), and the test should end at once.
    pub fn databases(self) -> Result<Option<Databases>, BoxError> {
        let source = match self {
            Backend::Sqlite => Source::Sqlite {
                dir: tempfile::tempdir()?,
                files: AtomicU32::new(0),
            },
            Backend::Postgres if postgres_server_url().is_none() => return Ok(None),
            Backend::Postgres => Source::Postgres {
                databases: Mutex::new(Vec::new()),
            },
        };
        Ok(Some(Databases { source }))
    }
}

/// Fresh databases of one backend, for one test; dropped (files and all) with it.
#[derive(Debug)]
pub struct Databases {
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// Database files in a temporary folder.
    Sqlite { dir: TempDir, files: AtomicU32 },
    /// Databases on the test server, dropped when this is.
    Postgres {
        databases: Mutex<Vec<PostgresTestDatabase>>,
    },
}

impl Databases {
    /// A new, empty database (no migrations applied), never shared with another test.
    pub fn fresh(&self, settings: PoolSettings) -> Result<Database, BoxError> {
        self.fresh_with(settings, taskapi_storage::DEFAULT_STATEMENT_TIMEOUT)
    }

    /// [`Databases::fresh`] with every statement limited to `statement_timeout`.
    pub fn fresh_with(
        &self,
        settings: PoolSettings,
        statement_timeout: Duration,
    ) -> Result<Database, BoxError> {
        match &self.source {
            Source::Sqlite { .. } => {
                let url = format!("sqlite://{}", self.next_path()?.display());
                Ok(Database::connect_with(&url, settings, statement_timeout)?)
            }
            Source::Postgres { databases } => {
                let database =
                    PostgresTestDatabase::create()?.ok_or("TASKAPI_TEST_DATABASE_URL vanished")?;
                let db = Database::connect_with(database.url(), settings, statement_timeout)?;
                databases
                    .lock()
                    .map_err(|_| "test database list poisoned")?
                    .push(database);
                Ok(db)
            }
        }
    }

    /// A new file path in the SQLite backend's folder (its folder not yet created).
    pub fn next_path(&self) -> Result<PathBuf, BoxError> {
        match &self.source {
            Source::Sqlite { dir, files } => {
                let n = files.fetch_add(1, Ordering::Relaxed);
                Ok(dir.path().join(format!("db-{n}/taskapi.db")))
            }
            Source::Postgres { .. } => Err("PostgreSQL databases have no file".into()),
        }
    }
}

/// Pool settings for most tests: a few connections, a timeout generous enough for slow CI.
pub fn settings() -> PoolSettings {
    PoolSettings {
        size: 4,
        timeout: Duration::from_secs(10),
    }
}

pub async fn migrated(backend: &Databases, settings: PoolSettings) -> Result<Database, BoxError> {
    let db = backend.fresh(settings)?;
    db.run_migrations()?;
    Ok(db)
}

fn at(micros: i64) -> Result<DateTime<Utc>, BoxError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| format!("{micros} µs is out of range").into())
}

/// 2026-11-18T11:06:40Z plus `micros`.
pub fn t(micros: i64) -> Result<DateTime<Utc>, BoxError> {
    at(1_795_000_000_000_000 + micros)
}

pub fn new_user(n: u128, email: &str) -> Result<NewUser, BoxError> {
    Ok(NewUser {
        id: UserId::from_uuid(Uuid::from_u128(n)),
        email: Email::parse(email)?,
        password_hash: PasswordHash::new(format!("$2b$04$hash-of-user-{n}")),
        role: Role::User,
        created_at: t(123_456)?,
        email_verified: false,
    })
}

pub async fn registered(db: &Database, n: u128) -> Result<UserId, BoxError> {
    let user = db
        .users()
        .insert(new_user(n, &format!("user{n}@example.com"))?)
        .await?;
    Ok(user.id)
}

pub fn new_task(
    owner: UserId,
    n: u128,
    created_at: DateTime<Utc>,
    tags: &[&str],
) -> Result<Task, BoxError> {
    Ok(Task {
        id: TaskId::from_uuid(Uuid::from_u128(n)),
        list_id: ListId::inbox_of(owner),
        parent_id: None,
        position: "0".into(),
        created_by: owner,
        assignee_id: None,
        title: TaskTitle::parse(&format!("Task {n}"))?,
        description: Description::parse(format!("  about task {n}\n"))?,
        is_done: false,
        completed_at: None,
        priority: Priority::Low,
        due_at: Some(t(86_400_000_000)?),
        tags: Tags::parse(tags)?,
        created_at,
        updated_at: created_at,
        version: 1,
    })
}

/// Storing new tasks as the domain does: storage places each last among its siblings, and
/// the task takes the position it was given, so that it equals what reads give back.
pub(crate) trait InsertPlaced {
    /// [`TaskRepository::insert`], then the stored position into `task`.
    async fn insert_placed(
        &self,
        task: &mut Task,
        max_tasks: Option<u64>,
    ) -> Result<TaskInsert, StoreError>;

    /// [`TaskRepository::insert_for_key`], then the stored position into `task`.
    async fn insert_for_key_placed(
        &self,
        task: &mut Task,
        held: HeldKey,
        max_tasks: Option<u64>,
    ) -> Result<TaskInsert, StoreError>;
}

impl<T: TaskRepository + ?Sized> InsertPlaced for T {
    async fn insert_placed(
        &self,
        task: &mut Task,
        max_tasks: Option<u64>,
    ) -> Result<TaskInsert, StoreError> {
        let outcome = self.insert(task.clone(), max_tasks).await?;
        if let TaskInsert::Inserted { position } = &outcome {
            task.position.clone_from(position);
        }
        Ok(outcome)
    }

    async fn insert_for_key_placed(
        &self,
        task: &mut Task,
        held: HeldKey,
        max_tasks: Option<u64>,
    ) -> Result<TaskInsert, StoreError> {
        let outcome = self.insert_for_key(task.clone(), held, max_tasks).await?;
        if let TaskInsert::Inserted { position } = &outcome {
            task.position.clone_from(position);
        }
        Ok(outcome)
    }
}

/// Deleting as the domain does for a client's (optional) version precondition.
trait DeleteIfVersion {
    /// Deletes the task if `member` may, and, with `expected`, only at that version.
    async fn delete_if_version(
        &self,
        member: UserId,
        id: TaskId,
        expected: Option<i64>,
    ) -> Result<DeleteOutcome, StoreError>;
}

impl<T: TaskRepository + ?Sized> DeleteIfVersion for T {
    async fn delete_if_version(
        &self,
        member: UserId,
        id: TaskId,
        expected: Option<i64>,
    ) -> Result<DeleteOutcome, StoreError> {
        self.delete_with(
            member,
            id,
            Box::new(move |current: &Task, access| {
                if let Err(refusal) = access.check_write() {
                    DeleteDecision::Deny(refusal)
                } else if expected.is_some_and(|v| v != current.version) {
                    DeleteDecision::Refuse
                } else {
                    DeleteDecision::Delete
                }
            }),
        )
        .await
    }
}

/// Room for every task any test makes: one page holds them all.
const ALL: u32 = 10_000;

/// Every task of `owner`, in the default order (one page of [`ALL`]).
async fn all_of(tasks: &dyn TaskRepository, owner: UserId) -> Result<Vec<Task>, BoxError> {
    Ok(tasks
        .list_for_member(owner, TaskListQuery::default(), ALL)
        .await?)
}

/// What the domain does for a client's version precondition: writes `changes` at `now` if
/// the locked task is at version `expected`, refuses otherwise.
async fn update_if_version(
    tasks: &dyn TaskRepository,
    owner: UserId,
    id: TaskId,
    expected: i64,
    changes: TaskChanges,
    now: DateTime<Utc>,
) -> Result<UpdateOutcome, StoreError> {
    tasks
        .update_with(
            owner,
            id,
            Box::new(move |current: &Task, _| {
                if current.version == expected {
                    UpdateDecision::Write(changes, now)
                } else {
                    UpdateDecision::Refuse
                }
            }),
        )
        .await
}

fn changes_of(task: &Task) -> TaskChanges {
    TaskChanges {
        title: task.title.clone(),
        description: task.description.clone(),
        is_done: task.is_done,
        completed_at: task.completed_at,
        priority: task.priority,
        due_at: task.due_at,
        tags: task.tags.clone(),
        assignee_id: task.assignee_id,
    }
}

/// Migrations apply on an empty database, and a second run applies nothing.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_apply_once_and_are_idempotent(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = backend.fresh(settings())?;
    let applied = db.run_migrations()?;
    assert!(
        !applied.is_empty(),
        "a fresh database should get every migration"
    );
    assert!(applied.iter().any(|v| v == "20261124180000"), "{applied:?}");
    assert_eq!(db.run_migrations()?, Vec::<String>::new());
    db.ping().await?;
    // The schema is usable.
    assert!(
        db.users()
            .find_by_id(UserId::from_uuid(Uuid::from_u128(1)))
            .await?
            .is_none()
    );
    Ok(())
}

/// A stored account reads back equal by email and by id; unknown ones are `None`.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inserted_user_reads_back_by_email_and_id(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let users = db.users();
    let new = NewUser {
        role: Role::Admin,
        ..new_user(1, "alice@example.com")?
    };
    let user = users.insert(new.clone()).await?;
    assert_eq!(
        (
            user.id,
            &user.email,
            &user.password_hash,
            user.role,
            user.disabled,
            user.created_at
        ),
        (
            new.id,
            &new.email,
            &new.password_hash,
            Role::Admin,
            false,
            new.created_at
        )
    );
    assert_eq!(
        users.find_by_email("alice@example.com").await?,
        Some(user.clone())
    );
    assert_eq!(users.find_by_id(new.id).await?, Some(user));
    assert_eq!(users.find_by_email("bob@example.com").await?, None);
    assert_eq!(
        users
            .find_by_id(UserId::from_uuid(Uuid::from_u128(2)))
            .await?,
        None
    );
    Ok(())
}

/// A second account with a taken email is `EmailTaken`, and the first is left as it was.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn taken_email_is_refused(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let users = db.users();
    let first = users.insert(new_user(1, "alice@example.com")?).await?;
    // The domain normalises case before storage, so "ALICE@example.com" arrives like this.
    let again = users.insert(new_user(2, " ALICE@Example.com ")?).await;
    assert!(
        matches!(again, Err(InsertUserError::EmailTaken)),
        "{again:?}"
    );
    assert_eq!(users.find_by_email("alice@example.com").await?, Some(first));
    assert_eq!(
        users
            .find_by_id(UserId::from_uuid(Uuid::from_u128(2)))
            .await?,
        None
    );
    Ok(())
}

/// Eight registrations of one email at once: exactly one succeeds, the rest are
/// `EmailTaken` (the unique constraint decides, not a prior lookup).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_email_let_exactly_one_succeed(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let users = db.users();
    let handles: Vec<_> = (1..=8u128)
        .map(|n| {
            let users = Arc::clone(&users);
            let user = new_user(n, "race@example.com");
            tokio::spawn(async move { users.insert(user?).await.map_err(BoxError::from) })
        })
        .collect();
    let (mut won, mut taken) = (0, 0);
    for handle in handles {
        match handle.await? {
            Ok(_) => won += 1,
            Err(e) => match e.downcast_ref::<InsertUserError>() {
                Some(InsertUserError::EmailTaken) => taken += 1,
                _ => return Err(e),
            },
        }
    }
    assert_eq!((won, taken), (1, 7));
    assert!(users.find_by_email("race@example.com").await?.is_some());
    Ok(())
}

/// A task reads back exactly as stored, tags in the order given; a task without tags,
/// description or due date too.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tasks_read_back_equal_with_tags_in_order(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    let mut tagged = Task {
        is_done: true,
        completed_at: Some(t(999_999)?),
        priority: Priority::High,
        ..new_task(owner, 10, t(1)?, &["zeta", "alpha", "straße", "mid"])?
    };
    let mut bare = Task {
        description: Description::empty(),
        due_at: None,
        ..new_task(owner, 11, t(2)?, &[])?
    };
    tasks.insert_placed(&mut tagged, None).await?;
    tasks.insert_placed(&mut bare, None).await?;
    assert_eq!(
        tasks.find_for_member(owner, tagged.id).await?,
        Some(tagged.clone())
    );
    assert_eq!(
        tasks.find_for_member(owner, bare.id).await?,
        Some(bare.clone())
    );
    assert_eq!(all_of(&*tasks, owner).await?, vec![tagged, bare]);
    let missing = TaskId::from_uuid(Uuid::from_u128(12));
    assert_eq!(tasks.find_for_member(owner, missing).await?, None);
    Ok(())
}

/// A stored value no domain type accepts (corrupt data, e.g. a priority rank written by hand)
/// is an internal error naming the task and the column, never a silent default.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_corrupt_stored_priority_is_an_error_not_a_default(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    let mut task = new_task(owner, 20, t(1)?, &["x"])?;
    tasks.insert_placed(&mut task, None).await?;
    // Both schemas refuse such a rank (CHECK); go around them as corruption would.
    let around_the_check = match db.backend_name() {
        "sqlite" => "PRAGMA ignore_check_constraints = ON;",
        _ => "ALTER TABLE tasks DROP CONSTRAINT tasks_priority_check;",
    };
    db.hold_connection()?
        .execute_sql(&format!("{around_the_check} UPDATE tasks SET priority = 7"))?;
    for found in [
        tasks.find_for_member(owner, task.id).await.map(drop),
        all_of(&*tasks, owner)
            .await
            .map(drop)
            .map_err(StoreError::internal),
    ] {
        match found {
            Err(StoreError::Internal(cause)) => {
                let message = cause.to_string();
                assert!(
                    message.contains("priority") && message.contains(&task.id.to_string()),
                    "{message}"
                );
            }
            other => return Err(format!("expected an internal error, got {other:?}").into()),
        }
    }
    Ok(())
}

/// Another owner gets `None`, an empty list and `NotFound` (an update's decision is never
/// even asked, so it learns nothing of the task), and the task is intact.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_owner_can_neither_see_nor_change_a_task(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (alice, mallory) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let tasks = db.tasks();
    let mut task = new_task(alice, 10, t(0)?, &["secret"])?;
    tasks.insert_placed(&mut task, None).await?;

    assert_eq!(tasks.find_for_member(mallory, task.id).await?, None);
    assert_eq!(all_of(&*tasks, mallory).await?, vec![]);
    let changes = TaskChanges {
        title: TaskTitle::parse("pwned")?,
        tags: Tags::default(),
        ..changes_of(&task)
    };
    let asked = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&asked);
    let now = t(5)?;
    let outcome = tasks
        .update_with(
            mallory,
            task.id,
            Box::new(move |_: &Task, _| {
                seen.store(true, Ordering::SeqCst);
                UpdateDecision::Write(changes, now)
            }),
        )
        .await?;
    assert_eq!(outcome, UpdateOutcome::NotFound);
    assert!(
        !asked.load(Ordering::SeqCst),
        "decide was shown another owner's task"
    );
    for expected in [None, Some(1), Some(2)] {
        assert_eq!(
            tasks.delete_if_version(mallory, task.id, expected).await?,
            DeleteOutcome::NotFound,
            "expected version {expected:?}"
        );
    }

    assert_eq!(
        tasks.find_for_member(alice, task.id).await?,
        Some(task.clone())
    );
    assert_eq!(all_of(&*tasks, alice).await?, vec![task]);
    Ok(())
}

/// The listing is oldest first, ties broken by id, each task with its own tags, and only
/// the owner's tasks.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_is_ordered_by_created_at_then_id_with_each_tasks_tags(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (owner, other) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let tasks = db.tasks();
    // Inserted in an order that matches neither created_at nor id.
    let mut newest = new_task(owner, 10, t(3_000_000)?, &["c"])?;
    let mut tie_high_id = new_task(owner, 0xff00, t(1_000_000)?, &["b2", "b1"])?;
    let mut oldest = new_task(owner, 0xffff, t(-5)?, &[])?;
    let mut tie_low_id = new_task(owner, 0x00ff, t(1_000_000)?, &["a"])?;
    // One microsecond later than the ties: must sort after them although its id is lowest.
    let mut just_after = new_task(owner, 1, t(1_000_001)?, &["d"])?;
    let mut others = new_task(other, 20, t(0)?, &["x"])?;
    for task in [
        &mut newest,
        &mut tie_high_id,
        &mut oldest,
        &mut tie_low_id,
        &mut just_after,
        &mut others,
    ] {
        tasks.insert_placed(task, None).await?;
    }
    let listed = all_of(&*tasks, owner).await?;
    assert_eq!(
        listed,
        vec![oldest, tie_low_id, tie_high_id, just_after, newest]
    );
    assert_eq!(all_of(&*tasks, other).await?, vec![others]);
    Ok(())
}

/// A successful update writes every field, bumps the version by one, sets `updated_at`,
/// replaces the tags, and returns what a read then returns.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn update_bumps_version_sets_updated_at_and_replaces_tags(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    let mut task = new_task(owner, 10, t(0)?, &["old", "stale"])?;
    tasks.insert_placed(&mut task, None).await?;

    let now = t(60_000_001)?;
    let changes = TaskChanges {
        title: TaskTitle::parse("Renamed")?,
        description: Description::empty(),
        is_done: true,
        completed_at: Some(now),
        priority: Priority::High,
        due_at: None,
        tags: Tags::parse(&["new", "stale", "another"])?,
        assignee_id: None,
    };
    let outcome = update_if_version(&*tasks, owner, task.id, 1, changes.clone(), now).await?;
    let expected = Task {
        title: changes.title.clone(),
        description: changes.description.clone(),
        is_done: true,
        completed_at: Some(now),
        priority: Priority::High,
        due_at: None,
        tags: changes.tags.clone(),
        updated_at: now,
        version: 2,
        ..task.clone()
    };
    assert_eq!(outcome, UpdateOutcome::Updated(expected.clone()));
    assert_eq!(
        tasks.find_for_member(owner, task.id).await?,
        Some(expected.clone())
    );

    // And back: not done clears completed_at, a due date comes back, tags can be emptied.
    let later = t(120_000_000)?;
    let undo = TaskChanges {
        is_done: false,
        completed_at: None,
        due_at: Some(t(7)?),
        tags: Tags::default(),
        ..changes
    };
    let outcome = update_if_version(&*tasks, owner, task.id, 2, undo, later).await?;
    let expected = Task {
        is_done: false,
        completed_at: None,
        due_at: Some(t(7)?),
        tags: Tags::default(),
        updated_at: later,
        version: 3,
        ..expected
    };
    assert_eq!(outcome, UpdateOutcome::Updated(expected.clone()));
    assert_eq!(all_of(&*tasks, owner).await?, vec![expected]);
    Ok(())
}

/// An update whose decision refuses (it expected an old version) is `Refused` and changes
/// nothing; the decision was shown the task as it is now.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn update_with_a_stale_version_is_refused_and_changes_nothing(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    let mut task = new_task(owner, 10, t(0)?, &["keep"])?;
    tasks.insert_placed(&mut task, None).await?;
    let first = TaskChanges {
        title: TaskTitle::parse("First writer")?,
        ..changes_of(&task)
    };
    let now = t(1_000)?;
    let current = match update_if_version(&*tasks, owner, task.id, 1, first, now).await? {
        UpdateOutcome::Updated(current) => current,
        other => return Err(format!("first update: {other:?}").into()),
    };

    for stale in [1, 0, 3, -1] {
        let late = TaskChanges {
            title: TaskTitle::parse("Late writer")?,
            tags: Tags::parse(&["lost"])?,
            ..changes_of(&task)
        };
        let late_at = t(2_000)?;
        let shown = Arc::new(Mutex::new(None));
        let record = Arc::clone(&shown);
        let outcome = tasks
            .update_with(
                owner,
                task.id,
                Box::new(move |current: &Task, _| {
                    if let Ok(mut shown) = record.lock() {
                        *shown = Some(current.clone());
                    }
                    if current.version == stale {
                        UpdateDecision::Write(late, late_at)
                    } else {
                        UpdateDecision::Refuse
                    }
                }),
            )
            .await?;
        assert_eq!(outcome, UpdateOutcome::Refused, "expected version {stale}");
        let shown = shown.lock().map_err(|_| "poisoned")?.clone();
        assert_eq!(shown.as_ref(), Some(&current), "what decide saw");
    }
    assert_eq!(tasks.find_for_member(owner, task.id).await?, Some(current));
    Ok(())
}

/// An update of a task id nobody has, or that the owner does not have, is `NotFound`.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn update_of_a_missing_task_is_not_found(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (owner, other) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let tasks = db.tasks();
    let mut task = new_task(owner, 10, t(0)?, &[])?;
    tasks.insert_placed(&mut task, None).await?;
    let missing = TaskId::from_uuid(Uuid::from_u128(11));
    let outcome = update_if_version(&*tasks, owner, missing, 1, changes_of(&task), t(1)?).await?;
    assert_eq!(outcome, UpdateOutcome::NotFound);
    // Wrong owner with the right version, and with a wrong one: NotFound either way, so the
    // outcome says nothing about another user's task.
    for version in [1, 7] {
        let outcome =
            update_if_version(&*tasks, other, task.id, version, changes_of(&task), t(1)?).await?;
        assert_eq!(outcome, UpdateOutcome::NotFound);
    }
    assert_eq!(tasks.find_for_member(owner, task.id).await?, Some(task));
    Ok(())
}

/// Sixteen updates at once, each writing only if the locked task is at version 1: exactly
/// one is `Updated`, the others `Refused`, and the task ends at version 2 with the winner's
/// state.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_expecting_one_version_let_exactly_one_win(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    let mut task = new_task(owner, 10, t(0)?, &["start"])?;
    tasks.insert_placed(&mut task, None).await?;

    let mut handles = Vec::new();
    for n in 0..16 {
        let tasks = Arc::clone(&tasks);
        let changes = TaskChanges {
            title: TaskTitle::parse(&format!("Writer {n}"))?,
            tags: Tags::parse(&[format!("writer-{n}"), "shared".to_owned()])?,
            ..changes_of(&task)
        };
        let now = t(1_000 + n)?;
        handles.push(tokio::spawn(async move {
            update_if_version(&*tasks, owner, task.id, 1, changes, now).await
        }));
    }
    let (mut winners, mut refused) = (Vec::new(), 0);
    for handle in handles {
        match handle.await?? {
            UpdateOutcome::Updated(task) => winners.push(task),
            UpdateOutcome::Refused => refused += 1,
            other => return Err(format!("an update saw {other:?}").into()),
        }
    }
    assert_eq!((winners.len(), refused), (1, 15), "{winners:?}");
    let winner = winners.remove(0);
    assert_eq!(winner.version, 2);
    assert_eq!(tasks.find_for_member(owner, task.id).await?, Some(winner));
    Ok(())
}

/// Twenty updates at once, each appending its own line to the description it is shown (a
/// read-modify-write): all are `Updated`, each saw the previous one's result, and the task
/// ends at version 21 with all twenty lines, none lost.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_all_apply_in_turn_and_none_is_lost(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    const WRITERS: i64 = 20;
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    let mut task = Task {
        description: Description::empty(),
        ..new_task(owner, 10, t(0)?, &["start"])?
    };
    tasks.insert_placed(&mut task, None).await?;

    let mut handles = Vec::new();
    for n in 0..WRITERS {
        let tasks = Arc::clone(&tasks);
        let now = t(1_000 + n)?;
        handles.push(tokio::spawn(async move {
            let line = format!("writer-{n}\n");
            let appended = line.clone();
            let outcome = tasks
                .update_with(
                    owner,
                    task.id,
                    Box::new(move |current: &Task, _| {
                        let text = format!("{}{appended}", current.description.as_str());
                        match Description::parse(text) {
                            Ok(description) => UpdateDecision::Write(
                                TaskChanges {
                                    description,
                                    ..changes_of(current)
                                },
                                now,
                            ),
                            Err(_) => UpdateDecision::Refuse,
                        }
                    }),
                )
                .await?;
            Ok::<_, StoreError>((line, outcome))
        }));
    }
    let mut versions = BTreeSet::new();
    for handle in handles {
        let (line, outcome) = handle.await??;
        let UpdateOutcome::Updated(updated) = outcome else {
            return Err(format!("{line:?}: {outcome:?}").into());
        };
        // What was written is what this writer was shown plus its own line.
        assert!(
            updated.description.as_str().ends_with(&line),
            "{line:?} wrote {:?}",
            updated.description
        );
        assert_eq!(
            updated.description.as_str().lines().count(),
            usize::try_from(updated.version - 1)?,
            "version {} should hold one line per write so far",
            updated.version
        );
        versions.insert(updated.version);
    }
    assert_eq!(versions, (2..=WRITERS + 1).collect::<BTreeSet<_>>());
    let last = tasks
        .find_for_member(owner, task.id)
        .await?
        .ok_or("the task vanished")?;
    assert_eq!(last.version, 1 + WRITERS);
    let lines: BTreeSet<&str> = last.description.as_str().lines().collect();
    let expected: BTreeSet<String> = (0..WRITERS).map(|n| format!("writer-{n}")).collect();
    assert_eq!(
        lines,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    assert_eq!(
        last.description.as_str().lines().count(),
        usize::try_from(WRITERS)?,
        "a line was written twice: {:?}",
        last.description
    );
    assert_eq!(last.tags, task.tags);
    Ok(())
}

/// A decision to keep the task is `Unchanged` with the task as stored (tags included), and
/// leaves `version` and `updated_at` alone; another owner's attempt is `NotFound`.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kept_update_returns_the_task_unchanged(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (owner, other) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let tasks = db.tasks();
    let mut task = new_task(owner, 10, t(0)?, &["b", "a"])?;
    tasks.insert_placed(&mut task, None).await?;
    let renamed = TaskChanges {
        title: TaskTitle::parse("Renamed")?,
        ..changes_of(&task)
    };
    let current = match update_if_version(&*tasks, owner, task.id, 1, renamed, t(1_000)?).await? {
        UpdateOutcome::Updated(current) => current,
        other => return Err(format!("first update: {other:?}").into()),
    };
    assert_eq!((current.version, current.updated_at), (2, t(1_000)?));

    let shown = Arc::new(Mutex::new(None));
    let record = Arc::clone(&shown);
    let outcome = tasks
        .update_with(
            owner,
            task.id,
            Box::new(move |current: &Task, _| {
                if let Ok(mut shown) = record.lock() {
                    *shown = Some(current.clone());
                }
                UpdateDecision::Keep
            }),
        )
        .await?;
    assert_eq!(outcome, UpdateOutcome::Unchanged(current.clone()));
    assert_eq!(
        shown.lock().map_err(|_| "poisoned")?.as_ref(),
        Some(&current)
    );
    assert_eq!(
        tasks.find_for_member(owner, task.id).await?,
        Some(current.clone())
    );

    let outcome = tasks
        .update_with(other, task.id, Box::new(|_: &Task, _| UpdateDecision::Keep))
        .await?;
    assert_eq!(outcome, UpdateOutcome::NotFound);
    assert_eq!(tasks.find_for_member(owner, task.id).await?, Some(current));
    Ok(())
}

/// Deleting is `Deleted` once, then `NotFound`; the task is out of sight, its row and tags
/// kept in the trash until the trash purge removes them.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_trashes_the_task_and_the_purge_removes_it_with_its_tags(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    let mut doomed = new_task(owner, 10, t(0)?, &["a", "b"])?;
    let mut kept = new_task(owner, 11, t(1)?, &["a"])?;
    tasks.insert_placed(&mut doomed, None).await?;
    tasks.insert_placed(&mut kept, None).await?;

    assert_eq!(
        tasks.delete_if_version(owner, doomed.id, None).await?,
        DeleteOutcome::Deleted
    );
    assert_eq!(
        tasks.delete_if_version(owner, doomed.id, None).await?,
        DeleteOutcome::NotFound
    );
    assert_eq!(tasks.find_for_member(owner, doomed.id).await?, None);
    assert_eq!(all_of(&*tasks, owner).await?, vec![kept]);
    trash_keeps_tags_until_the_purge(&db, &*tasks, 3, 1).await
}

/// A trashed task keeps its tags (for a restore) until the trash purge takes both: `before`
/// tags stored while it is in the trash, `after` once the purge ran.
async fn trash_keeps_tags_until_the_purge(
    db: &Database,
    tasks: &dyn TaskRepository,
    before: i64,
    after: i64,
) -> TestResult {
    let count = || -> Result<i64, BoxError> {
        Ok(db
            .hold_connection()?
            .query_i64("SELECT COUNT(*) AS value FROM task_tags")?)
    };
    assert_eq!(count()?, before, "tags kept while in the trash");
    tasks
        .purge_trashed(Utc::now() + chrono::TimeDelta::seconds(1))
        .await?;
    assert_eq!(count()?, after, "tags purged with the task");
    Ok(())
}

/// A delete expecting a version other than the task's is `VersionMismatch` and deletes
/// nothing; expecting the right one trashes the task (its tags go with the purge); another owner gets
/// `NotFound` whatever it expects.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_with_an_expected_version_checks_it(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (owner, other) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let tasks = db.tasks();
    let mut task = new_task(owner, 10, t(0)?, &["a", "b"])?;
    let mut kept = new_task(owner, 11, t(1)?, &["c"])?;
    tasks.insert_placed(&mut task, None).await?;
    tasks.insert_placed(&mut kept, None).await?;
    let changes = TaskChanges {
        title: TaskTitle::parse("Second version")?,
        ..changes_of(&task)
    };
    let current = match update_if_version(&*tasks, owner, task.id, 1, changes, t(5)?).await? {
        UpdateOutcome::Updated(current) => current,
        other => return Err(format!("update: {other:?}").into()),
    };

    for stale in [1, 3, 0] {
        assert_eq!(
            tasks.delete_if_version(owner, task.id, Some(stale)).await?,
            DeleteOutcome::VersionMismatch,
            "expected version {stale}"
        );
    }
    for expected in [Some(2), Some(1), None] {
        assert_eq!(
            tasks.delete_if_version(other, task.id, expected).await?,
            DeleteOutcome::NotFound,
            "another owner expecting {expected:?}"
        );
    }
    assert_eq!(
        tasks.find_for_member(owner, task.id).await?,
        Some(current.clone())
    );

    assert_eq!(
        tasks.delete_if_version(owner, task.id, Some(2)).await?,
        DeleteOutcome::Deleted
    );
    assert_eq!(tasks.find_for_member(owner, task.id).await?, None);
    for expected in [Some(2), None] {
        assert_eq!(
            tasks.delete_if_version(owner, task.id, expected).await?,
            DeleteOutcome::NotFound
        );
    }
    assert_eq!(all_of(&*tasks, owner).await?, vec![kept]);
    trash_keeps_tags_until_the_purge(&db, &*tasks, 3, 1).await
}

/// Deleting an account (no port offers it yet: raw SQL) deletes its tasks and their tags.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_a_user_deletes_their_tasks_and_tags(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (leaving, staying) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let tasks = db.tasks();
    for n in 0..3 {
        tasks
            .insert(new_task(leaving, 10 + n, t(0)?, &["x", "y"])?, None)
            .await?;
    }
    let mut kept = new_task(staying, 20, t(0)?, &["x"])?;
    tasks.insert_placed(&mut kept, None).await?;

    {
        let mut conn = db.hold_connection()?;
        conn.execute_sql(&format!("DELETE FROM users WHERE id = '{leaving}'"))?;
        assert_eq!(conn.query_i64("SELECT COUNT(*) AS value FROM tasks")?, 1);
        assert_eq!(
            conn.query_i64("SELECT COUNT(*) AS value FROM task_tags")?,
            1
        );
    }
    assert_eq!(db.users().find_by_id(leaving).await?, None);
    assert_eq!(all_of(&*tasks, leaving).await?, vec![]);
    assert_eq!(all_of(&*tasks, staying).await?, vec![kept]);
    Ok(())
}

/// A task quota is counted in the insert's transaction: concurrent inserts of one owner never
/// pass it together, other owners are not affected, and no limit means none.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_task_quota_holds_under_concurrent_inserts(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (owner, other) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let tasks = db.tasks();
    let mut inserts = Vec::new();
    for n in 0..16u128 {
        let tasks = Arc::clone(&tasks);
        let task = new_task(owner, 100 + n, t(0)?, &["x"])?;
        inserts.push(tokio::spawn(
            async move { tasks.insert(task, Some(5)).await },
        ));
    }
    let mut outcomes = Vec::new();
    for insert in inserts {
        outcomes.push(insert.await??);
    }
    let inserted = outcomes
        .iter()
        .filter(|o| matches!(o, TaskInsert::Inserted { .. }))
        .count();
    assert_eq!(inserted, 5, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, TaskInsert::Inserted { .. } | TaskInsert::QuotaExceeded))
    );
    assert_eq!(
        all_of(&*tasks, owner).await?.len(),
        5,
        "nothing more stored"
    );
    assert!(matches!(
        tasks
            .insert(new_task(other, 200, t(0)?, &[])?, Some(5))
            .await?,
        TaskInsert::Inserted { .. }
    ));
    assert!(matches!(
        tasks
            .insert(new_task(owner, 201, t(0)?, &[])?, None)
            .await?,
        TaskInsert::Inserted { .. }
    ));
    Ok(())
}

/// A task of an unknown account (hence of no list it belongs to) is refused; and foreign
/// keys are enforced on pooled connections: a task under an unknown parent is refused.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tasks_of_an_unknown_owner_are_refused(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let ghost = UserId::from_uuid(Uuid::from_u128(404));
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    // Several attempts, so that more than one pooled connection is likely exercised.
    for n in 0..4 {
        let result = tasks
            .insert(new_task(ghost, 10 + n, t(0)?, &["t"])?, None)
            .await;
        assert!(matches!(result, Ok(TaskInsert::NoSuchList)), "{result:?}");
        let orphan = Task {
            parent_id: Some(TaskId::from_uuid(Uuid::from_u128(999))),
            ..new_task(owner, 20 + n, t(0)?, &["t"])?
        };
        let result = tasks.insert(orphan, None).await;
        assert!(
            matches!(
                result,
                Ok(TaskInsert::Misplaced(PlacementError::UnknownParent))
            ),
            "{result:?}"
        );
    }
    assert_eq!(all_of(&*tasks, ghost).await?, vec![]);
    assert_eq!(all_of(&*tasks, owner).await?, vec![]);
    Ok(())
}

/// Fifty tasks written at once through a pool of four: every write succeeds (writers queue
/// for the lock instead of failing with "database is locked").
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_writers_all_succeed(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    let mut handles = Vec::new();
    for n in 0..50u128 {
        let tasks = Arc::clone(&tasks);
        let created = t(i64::try_from(n)?)?;
        let mut task = new_task(owner, 100 + n, created, &["bulk", "concurrent"])?;
        handles.push(tokio::spawn(async move {
            tasks.insert_placed(&mut task, None).await?;
            // A write right after, to mix inserts with updates.
            let changes = TaskChanges {
                is_done: true,
                completed_at: Some(created),
                ..changes_of(&task)
            };
            update_if_version(&*tasks, owner, task.id, 1, changes, created).await
        }));
    }
    for handle in handles {
        let outcome = handle.await??;
        assert!(
            matches!(outcome, UpdateOutcome::Updated(ref t) if t.version == 2),
            "{outcome:?}"
        );
    }
    let listed = all_of(&*tasks, owner).await?;
    assert_eq!(listed.len(), 50);
    assert!(
        listed
            .iter()
            .all(|t| t.is_done && t.tags.iter().eq(["bulk", "concurrent"]))
    );
    Ok(())
}

/// With every connection taken, calls fail as `Unavailable` after about the pool timeout
/// instead of hanging, and work again once a connection is free.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exhausted_pool_is_unavailable_within_the_timeout(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let timeout = Duration::from_millis(300);
    let db = migrated(&backend, PoolSettings { size: 1, timeout }).await?;
    let held = db.hold_connection()?;

    let started = Instant::now();
    let ping = db.ping().await;
    let waited = started.elapsed();
    assert!(matches!(ping, Err(StoreError::Unavailable(_))), "{ping:?}");
    assert!(
        waited >= timeout / 2,
        "gave up after {waited:?}, before the timeout"
    );
    assert!(
        waited < timeout + Duration::from_secs(2),
        "waited {waited:?}"
    );

    let lookup = db
        .users()
        .find_by_id(UserId::from_uuid(Uuid::from_u128(1)))
        .await;
    assert!(
        matches!(lookup, Err(StoreError::Unavailable(_))),
        "{lookup:?}"
    );

    drop(held);
    db.ping().await?;
    assert_eq!(
        db.users()
            .find_by_id(UserId::from_uuid(Uuid::from_u128(1)))
            .await?,
        None
    );
    Ok(())
}

/// The pool's statistics: its connections now, and every checkout, wait and timeout as it
/// happens — a checkout that finds an idle connection does not wait.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pool_stats_count_checkouts_waits_and_timeouts(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let timeout = Duration::from_secs(1);
    let db = migrated(&backend, PoolSettings { size: 1, timeout }).await?;
    let start = db.pool_stats();
    assert_eq!(
        (start.max_size, start.connections, start.idle_connections),
        (1, 1, 1),
        "{start:?}"
    );

    db.ping().await?;
    let pinged = db.pool_stats();
    assert_eq!(pinged.checkouts, start.checkouts + 1, "{pinged:?}");
    assert_eq!(
        pinged.waits, start.waits,
        "an idle connection was free: {pinged:?}"
    );

    let held = db.hold_connection()?;
    let busy = db.pool_stats();
    assert_eq!(busy.idle_connections, 0, "{busy:?}");
    let ping = db.ping().await;
    assert!(matches!(ping, Err(StoreError::Unavailable(_))), "{ping:?}");
    let timed_out = db.pool_stats();
    assert_eq!(timed_out.waits, busy.waits + 1, "{timed_out:?}");
    assert_eq!(timed_out.timeouts, busy.timeouts + 1, "{timed_out:?}");
    assert!(
        timed_out.wait_time >= busy.wait_time + timeout / 2,
        "the timed-out wait is counted: {busy:?} then {timed_out:?}"
    );

    // A checkout that waits until the held connection comes back.
    let waiter = tokio::spawn({
        let db = db.clone();
        async move { db.ping().await }
    });
    let deadline = Instant::now() + timeout / 2;
    while db.pool_stats().waits == timed_out.waits {
        assert!(Instant::now() < deadline, "the second ping never waited");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(held);
    waiter.await??;
    let served = db.pool_stats();
    assert_eq!(served.waits, timed_out.waits + 1, "{served:?}");
    assert_eq!(
        served.timeouts, timed_out.timeouts,
        "it got a connection: {served:?}"
    );
    assert!(
        served.wait_time >= timed_out.wait_time + Duration::from_millis(20),
        "{timed_out:?} then {served:?}"
    );
    assert_eq!(served.idle_connections, 1, "{served:?}");
    Ok(())
}

/// A write committed by another connection between two reads of a read transaction is
/// seen by neither; it is seen after the transaction.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_of_a_read_transaction_share_one_snapshot(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = backend.fresh(PoolSettings {
        size: 2,
        timeout: Duration::from_secs(5),
    })?;
    let count = "SELECT COUNT(*) AS value FROM probe";
    let mut reader = db.hold_connection()?;
    let mut writer = db.hold_connection()?;
    writer.execute_sql("CREATE TABLE probe (n INTEGER); INSERT INTO probe VALUES (1)")?;
    let (before, after) = reader.in_read_transaction(|conn| {
        let before = conn.query_i64(count)?;
        writer.execute_sql("INSERT INTO probe VALUES (2)")?;
        let after = conn.query_i64(count)?;
        Ok((before, after))
    })?;
    assert_eq!(
        (before, after),
        (1, 1),
        "the second read saw a later commit"
    );
    assert_eq!(
        reader.query_i64(count)?,
        2,
        "the commit is seen after the transaction"
    );
    Ok(())
}

/// A statement that runs past `database.statement_timeout` is cancelled (PostgreSQL) or
/// interrupted (SQLite): it fails as `Unavailable` (a 503 for a request) instead of running
/// to its end, and its connection serves the next statement at once. Each slow statement
/// would run for far longer than the test allows if nothing stopped it.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_statement_over_the_statement_timeout_is_stopped_and_frees_its_connection(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let limit = Duration::from_millis(300);
    let db = backend.fresh_with(
        PoolSettings {
            size: 1,
            timeout: Duration::from_secs(5),
        },
        limit,
    )?;
    db.run_migrations()?;
    let slow = match db.backend_name() {
        // Counting to 10^10 takes SQLite many minutes.
        "sqlite" => {
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 10000000000) \
             SELECT COUNT(*) AS value FROM n"
        }
        _ => "SELECT 1::bigint AS value FROM pg_sleep(600)",
    };
    let worker = db.clone();
    let (outcome, elapsed, after) = tokio::task::spawn_blocking(move || {
        let mut conn = worker.hold_connection()?;
        let started = Instant::now();
        let outcome = conn.query_i64(slow);
        let elapsed = started.elapsed();
        // The same (only) connection answers the next statement.
        let after = conn.query_i64("SELECT CAST(7 AS BIGINT) AS value");
        Ok::<_, BoxError>((outcome, elapsed, after))
    })
    .await??;
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "the slow statement must fail as unavailable, got {outcome:?} after {elapsed:?}"
    );
    assert!(
        elapsed < limit + Duration::from_secs(5),
        "it was stopped only after {elapsed:?}"
    );
    assert_eq!(after?, 7);
    // And the pool's one connection serves repository calls again.
    db.ping().await?;
    Ok(())
}

/// Migrations wait for the instance that holds the turn at most as long as they are told,
/// then give up with a message naming the lock; once it is free they run.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_give_up_on_a_held_lock_after_the_wait_they_are_given(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = backend.fresh(settings())?;
    let mut holder = db.hold_connection()?;
    let (take, release) = match db.backend_name() {
        // The write lock SQLite migrations take.
        "sqlite" => ("BEGIN IMMEDIATE", "COMMIT"),
        // The advisory lock of PostgreSQL migrations (0x0074_6173_6b61_7069).
        _ => (
            "SELECT pg_advisory_lock(32758245649117289)",
            "SELECT pg_advisory_unlock(32758245649117289)",
        ),
    };
    holder.execute_sql(take)?;
    let wait = Duration::from_millis(500);
    let started = Instant::now();
    let refused = db.run_migrations_within(wait);
    let elapsed = started.elapsed();
    let message = match refused {
        Err(e) => e.to_string(),
        Ok(applied) => return Err(format!("migrated past a held lock: {applied:?}").into()),
    };
    assert!(
        message.contains("lock") && message.contains("500ms"),
        "the message names the lock and the wait: {message}"
    );
    assert!(elapsed >= wait, "gave up after {elapsed:?}");
    assert!(
        elapsed < wait + Duration::from_secs(5),
        "waited {elapsed:?}"
    );
    holder.execute_sql(release)?;
    assert!(!db.run_migrations_within(wait)?.is_empty());
    Ok(())
}

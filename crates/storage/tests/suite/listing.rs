//! Listing: every filter, every sort order, keyset pages (also while tasks come and go), and
//! the query plans behind them.
//!
//! Expected orders come from [`compare`], a model of the listing rules written in Rust
//! (priority orders low < medium < high, titles and `q` compare by Unicode lower case, tasks
//! without `due_at` come last in both directions, ties break by id in the sort's direction);
//! the model itself is pinned by explicit orders in the sort tests.

use std::cmp::Ordering as Order;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use taskapi_domain::{PageSize, SearchText, Tag, TaskCursor, TaskFilter, TaskSort, TaskSortField};

use super::*;

const FIELDS: [TaskSortField; 5] = [
    TaskSortField::CreatedAt,
    TaskSortField::UpdatedAt,
    TaskSortField::DueAt,
    TaskSortField::Priority,
    TaskSortField::Title,
];

/// Every sort order: each field ascending and descending.
fn every_sort() -> Vec<TaskSort> {
    FIELDS
        .iter()
        .flat_map(|&field| [false, true].map(|descending| TaskSort { field, descending }))
        .collect()
}

/// The order of `a` and `b` under `sort`: by the field, ties by id, both in the sort's
/// direction; tasks without `due_at` after every dated task in either direction.
fn compare(a: &Task, b: &Task, sort: TaskSort) -> Order {
    let ascending = match sort.field {
        TaskSortField::CreatedAt => a.created_at.cmp(&b.created_at),
        TaskSortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
        TaskSortField::Priority => a.priority.rank().cmp(&b.priority.rank()),
        TaskSortField::Title => a.title.sort_key().cmp(&b.title.sort_key()),
        // Bytewise, as storage compares positions.
        TaskSortField::Position => a.position.as_bytes().cmp(b.position.as_bytes()),
        TaskSortField::DueAt => match (a.due_at, b.due_at) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => return Order::Less,
            (None, Some(_)) => return Order::Greater,
            (None, None) => Order::Equal,
        },
    }
    .then(a.id.cmp(&b.id));
    if sort.descending {
        ascending.reverse()
    } else {
        ascending
    }
}

/// `tasks` in `sort` order.
fn sorted(tasks: &[Task], sort: TaskSort) -> Vec<Task> {
    let mut tasks = tasks.to_vec();
    tasks.sort_by(|a, b| compare(a, b, sort));
    tasks
}

/// Whether `task` matches `filter`: every given filter holds (`due_before`/`due_after`
/// exclusive and never matching an undated task, `tag` and `q` case-insensitive).
fn matches(task: &Task, filter: &TaskFilter) -> bool {
    filter.is_done.is_none_or(|done| task.is_done == done)
        && filter.priority.is_none_or(|p| task.priority == p)
        && filter
            .tag
            .as_ref()
            .is_none_or(|tag| task.tags.as_slice().contains(tag))
        && filter.q.as_ref().is_none_or(|q| {
            task.title.as_str().to_lowercase().contains(q.as_str())
                || task
                    .description
                    .as_str()
                    .to_lowercase()
                    .contains(q.as_str())
        })
        && filter
            .due_before
            .is_none_or(|before| task.due_at.is_some_and(|due| due < before))
        && filter
            .due_after
            .is_none_or(|after| task.due_at.is_some_and(|due| due > after))
}

fn ids(tasks: &[Task]) -> Vec<u128> {
    tasks.iter().map(|t| t.id.as_uuid().as_u128()).collect()
}

fn id(n: u128) -> TaskId {
    TaskId::from_uuid(Uuid::from_u128(n))
}

/// A task with every default: medium, open, undated, untagged, no description, created and
/// updated at `t(n ms)`.
fn task(owner: UserId, n: u128, title: &str) -> Result<Task, BoxError> {
    let at = t(i64::try_from(n)? * 1_000)?;
    Ok(Task {
        id: id(n),
        list_id: ListId::inbox_of(owner),
        parent_id: None,
        position: "0".into(),
        created_by: owner,
        assignee_id: None,
        title: TaskTitle::parse(title)?,
        description: Description::empty(),
        is_done: false,
        completed_at: None,
        priority: Priority::Medium,
        due_at: None,
        tags: Tags::default(),
        created_at: at,
        updated_at: at,
        version: 1,
    })
}

/// `t` + `s` seconds: due dates.
fn day(s: i64) -> Result<DateTime<Utc>, BoxError> {
    t(s * 1_000_000)
}

async fn insert_all(tasks: &dyn TaskRepository, all: &mut [Task]) -> TestResult {
    for task in all {
        tasks.insert_placed(task, None).await?;
    }
    Ok(())
}

/// The whole listing of `owner` under `filter` and `sort`, in one page.
async fn list(
    tasks: &dyn TaskRepository,
    owner: UserId,
    filter: &TaskFilter,
    sort: TaskSort,
) -> Result<Vec<Task>, BoxError> {
    let query = TaskListQuery {
        filter: filter.clone(),
        sort,
        ..TaskListQuery::default()
    };
    Ok(tasks.list_for_member(owner, query, ALL).await?)
}

// --- filters ------------------------------------------------------------------------------

/// Tasks that tell every filter apart. Numbers are ids (`base` + n) and order of creation.
///
/// | n | title                | description            | done | priority | due  | tags         |
/// |---|----------------------|------------------------|------|----------|------|--------------|
/// | 1 | Buy milk             |                        |      | low      |      | home         |
/// | 2 | ÄRGER mit dem Amt    |                        | yes  | high     | 100s | work, urgent |
/// | 3 | Write report         | Ärger vermeiden        |      | medium   | 200s | work         |
/// | 4 | 100% done            |                        |      | high     | 300s |              |
/// | 5 | snake_case_name      |                        |      | medium   |      | code         |
/// | 6 | path C:\temp         | back\slash             | yes  | low      | 400s | home         |
/// | 7 | plain                | contains 50 percent    |      | medium   |      |              |
/// | 8 | Ωμέγα ΣΟΦΙΑ          | Straße                 |      | medium   |      | Straße       |
fn filter_fixture(owner: UserId, base: u128) -> Result<Vec<Task>, BoxError> {
    let n = |k: u128| base + k;
    let done_at = Some(t(5)?);
    Ok(vec![
        Task {
            priority: Priority::Low,
            tags: Tags::parse(&["home"])?,
            ..task(owner, n(1), "Buy milk")?
        },
        Task {
            is_done: true,
            completed_at: done_at,
            priority: Priority::High,
            due_at: Some(day(100)?),
            tags: Tags::parse(&["Work", "urgent"])?,
            ..task(owner, n(2), "ÄRGER mit dem Amt")?
        },
        Task {
            description: Description::parse("Ärger vermeiden".into())?,
            due_at: Some(day(200)?),
            tags: Tags::parse(&["work"])?,
            ..task(owner, n(3), "Write report")?
        },
        Task {
            priority: Priority::High,
            due_at: Some(day(300)?),
            ..task(owner, n(4), "100% done")?
        },
        Task {
            tags: Tags::parse(&["code"])?,
            ..task(owner, n(5), "snake_case_name")?
        },
        Task {
            description: Description::parse("back\\slash".into())?,
            is_done: true,
            completed_at: done_at,
            priority: Priority::Low,
            due_at: Some(day(400)?),
            tags: Tags::parse(&["home"])?,
            ..task(owner, n(6), "path C:\\temp")?
        },
        Task {
            description: Description::parse("contains 50 percent".into())?,
            ..task(owner, n(7), "plain")?
        },
        Task {
            description: Description::parse("Straße".into())?,
            tags: Tags::parse(&["Straße"])?,
            ..task(owner, n(8), "Ωμέγα ΣΟΦΙΑ")?
        },
    ])
}

/// Alice's fixture, and a copy of it for Bob (ids + 100) that matches every filter hers
/// does: it must never show up in her listings.
async fn filter_setup(
    backend: &Databases,
) -> Result<(Database, UserId, UserId, Vec<Task>), BoxError> {
    let db = migrated(backend, settings()).await?;
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let tasks = db.tasks();
    let mut mine = filter_fixture(alice, 0)?;
    insert_all(&*tasks, &mut mine).await?;
    insert_all(&*tasks, &mut filter_fixture(bob, 100)?).await?;
    Ok((db, alice, bob, mine))
}

/// Lists with `filter` under every sort and checks that exactly the tasks numbered
/// `expected` come back, in the sort's order, each as stored; and that the model agrees.
async fn assert_filter(
    tasks: &dyn TaskRepository,
    owner: UserId,
    all: &[Task],
    filter: TaskFilter,
    expected: &[u128],
) -> TestResult {
    let base = all.first().map_or(0, |t| t.id.as_uuid().as_u128() - 1);
    let want: Vec<Task> = all
        .iter()
        .filter(|t| expected.contains(&(t.id.as_uuid().as_u128() - base)))
        .cloned()
        .collect();
    assert_eq!(want.len(), expected.len(), "bad test: {expected:?}");
    let modelled: Vec<Task> = all
        .iter()
        .filter(|t| matches(t, &filter))
        .cloned()
        .collect();
    assert_eq!(
        ids(&modelled),
        ids(&want),
        "the model disagrees on {filter:?}"
    );
    for sort in every_sort() {
        let got = list(tasks, owner, &filter, sort).await?;
        let want = sorted(&want, sort);
        assert_eq!(
            ids(&got),
            ids(&want),
            "{filter:?} sorted by {}",
            label(sort)
        );
        assert_eq!(got, want, "{filter:?}: tasks must read back as stored");
    }
    Ok(())
}

fn q(text: &str) -> Result<TaskFilter, BoxError> {
    Ok(TaskFilter {
        q: Some(SearchText::parse(text)?),
        ..TaskFilter::default()
    })
}

fn tagged(tag: &str) -> Result<TaskFilter, BoxError> {
    Ok(TaskFilter {
        tag: Some(Tag::parse(tag)?),
        ..TaskFilter::default()
    })
}

/// `is_done`, `priority` and `tag` each keep exactly the matching tasks; tags match
/// case-insensitively (the domain folds them) and whole, not as prefixes.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_filters_by_done_state_priority_and_tag(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let (db, alice, _, all) = filter_setup(&backend).await?;
    let tasks = db.tasks();
    let tasks = &*tasks;
    assert_filter(
        tasks,
        alice,
        &all,
        TaskFilter::default(),
        &[1, 2, 3, 4, 5, 6, 7, 8],
    )
    .await?;
    let done = |d| TaskFilter {
        is_done: Some(d),
        ..TaskFilter::default()
    };
    assert_filter(tasks, alice, &all, done(true), &[2, 6]).await?;
    assert_filter(tasks, alice, &all, done(false), &[1, 3, 4, 5, 7, 8]).await?;
    let priority = |p| TaskFilter {
        priority: Some(p),
        ..TaskFilter::default()
    };
    assert_filter(tasks, alice, &all, priority(Priority::High), &[2, 4]).await?;
    assert_filter(tasks, alice, &all, priority(Priority::Low), &[1, 6]).await?;
    assert_filter(
        tasks,
        alice,
        &all,
        priority(Priority::Medium),
        &[3, 5, 7, 8],
    )
    .await?;
    for (tag, expected) in [
        ("work", &[2, 3][..]),
        (" WORK ", &[2, 3]),
        ("home", &[1, 6]),
        ("urgent", &[2]),
        ("STRAßE", &[8]),
        ("wor", &[]),
        ("nope", &[]),
    ] {
        assert_filter(tasks, alice, &all, tagged(tag)?, expected).await?;
    }
    Ok(())
}

/// `q` finds a case-insensitive substring of the title or the description, by Unicode lower
/// case (non-ASCII included), never across the two; `%`, `_` and `\` match themselves.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_filters_by_text_case_insensitively_and_literally(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let (db, alice, _, all) = filter_setup(&backend).await?;
    let tasks = db.tasks();
    let tasks = &*tasks;
    for (text, expected) in [
        ("milk", &[1][..]),
        ("MILK", &[1]),
        ("ÄRGER", &[2, 3]),
        ("ärger", &[2, 3]),
        ("Ärger", &[2, 3]),
        ("mit dem", &[2]),
        ("VERMEIDEN", &[3]),
        ("σοφια", &[8]),
        ("ΩΜΈΓΑ", &[8]),
        ("straße", &[8]),
        // LIKE's metacharacters are literal: unescaped, "%" and "_" would match everything,
        // "0%" would match "50 percent", "5_" would match "50", "e_c" would match "percent".
        ("%", &[4]),
        ("0%", &[4]),
        ("0% d", &[4]),
        ("_", &[5]),
        ("e_c", &[5]),
        ("5_", &[]),
        ("\\", &[6]),
        ("\\t", &[6]),
        ("c:\\temp", &[6]),
        ("k\\s", &[6]),
        // Title and description are searched separately.
        ("plaincontains", &[]),
        ("plain contains", &[]),
        ("plain", &[7]),
        ("percent", &[7]),
        ("nowhere", &[]),
    ] {
        assert_filter(tasks, alice, &all, q(text)?, expected).await?;
    }
    Ok(())
}

/// `due_before` and `due_after` are exclusive and never match an undated task.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_filters_by_due_dates_exclusively_leaving_out_undated_tasks(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let (db, alice, _, all) = filter_setup(&backend).await?;
    let tasks = db.tasks();
    let tasks = &*tasks;
    let due = |before: Option<DateTime<Utc>>, after: Option<DateTime<Utc>>| TaskFilter {
        due_before: before,
        due_after: after,
        ..TaskFilter::default()
    };
    let micro = chrono::Duration::microseconds(1);
    for (filter, expected) in [
        (due(Some(day(300)?), None), &[2, 3][..]),
        (due(Some(day(300)? + micro), None), &[2, 3, 4]),
        (due(Some(day(100)?), None), &[]),
        (due(Some(day(100)? + micro), None), &[2]),
        (due(None, Some(day(200)?)), &[4, 6]),
        (due(None, Some(day(200)? - micro)), &[3, 4, 6]),
        (due(None, Some(day(400)?)), &[]),
        (due(None, Some(day(400)? - micro)), &[6]),
        (due(Some(day(400)?), Some(day(100)?)), &[3, 4]),
        (due(Some(day(200)?), Some(day(200)?)), &[]),
        (due(Some(day(1_000_000)?), None), &[2, 3, 4, 6]),
        (due(None, Some(day(-1_000_000)?)), &[2, 3, 4, 6]),
        (
            due(Some(day(1_000_000)?), Some(day(-1_000_000)?)),
            &[2, 3, 4, 6],
        ),
    ] {
        assert_filter(tasks, alice, &all, filter, expected).await?;
    }
    Ok(())
}

/// Filters combine with AND; no filter ever shows another owner's tasks, and an owner
/// without tasks gets nothing whatever the filter.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_combines_filters_and_never_shows_other_owners_tasks(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let (db, alice, bob, all) = filter_setup(&backend).await?;
    let carol = registered(&db, 3).await?;
    let tasks = db.tasks();
    let tasks = &*tasks;
    let everything = TaskFilter {
        list_id: None,
        parent: None,
        assignee: None,
        is_done: Some(false),
        priority: Some(Priority::Medium),
        tag: Some(Tag::parse("work")?),
        q: Some(SearchText::parse("VERMEIDEN")?),
        due_before: Some(day(250)?),
        due_after: Some(day(150)?),
    };
    let cases = [
        (
            TaskFilter {
                is_done: Some(true),
                ..tagged("home")?
            },
            &[6][..],
        ),
        (
            TaskFilter {
                is_done: Some(false),
                ..tagged("work")?
            },
            &[3],
        ),
        (
            TaskFilter {
                priority: Some(Priority::High),
                due_before: Some(day(200)?),
                ..TaskFilter::default()
            },
            &[2],
        ),
        (
            TaskFilter {
                is_done: Some(false),
                tag: Some(Tag::parse("work")?),
                ..q("ärger")?
            },
            &[3],
        ),
        (
            TaskFilter {
                priority: Some(Priority::High),
                ..q("%")?
            },
            &[4],
        ),
        (
            TaskFilter {
                is_done: Some(true),
                priority: Some(Priority::Medium),
                ..TaskFilter::default()
            },
            &[],
        ),
        (
            TaskFilter {
                due_after: Some(day(0)?),
                ..tagged("home")?
            },
            &[6],
        ),
        (everything.clone(), &[3]),
        (
            TaskFilter {
                due_after: Some(day(200)?),
                ..everything.clone()
            },
            &[],
        ),
    ];
    // Bob's fixture as stored: at the positions storage placed his tasks at.
    let placed: HashMap<TaskId, String> = all_of(tasks, bob)
        .await?
        .into_iter()
        .map(|t| (t.id, t.position))
        .collect();
    let mut bobs = filter_fixture(bob, 100)?;
    for task in &mut bobs {
        task.position = placed
            .get(&task.id)
            .cloned()
            .ok_or("bob's task is missing")?;
    }
    for (filter, expected) in cases {
        assert_filter(tasks, alice, &all, filter.clone(), expected).await?;
        assert_filter(tasks, bob, &bobs, filter.clone(), expected).await?;
        for sort in every_sort() {
            assert_eq!(list(tasks, carol, &filter, sort).await?, vec![]);
        }
    }
    Ok(())
}

// --- sorts ---------------------------------------------------------------------------------

/// Every sort field in both directions, with ties in every field: the order is the model's,
/// ties broken by id in the sort's direction, undated tasks last both ways; pinned by
/// explicit orders for `created_at` and `due_at`.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_sorts_by_every_field_both_ways_with_ties_broken_by_id(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (owner, other) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let tasks = db.tasks();
    let at = |ms: i64| t(ms * 1_000);
    // (id, title, created, updated, due, priority), inserted in this order.
    let rows = [
        (0x50, "apple", 1, 2, Some(1), Priority::Low),
        (0x10, "Äpfel", 1, 1, None, Priority::High),
        (0x40, "Banana", 2, 2, Some(2), Priority::Medium),
        (0x20, "zebra", 1, 3, Some(1), Priority::High),
        (0x30, "Été", 3, 1, None, Priority::Low),
        (0x60, "Apple", 2, 3, Some(2), Priority::Medium),
        (0x05, "ZEBRA", 3, 2, None, Priority::High),
        (0x70, "banana split", 0, 1, Some(0), Priority::Low),
        (0x08, "Zulu", 2, 0, Some(1), Priority::Medium),
    ];
    let mut all = Vec::new();
    for (n, title, created, updated, due, priority) in rows {
        let mut task = Task {
            created_at: at(created)?,
            updated_at: at(updated)?,
            due_at: due.map(day).transpose()?,
            priority,
            tags: Tags::parse(&[format!("t{n}")])?,
            ..task(owner, n, title)?
        };
        tasks.insert_placed(&mut task, None).await?;
        all.push(task);
    }
    // Another owner's task that would sort first in every order.
    tasks
        .insert(
            Task {
                created_at: at(-1)?,
                updated_at: at(-1)?,
                due_at: Some(day(-1)?),
                priority: Priority::Low,
                ..task(other, 0x01, "a")?
            },
            None,
        )
        .await?;

    for sort in every_sort() {
        let got = list(&*tasks, owner, &TaskFilter::default(), sort).await?;
        let want = sorted(&all, sort);
        assert_eq!(ids(&got), ids(&want), "sorted by {}", label(sort));
        assert_eq!(got, want);
    }

    let by = |field, descending| TaskSort { field, descending };
    let pinned = [
        (
            by(TaskSortField::CreatedAt, false),
            vec![0x70, 0x10, 0x20, 0x50, 0x08, 0x40, 0x60, 0x05, 0x30],
        ),
        (
            by(TaskSortField::CreatedAt, true),
            vec![0x30, 0x05, 0x60, 0x40, 0x08, 0x50, 0x20, 0x10, 0x70],
        ),
        (
            by(TaskSortField::DueAt, false),
            vec![0x70, 0x08, 0x20, 0x50, 0x40, 0x60, 0x05, 0x10, 0x30],
        ),
        (
            by(TaskSortField::DueAt, true),
            vec![0x60, 0x40, 0x50, 0x20, 0x08, 0x70, 0x30, 0x10, 0x05],
        ),
        (
            by(TaskSortField::Priority, false),
            vec![0x30, 0x50, 0x70, 0x08, 0x40, 0x60, 0x05, 0x10, 0x20],
        ),
        (
            by(TaskSortField::Title, false),
            vec![0x50, 0x60, 0x40, 0x70, 0x05, 0x20, 0x08, 0x10, 0x30],
        ),
        (
            by(TaskSortField::Title, true),
            vec![0x30, 0x10, 0x08, 0x20, 0x05, 0x70, 0x40, 0x60, 0x50],
        ),
    ];
    for (sort, expected) in pinned {
        let got = list(&*tasks, owner, &TaskFilter::default(), sort).await?;
        assert_eq!(ids(&got), expected, "sorted by {}", label(sort));
    }
    Ok(())
}

/// Titles sort by their Unicode lower case compared by code point (`TaskTitle::sort_key`),
/// identically on every backend: "Äpfel" and "Été" after "zebra", whatever the database's
/// collation would say.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn titles_sort_by_unicode_lower_case_as_code_points(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    let titles = [
        "apple", "Äpfel", "Banana", "zebra", "Été", "Zulu", "éclair", "ÄPFEL", "a", "Ωmega", "ß",
        "ss", "Z",
    ];
    let mut all = Vec::new();
    for (n, title) in (1u128..).zip(titles) {
        // Ids descending against the titles, so that ties cannot pass by insertion order.
        let mut task = task(owner, 100 - n, title)?;
        tasks.insert_placed(&mut task, None).await?;
        all.push(task);
    }
    let asc = TaskSort {
        field: TaskSortField::Title,
        descending: false,
    };
    let got = list(&*tasks, owner, &TaskFilter::default(), asc).await?;
    let mut want = all.clone();
    want.sort_by_key(|t| (t.title.sort_key(), t.id));
    assert_eq!(got, want);
    let shown: Vec<&str> = got.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(
        shown,
        [
            "a", "apple", "Banana", "ss", "Z", "zebra", "Zulu", "ß", "ÄPFEL", "Äpfel", "éclair",
            "Été", "Ωmega"
        ]
    );
    let desc = TaskSort {
        descending: true,
        ..asc
    };
    let got = list(&*tasks, owner, &TaskFilter::default(), desc).await?;
    want.reverse();
    assert_eq!(got, want);
    Ok(())
}

// --- keyset pages --------------------------------------------------------------------------

/// A deterministic pseudo-random sequence (xorshift64*), so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        &items[i]
    }
}

/// A task with values drawn from small pools, so that every sort key has many ties (and
/// about a third of the tasks are undated). `serial` makes the id unique; its high bits are
/// random, so that id order is unrelated to creation.
fn varied_task(owner: UserId, serial: u64, rng: &mut Rng) -> Result<Task, BoxError> {
    const TITLES: [&str; 10] = [
        "Same", "same", "SAME", "Äpfel", "apple", "Été", "zebra", "Zebra", "b", "Ärger",
    ];
    let ms = |n: u64| -> Result<DateTime<Utc>, BoxError> { t(i64::try_from(n)? * 1_000) };
    let is_done = rng.below(2) == 0;
    let created_at = ms(rng.below(5))?;
    Ok(Task {
        id: TaskId::from_uuid(Uuid::from_u128(
            (u128::from(rng.next()) << 64) | u128::from(serial),
        )),
        list_id: ListId::inbox_of(owner),
        parent_id: None,
        position: "0".into(),
        created_by: owner,
        assignee_id: None,
        title: TaskTitle::parse(rng.pick::<&str>(&TITLES))?,
        description: Description::parse(format!("task {serial}"))?,
        is_done,
        completed_at: is_done.then_some(created_at),
        priority: Priority::from_rank(i16::try_from(rng.below(3))?)?,
        due_at: match rng.below(6) {
            0..=1 => None,
            k => Some(day(i64::try_from(k)?)?),
        },
        tags: Tags::parse(&[if serial.is_multiple_of(2) {
            "even"
        } else {
            "odd"
        }])?,
        created_at,
        updated_at: ms(rng.below(3))?,
        version: 1,
    })
}

/// Pages through `owner`'s tasks as the service does: asks for one more than `size`, shows
/// `size`, and continues after the last one shown with `TaskCursor::after`.
async fn walk(
    tasks: &dyn TaskRepository,
    owner: UserId,
    filter: &TaskFilter,
    sort: TaskSort,
    size: u16,
) -> Result<Vec<Vec<Task>>, BoxError> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let query = TaskListQuery {
            filter: filter.clone(),
            sort,
            size: PageSize::new(i64::from(size))?,
            after: after.take(),
        };
        let mut items = tasks
            .list_for_member(owner, query, u32::from(size) + 1)
            .await?;
        let more = items.len() > usize::from(size);
        items.truncate(usize::from(size));
        if more {
            after = items.last().map(|last| TaskCursor::after(last, sort));
        }
        pages.push(items);
        if !more {
            return Ok(pages);
        }
        if pages.len() > 10_000 {
            return Err("the walk does not end".into());
        }
    }
}

/// Walks of every page size visit every task exactly once, in order, for every sort order
/// (`due_at` across the dated/undated boundary in both directions, at every page boundary).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keyset_pages_visit_every_task_once_in_order_for_every_sort(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (owner, other) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let tasks = db.tasks();
    let mut rng = Rng(0x5eed_0001);
    let mut all = Vec::new();
    for serial in 0..25 {
        let mut task = varied_task(owner, serial, &mut rng)?;
        tasks.insert_placed(&mut task, None).await?;
        all.push(task);
    }
    for serial in 25..30 {
        tasks
            .insert(varied_task(other, serial, &mut rng)?, None)
            .await?;
    }
    let undated = all.iter().filter(|t| t.due_at.is_none()).count();
    assert!((3..22).contains(&undated), "bad fixture: {undated} undated");

    for sort in every_sort() {
        let want = sorted(&all, sort);
        for size in [1, 2, 3, 4, 7, 24, 25, 100] {
            let pages = walk(&*tasks, owner, &TaskFilter::default(), sort, size).await?;
            let (last, full) = pages.split_last().ok_or("no page")?;
            assert!(
                full.iter().all(|p| p.len() == usize::from(size))
                    && last.len() <= usize::from(size),
                "page sizes {:?} for size {size}",
                pages.iter().map(Vec::len).collect::<Vec<_>>()
            );
            let seen: Vec<Task> = pages.into_iter().flatten().collect();
            assert_eq!(
                ids(&seen),
                ids(&want),
                "sorted by {}, {size} a page",
                label(sort)
            );
            assert_eq!(seen, want);
        }
    }
    Ok(())
}

/// Walks with filters visit every matching task exactly once, in order, for every sort.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keyset_pages_with_filters_visit_every_match_once(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    let mut rng = Rng(0x5eed_0002);
    let mut all = Vec::new();
    for serial in 0..30 {
        let mut task = varied_task(owner, serial, &mut rng)?;
        tasks.insert_placed(&mut task, None).await?;
        all.push(task);
    }
    let filters = [
        TaskFilter {
            is_done: Some(false),
            ..TaskFilter::default()
        },
        TaskFilter {
            priority: Some(Priority::High),
            ..TaskFilter::default()
        },
        tagged("even")?,
        q("SAME")?,
        q("ä")?,
        TaskFilter {
            due_after: Some(day(2)?),
            ..TaskFilter::default()
        },
        TaskFilter {
            due_before: Some(day(5)?),
            ..TaskFilter::default()
        },
        TaskFilter {
            is_done: Some(true),
            tag: Some(Tag::parse("odd")?),
            due_before: Some(day(100)?),
            ..TaskFilter::default()
        },
    ];
    for filter in &filters {
        let matching: Vec<Task> = all.iter().filter(|t| matches(t, filter)).cloned().collect();
        assert!(
            matching.len() >= 3 && matching.len() < all.len(),
            "bad fixture: {} match {filter:?}",
            matching.len()
        );
        for sort in every_sort() {
            let want = sorted(&matching, sort);
            for size in [1, 3] {
                let seen: Vec<Task> = walk(&*tasks, owner, filter, sort, size)
                    .await?
                    .into_iter()
                    .flatten()
                    .collect();
                assert_eq!(
                    ids(&seen),
                    ids(&want),
                    "{filter:?} sorted by {}, {size} a page",
                    label(sort)
                );
            }
        }
    }
    Ok(())
}

/// What a walk under churn must satisfy: consecutive items strictly in order, no id twice.
fn assert_ordered_without_repeats(seen: &[Task], sort: TaskSort) -> TestResult {
    let mut ids_seen = HashSet::new();
    for task in seen {
        if !ids_seen.insert(task.id) {
            return Err(format!("{} seen twice sorted by {}", task.id, label(sort)).into());
        }
    }
    for pair in seen.windows(2) {
        if compare(&pair[0], &pair[1], sort) != Order::Less {
            return Err(format!(
                "out of order sorted by {}: {} then {}",
                label(sort),
                pair[0].id,
                pair[1].id
            )
            .into());
        }
    }
    Ok(())
}

/// Between every two pages a client fetches, another request deletes a task and inserts
/// three (one tying the cursor's task in every field): for every sort, every task present
/// for the whole walk is seen exactly once, nothing twice, and precisely the tasks that sort
/// after the cursor at the time of the change are affected (a task inserted ahead is seen, one
/// behind is not; a task deleted ahead is not seen).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keyset_pages_stay_exact_while_tasks_come_and_go_between_pages(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tasks = db.tasks();
    let mut rng = Rng(0x5eed_0003);
    let mut serial = 0u64;
    for (i, sort) in (10u128..).zip(every_sort()) {
        let owner = registered(&db, i).await?;
        let mut present: HashMap<TaskId, Task> = HashMap::new();
        let mut doomed: Vec<TaskId> = Vec::new();
        for k in 0..24 {
            serial += 1;
            let mut task = varied_task(owner, serial, &mut rng)?;
            tasks.insert_placed(&mut task, None).await?;
            if k % 3 == 0 {
                doomed.push(task.id);
            }
            present.insert(task.id, task);
        }
        // Ids a correct walk must show, and ids it must not.
        let mut must: HashSet<TaskId> = present.keys().copied().collect();
        let mut must_not: HashSet<TaskId> = HashSet::new();

        let size = 3u16;
        let mut seen: Vec<Task> = Vec::new();
        let mut after: Option<TaskCursor> = None;
        loop {
            let query = TaskListQuery {
                sort,
                size: PageSize::new(i64::from(size))?,
                after: after.take(),
                ..TaskListQuery::default()
            };
            let mut items = tasks
                .list_for_member(owner, query, u32::from(size) + 1)
                .await?;
            let more = items.len() > usize::from(size);
            items.truncate(usize::from(size));
            seen.extend(items.iter().cloned());
            let Some(last) = items.last().filter(|_| more).cloned() else {
                break;
            };
            after = Some(TaskCursor::after(&last, sort));
            if seen.len() > 1_000 {
                return Err("the walk does not end".into());
            }

            // Another client deletes a task, ahead of the cursor or behind it...
            if !doomed.is_empty() {
                let i = usize::try_from(rng.below(doomed.len() as u64))?;
                let gone = doomed.swap_remove(i);
                let task = present.remove(&gone).ok_or("doomed task unknown")?;
                assert_eq!(
                    tasks.delete_if_version(owner, gone, None).await?,
                    DeleteOutcome::Deleted
                );
                if compare(&task, &last, sort) == Order::Greater {
                    must.remove(&gone);
                    must_not.insert(gone);
                }
            }
            // ...and inserts tasks: two anywhere, one tying the cursor's task in every field.
            for tie in [false, false, true] {
                serial += 1;
                let mut task = varied_task(owner, serial, &mut rng)?;
                if tie {
                    task = Task {
                        id: task.id,
                        description: task.description,
                        ..last.clone()
                    };
                }
                tasks.insert_placed(&mut task, None).await?;
                if compare(&task, &last, sort) == Order::Greater {
                    must.insert(task.id);
                } else {
                    must_not.insert(task.id);
                }
                present.insert(task.id, task);
            }
        }
        assert_ordered_without_repeats(&seen, sort)?;
        let seen_ids: HashSet<TaskId> = seen.iter().map(|t| t.id).collect();
        let missed: Vec<_> = must.difference(&seen_ids).collect();
        let wrongly: Vec<_> = must_not.intersection(&seen_ids).collect();
        assert!(
            missed.is_empty() && wrongly.is_empty(),
            "sorted by {}: missed {missed:?}, saw {wrongly:?} that should not be seen",
            label(sort)
        );
        assert_eq!(seen_ids, must, "sorted by {}", label(sort));
    }
    Ok(())
}

/// While a client pages through (two tasks a page), another task concurrently inserts and
/// deletes tasks: for every sort, every task present for the whole walk is seen exactly once,
/// none is seen twice, the order holds, and only tasks that existed at some point are seen.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keyset_pages_stay_exact_under_concurrent_inserts_and_deletes(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tasks = db.tasks();
    for (i, sort) in (10u128..).zip(every_sort()) {
        let owner = registered(&db, i).await?;
        let mut rng = Rng(0x5eed_0100 + u64::try_from(i)?);
        let mut stable = HashSet::new();
        let mut doomed = Vec::new();
        let known: Arc<Mutex<HashSet<TaskId>>> = Arc::new(Mutex::new(HashSet::new()));
        for k in 0..30 {
            let mut task = varied_task(owner, 1_000 * u64::try_from(i)? + k, &mut rng)?;
            tasks.insert_placed(&mut task, None).await?;
            known.lock().map_err(|_| "poisoned")?.insert(task.id);
            if k % 3 == 0 {
                doomed.push(task.id);
            } else {
                stable.insert(task.id);
            }
        }

        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (tasks, known, stop) = (Arc::clone(&tasks), Arc::clone(&known), Arc::clone(&stop));
            let mut rng = Rng(rng.next() | 1);
            tokio::spawn(async move {
                let mut inserted = Vec::new();
                let mut operations = 0u32;
                for n in 0..40u64 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let mut task = varied_task(owner, 1_000 * 1_000 + 100 * n, &mut rng)?;
                    known.lock().map_err(|_| "poisoned")?.insert(task.id);
                    tasks.insert_placed(&mut task, None).await?;
                    inserted.push(task.id);
                    operations += 1;
                    // Delete a doomed task, or one of those just inserted.
                    let gone = if n % 2 == 0 {
                        doomed.pop()
                    } else {
                        inserted.pop()
                    };
                    if let Some(gone) = gone {
                        tasks.delete_if_version(owner, gone, None).await?;
                        operations += 1;
                    }
                    tokio::task::yield_now().await;
                }
                Ok::<_, BoxError>(operations)
            })
        };

        let size = 2u16;
        let mut seen: Vec<Task> = Vec::new();
        let mut after: Option<TaskCursor> = None;
        loop {
            let query = TaskListQuery {
                sort,
                size: PageSize::new(i64::from(size))?,
                after: after.take(),
                ..TaskListQuery::default()
            };
            let mut items = tasks
                .list_for_member(owner, query, u32::from(size) + 1)
                .await?;
            let more = items.len() > usize::from(size);
            items.truncate(usize::from(size));
            seen.extend(items.iter().cloned());
            let Some(last) = items.last().filter(|_| more) else {
                break;
            };
            after = Some(TaskCursor::after(last, sort));
            if seen.len() > 1_000 {
                return Err("the walk does not end".into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        stop.store(true, Ordering::SeqCst);
        let operations = writer.await??;
        assert!(operations > 0, "the writer never ran");

        assert_ordered_without_repeats(&seen, sort)?;
        let seen_ids: HashSet<TaskId> = seen.iter().map(|t| t.id).collect();
        let missed: Vec<_> = stable.difference(&seen_ids).collect();
        assert!(
            missed.is_empty(),
            "sorted by {}: tasks present all along were missed: {missed:?}",
            label(sort)
        );
        let known = known.lock().map_err(|_| "poisoned")?;
        assert!(
            seen_ids.is_subset(&known),
            "sorted by {}: unknown tasks seen",
            label(sort)
        );
    }
    Ok(())
}

// --- query plans ---------------------------------------------------------------------------

/// What is wrong with an SQLite plan (`EXPLAIN QUERY PLAN` details, every phase's), if
/// anything: a full scan of `tasks` (or of `task_tags`), a search of `tasks` not led by the
/// owner, or a sort of the rows (`USE TEMP B-TREE …`) instead of reading them in index order.
///
/// One sort is legitimate: with `due_before`/`due_after` and a sort order other than
/// `due_at` (`due_range_and_other_order`), no index gives both the range and the order, and
/// SQLite (without statistics, as the service runs it) prefers seeking the due-date range
/// of `(list_id, due_at, id)` and sorting what it finds over reading the owner's tasks in
/// order and filtering them. Either plan is bounded by the owner and neither scans `tasks`,
/// so the sort is accepted there, and only there, when the search is that range.
fn sqlite_plan_problems(plan: &[String], due_range_and_other_order: bool) -> Vec<String> {
    let searches_due_range = plan
        .iter()
        .filter(|line| line.starts_with("SEARCH tasks "))
        .all(|line| {
            line.contains("USING INDEX tasks_list_due_at_id (list_id=? AND due_at")
                && (line.contains("due_at<?") || line.contains("due_at>?"))
        });
    let mut problems = Vec::new();
    for line in plan {
        if line.starts_with("SCAN tasks") || line.starts_with("SCAN task_tags") {
            problems.push(format!("full scan: {line}"));
        }
        if line.starts_with("SEARCH tasks ") && !line.contains("(list_id=?") {
            problems.push(format!("not bounded by the list: {line}"));
        }
        if line.contains("USE TEMP B-TREE") && !(due_range_and_other_order && searches_due_range) {
            problems.push(format!("sorts: {line}"));
        }
    }
    if !plan.iter().any(|line| line.starts_with("SEARCH tasks ")) {
        problems.push("no index search of tasks".into());
    }
    problems
}

/// What is wrong with a PostgreSQL plan (`EXPLAIN` lines, every phase's, planned with
/// sequential scans, sorts and bitmap scans disabled), if anything: a sequential scan, a
/// sort node, or a scan of `tasks` whose index condition does not bound it to the owner (a
/// full index scan, e.g. of the primary key for its order, filtering by owner as it goes).
///
/// The tag filter's `EXISTS` may be planned as a semi-join or a (memoized) nested loop:
/// either is fine as long as `task_tags` is probed by `task_id` through an index; filters
/// on `q`, `is_done`, `priority` and due dates may appear as `Filter:` lines of the owner's
/// index scan.
fn postgres_plan_problems(plan: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut scans_of_tasks = 0;
    for (i, line) in plan.iter().enumerate() {
        if line.contains("Seq Scan") {
            problems.push(format!("sequential scan: {}", line.trim()));
        }
        if line.contains("Sort") {
            problems.push(format!("sorts: {}", line.trim()));
        }
        let condition = plan.get(i + 1).map_or("", |next| next.trim());
        if line.contains(" on tasks ") {
            scans_of_tasks += 1;
            if !(condition.starts_with("Index Cond:") && condition.contains("list_id = ")) {
                problems.push(format!(
                    "scan of tasks not bounded by owner: {} / {condition}",
                    line.trim()
                ));
            }
        }
        if line.contains(" on task_tags ")
            && !(condition.starts_with("Index Cond:") && condition.contains("task_id = "))
        {
            problems.push(format!(
                "scan of task_tags not by task: {} / {condition}",
                line.trim()
            ));
        }
    }
    if scans_of_tasks == 0 {
        problems.push("no scan of tasks".into());
    }
    problems
}

/// Each list query is served by an index on both backends. The default listing,
/// every sort in both directions, a page after a cursor for each (for `due_at`: after a
/// dated and after an undated task), every filter, and all filters at once under every sort,
/// are planned without a full scan of `tasks` and without sorting (but for the one sort
/// [`sqlite_plan_problems`] explains). Every plan is printed (`--nocapture` shows them).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_listing_query_is_served_by_an_index(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    // Cursors come from real tasks; a few rows of another owner make the tables non-trivial.
    let dated = Task {
        due_at: Some(day(5)?),
        tags: Tags::parse(&["work"])?,
        ..task(owner, 1, "Äpfel kaufen")?
    };
    let undated = Task {
        tags: Tags::parse(&["home"])?,
        ..task(owner, 2, "Zebra")?
    };
    let mut both = [dated, undated];
    insert_all(&*tasks, &mut both).await?;
    let [dated, undated] = both;
    let other = registered(&db, 2).await?;
    let mut rng = Rng(0x5eed_0004);
    for serial in 10..40 {
        tasks
            .insert(varied_task(other, serial, &mut rng)?, None)
            .await?;
    }

    let everything = TaskFilter {
        list_id: None,
        parent: None,
        assignee: Some(None),
        is_done: Some(false),
        priority: Some(Priority::High),
        tag: Some(Tag::parse("work")?),
        q: Some(SearchText::parse("äpfel 10%_")?),
        due_before: Some(day(10)?),
        due_after: Some(day(1)?),
    };
    let mut cases: Vec<(String, TaskListQuery)> =
        vec![("default".into(), TaskListQuery::default())];
    for sort in every_sort() {
        let name = label(sort);
        let sorted = TaskListQuery {
            sort,
            ..TaskListQuery::default()
        };
        cases.push((format!("sort={name}"), sorted.clone()));
        cases.push((
            format!("sort={name} after a dated task"),
            TaskListQuery {
                after: Some(TaskCursor::after(&dated, sort)),
                ..sorted.clone()
            },
        ));
        if sort.field == TaskSortField::DueAt {
            cases.push((
                format!("sort={name} after an undated task"),
                TaskListQuery {
                    after: Some(TaskCursor::after(&undated, sort)),
                    ..sorted.clone()
                },
            ));
        }
        cases.push((
            format!("sort={name} with every filter"),
            TaskListQuery {
                filter: everything.clone(),
                ..sorted
            },
        ));
    }
    let filters = [
        (
            "is_done=false",
            TaskFilter {
                is_done: Some(false),
                ..TaskFilter::default()
            },
        ),
        (
            "priority=high",
            TaskFilter {
                priority: Some(Priority::High),
                ..TaskFilter::default()
            },
        ),
        ("tag=work", tagged("work")?),
        ("q=äpfel", q("äpfel")?),
        (
            "due_before",
            TaskFilter {
                due_before: Some(day(10)?),
                ..TaskFilter::default()
            },
        ),
        (
            "due_after",
            TaskFilter {
                due_after: Some(day(1)?),
                ..TaskFilter::default()
            },
        ),
    ];
    for (name, filter) in filters {
        cases.push((
            name.into(),
            TaskListQuery {
                filter,
                ..TaskListQuery::default()
            },
        ));
    }
    // Siblings in their order, of the top level and of a parent, both ways, after a cursor,
    // and the parent filters under the default order.
    let inbox = Some(ListId::inbox_of(owner));
    for (parent_name, parent) in [("none", None), ("a task", Some(dated.id))] {
        for descending in [false, true] {
            let sort = TaskSort {
                field: TaskSortField::Position,
                descending,
            };
            let siblings = TaskListQuery {
                filter: TaskFilter {
                    list_id: inbox,
                    parent: Some(parent),
                    ..TaskFilter::default()
                },
                sort,
                ..TaskListQuery::default()
            };
            cases.push((
                format!("list_id, parent_id={parent_name}, sort={}", label(sort)),
                siblings.clone(),
            ));
            cases.push((
                format!(
                    "list_id, parent_id={parent_name}, sort={} after a task",
                    label(sort)
                ),
                TaskListQuery {
                    after: Some(TaskCursor::after(&undated, sort)),
                    ..siblings
                },
            ));
        }
        cases.push((
            format!("parent_id={parent_name}"),
            TaskListQuery {
                filter: TaskFilter {
                    parent: Some(parent),
                    ..TaskFilter::default()
                },
                ..TaskListQuery::default()
            },
        ));
    }

    let backend_name = db.backend_name();
    let mut failures = Vec::new();
    let mut plans = String::new();
    for (name, query) in cases {
        let due_range_and_other_order = (query.filter.due_before.is_some()
            || query.filter.due_after.is_some())
            && query.sort.field != TaskSortField::DueAt;
        let explaining = db.clone();
        let plan =
            tokio::task::spawn_blocking(move || explaining.explain_task_listing(owner, query, 51))
                .await??;
        let problems = match backend_name {
            "sqlite" => sqlite_plan_problems(&plan, due_range_and_other_order),
            "postgres" => postgres_plan_problems(&plan),
            other => vec![format!("no plan check for backend {other}")],
        };
        let shown = format!("{name}:\n    {}\n", plan.join("\n    "));
        plans.push_str(&shown);
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {}\n    {}",
                problems.join("; "),
                plan.join("\n    ")
            ));
        }
    }
    // Every plan, for whoever runs this with --nocapture.
    eprintln!("{backend_name} listing plans:\n{plans}");
    assert!(
        failures.is_empty(),
        "{} listing queries on {backend_name} are not served by an index:\n{}",
        failures.len(),
        failures.join("\n")
    );
    Ok(())
}

/// A sort order as the messages of these tests name it (`-due_at`).
fn label(sort: TaskSort) -> String {
    let field = match sort.field {
        TaskSortField::CreatedAt => "created_at",
        TaskSortField::UpdatedAt => "updated_at",
        TaskSortField::DueAt => "due_at",
        TaskSortField::Priority => "priority",
        TaskSortField::Title => "title",
        TaskSortField::Position => "position",
    };
    format!("{}{field}", if sort.descending { "-" } else { "" })
}

/// `q` of three or more characters is looked up in the engine's search index: SQLite's
/// FTS5 trigram table (once, as a list the owner's rows are checked against, the owner's
/// index still giving the order) and PostgreSQL's pg_trgm GIN index, which its planner
/// chooses by itself once the owner has many long tasks of which few match (reading them
/// all would cost more pages). Shorter texts, which
/// no trigram index serves, are matched without it.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn q_is_looked_up_in_the_search_index(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    insert_all(&*tasks, &mut [task(owner, 1, "Find the needle")?]).await?;
    let backend_name = db.backend_name();
    if backend_name == "postgres" {
        // Many long tasks, one of which matches, and fresh statistics: the planner's own
        // choice.
        let mut conn = db.hold_connection()?;
        conn.execute_sql(&format!(
            "INSERT INTO tasks (id, created_by, list_id, position, title, description, priority, \
             created_at, updated_at, title_key, search_key) \
             SELECT gen_random_uuid(), '{owner}', '{owner}', n::text, 'hay ' || n, repeat('stack of hay ', 100), \
             1, now(), now(), 'hay ' || n, 'hay ' || n || chr(1) || repeat('stack of hay ', 100) \
             FROM generate_series(1, 3000) AS n; ANALYZE tasks",
            owner = owner.as_uuid()
        ))?;
    }
    let plan_of = |text: &str| -> Result<Vec<String>, BoxError> {
        let query = TaskListQuery {
            filter: q(text)?,
            ..TaskListQuery::default()
        };
        let plan = db.explain_task_listing_as_planned(owner, query, 51)?;
        Ok(plan)
    };
    let uses_index = |plan: &[String]| match backend_name {
        "sqlite" => plan
            .iter()
            .any(|line| line.contains("task_search VIRTUAL TABLE")),
        _ => plan
            .iter()
            .any(|line| line.contains("tasks_search_key_trgm")),
    };
    // SQLite always takes the index for three or more characters; PostgreSQL's planner
    // weighs its estimate of the matches, which for a short text like "nee" it guesses high.
    let texts: &[&str] = match backend_name {
        "sqlite" => &["needle", "NEE", "\"quoted\" text", "äpfel"],
        _ => &["needle", "the NEEDLE"],
    };
    for &text in texts {
        let plan = tokio::task::block_in_place(|| plan_of(text))?;
        assert!(
            uses_index(&plan),
            "q={text} on {backend_name} does not use the search index:\n    {}",
            plan.join("\n    ")
        );
        if backend_name == "sqlite" {
            let problems = sqlite_plan_problems(&plan, false);
            assert!(
                problems.is_empty(),
                "q={text}: {problems:?}\n    {}",
                plan.join("\n    ")
            );
        }
    }
    if backend_name == "sqlite" {
        let plan = tokio::task::block_in_place(|| plan_of("ne"))?;
        assert!(
            !uses_index(&plan),
            "a two-character q cannot use a trigram index:\n    {}",
            plan.join("\n    ")
        );
    }
    let found = list(&*tasks, owner, &q("NEEDLE")?, TaskSort::default()).await?;
    assert_eq!(ids(&found), vec![1]);
    Ok(())
}

/// The search index follows every change: a task is found by its new text after an update
/// and not by its old one, by neither after it is deleted, and not after its owner is
/// deleted (the cascade), on keyset pages as in one.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_search_index_follows_updates_and_deletes(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let tasks = db.tasks();
    let mut all: Vec<Task> = (1..=5)
        .map(|n| task(owner, n, &format!("Alpha task {n}")))
        .collect::<Result<_, _>>()?;
    insert_all(&*tasks, &mut all).await?;
    let found = |text: &'static str| {
        let tasks = tasks.clone();
        async move {
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let query = TaskListQuery {
                    filter: q(text)?,
                    after,
                    ..TaskListQuery::default()
                };
                let page = tasks.list_for_member(owner, query, 2).await?;
                let Some(last) = page.last() else { break };
                after = Some(TaskCursor::after(last, TaskSort::default()));
                seen.extend(ids(&page));
            }
            Ok::<_, BoxError>(seen)
        }
    };
    assert_eq!(found("alpha").await?, vec![1, 2, 3, 4, 5]);

    let mut renamed = changes_of(&all[1]);
    renamed.title = TaskTitle::parse("Omega")?;
    renamed.description = Description::parse("now about öl".to_owned())?;
    let outcome = tasks
        .update_with(
            owner,
            all[1].id,
            Box::new(move |_: &Task, _| UpdateDecision::Write(renamed, Utc::now())),
        )
        .await?;
    assert!(matches!(outcome, UpdateOutcome::Updated(_)), "{outcome:?}");
    assert_eq!(found("alpha").await?, vec![1, 3, 4, 5]);
    assert_eq!(found("omega").await?, vec![2]);
    assert_eq!(found("ÖL").await?, vec![2]);

    let deleted = tasks.delete_if_version(owner, all[2].id, None).await?;
    assert_eq!(deleted, DeleteOutcome::Deleted);
    assert_eq!(found("alpha").await?, vec![1, 4, 5]);

    db.users().delete(owner).await?;
    assert_eq!(found("alpha").await?, Vec::<u128>::new());
    assert_eq!(found("omega").await?, Vec::<u128>::new());
    Ok(())
}

/// The search bomb: an owner's few hundred tasks whose long texts compress to almost
/// nothing (so that reading them all looks cheap to PostgreSQL's planner, which prices
/// `LIKE` as one cheap operator per row whatever the text) and a long pattern that takes
/// seconds to match against all of them. The listing still asks the search index, which
/// finds nothing to match at all.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_search_bomb_is_looked_up_in_the_index(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let bomber = registered(&db, 1).await?;
    let tasks = db.tasks();
    insert_all(&*tasks, &mut [task(bomber, 1, "Only a title")?]).await?;
    if db.backend_name() == "postgres" {
        let other = registered(&db, 2).await?;
        let mut conn = db.hold_connection()?;
        conn.execute_sql(&format!(
            "INSERT INTO tasks (id, created_by, list_id, position, title, description, priority, \
             created_at, updated_at, title_key, search_key) \
             SELECT gen_random_uuid(), '{bomber}', '{bomber}', n::text, 'bomb ' || n, repeat('a', 10000), 1, \
             now(), now(), 'bomb ' || n, 'bomb ' || n || chr(1) || repeat('a', 10000) \
             FROM generate_series(1, 500) AS n; \
             INSERT INTO tasks (id, created_by, list_id, position, title, priority, created_at, \
             updated_at, title_key, search_key) \
             SELECT gen_random_uuid(), '{other}', '{other}', n::text, 'other ' || n, 1, now(), now(), \
             'other ' || n, 'other ' || n || chr(1) \
             FROM generate_series(1, 2000) AS n; ANALYZE tasks",
            bomber = bomber.as_uuid(),
            other = other.as_uuid()
        ))?;
    }
    let pattern = format!("{}b", "a".repeat(199));
    let query = TaskListQuery {
        filter: q(&pattern)?,
        ..TaskListQuery::default()
    };
    let explained = query.clone();
    let plan =
        tokio::task::block_in_place(|| db.explain_task_listing_as_planned(bomber, explained, 51))?;
    let index = match db.backend_name() {
        "sqlite" => "task_search VIRTUAL TABLE",
        _ => "tasks_search_key_trgm",
    };
    assert!(
        plan.iter().any(|line| line.contains(index)),
        "the search bomb does not use the search index:\n    {}",
        plan.join("\n    ")
    );
    assert!(tasks.list_for_member(bomber, query, 51).await?.is_empty());
    Ok(())
}

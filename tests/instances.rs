//! Many instances on one PostgreSQL database: two real `taskapi serve` processes share a
//! fresh database on the server `TASKAPI_TEST_DATABASE_URL` names. A token issued by one is
//! accepted by the other, what one writes the other reads, concurrent writes through
//! both lose nothing, and a reader of the change feed through one misses none of them.
//! Skipped (with one line saying so) when the variable is unset; fails when it is set and
//! the server cannot be reached.

// Tests report failures by panicking; unwrapping is how a test says "this must work".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Api, Response, Taskapi, postgres_database, string};

/// Longest a start-up may take (both instances migrate the same database together).
const STARTUP: Duration = Duration::from_secs(30);
/// Concurrent PATCHes of one task, split evenly over the two instances.
const CONTENDED_PATCHES: usize = 20;

/// The ids of `GET /tasks`, asserting it answered 200.
fn listed_ids(api: Api, token: &str) -> Vec<String> {
    let list = api
        .call("GET", "/tasks", Some(token), None)
        .json_with_status(200);
    list.as_array()
        .unwrap_or_else(|| panic!("GET /tasks is an array: {list}"))
        .iter()
        .map(|task| string(&task["id"]))
        .collect()
}

/// Sends every `(instance, body)` PATCH of `/tasks/{id}` at once, one thread each, and
/// returns the responses in order.
fn patch_all_at_once(id: &str, token: &str, patches: &[(Api, Value)]) -> Vec<Response> {
    let barrier = Barrier::new(patches.len());
    let path = format!("/tasks/{id}");
    thread::scope(|scope| {
        let handles: Vec<_> = patches
            .iter()
            .map(|(api, body)| {
                let (barrier, path) = (&barrier, &path);
                scope.spawn(move || {
                    barrier.wait();
                    api.call("PATCH", path, Some(token), Some(body))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Asserts every response of `what` is 200 and returns the versions they report, sorted.
#[track_caller]
fn versions_of(what: &str, responses: &[Response]) -> Vec<i64> {
    let refused: Vec<String> = responses
        .iter()
        .filter(|r| r.status != 200)
        .map(|r| format!("{} {}", r.status, r.text()))
        .collect();
    assert!(
        refused.is_empty(),
        "{} of {} {what} were refused (every one must answer 200):\n{}",
        refused.len(),
        responses.len(),
        refused.join("\n")
    );
    let mut versions: Vec<i64> = responses
        .iter()
        .map(|r| {
            r.json()["version"]
                .as_i64()
                .unwrap_or_else(|| panic!("a task has a version: {}", r.text()))
        })
        .collect();
    versions.sort_unstable();
    versions
}

#[test]
fn two_instances_share_one_postgres_database() {
    let Some(database) = postgres_database() else {
        return; // the harness said why
    };
    let started = Instant::now();
    // Both start at once against the fresh database: migrations must take turns.
    let pool = [("TASKAPI__DATABASE__POOL_TIMEOUT", "5s")];
    let mut a = Taskapi::spawn("A", database.url(), &pool);
    let mut b = Taskapi::spawn("B", database.url(), &pool);
    a.wait_ready(STARTUP);
    b.wait_ready(STARTUP);
    let (api_a, api_b) = (a.api(), b.api());

    // A token issued by one instance is accepted by the other, both ways.
    let user = api_a.signed_up("shared@example.com");
    let token_a = user.token.clone();
    let me = api_b
        .call("GET", "/me", Some(&token_a), None)
        .json_with_status(200);
    assert_eq!(me["id"], json!(user.id), "B knows A's user: {me}");
    assert_eq!(me["email"], json!("shared@example.com"));
    let token_b = api_b.logged_in(&user.id, "shared@example.com").token;
    api_a
        .call("GET", "/me", Some(&token_b), None)
        .json_with_status(200);

    // What one writes, the other reads.
    let mut written = Vec::new();
    for i in 0..3 {
        let task = api_a
            .call(
                "POST",
                "/tasks",
                Some(&token_a),
                Some(&json!({"title": format!("from A {i}"), "tags": ["shared"]})),
            )
            .json_with_status(201);
        let read = api_b
            .call(
                "GET",
                &format!("/tasks/{}", string(&task["id"])),
                Some(&token_b),
                None,
            )
            .json_with_status(200);
        assert_eq!(read, task, "B reads exactly what A wrote");
        written.push(string(&task["id"]));
    }
    assert_eq!(listed_ids(api_b, &token_b), written, "B lists A's tasks");

    // Concurrent creations through both: 25 through each, five threads per instance.
    let writer = api_b.signed_up("writer@example.com").token;
    let barrier = Barrier::new(10);
    let created: Vec<String> = thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|t| {
                let api = if t % 2 == 0 { api_a } else { api_b };
                let (barrier, writer) = (&barrier, &writer);
                scope.spawn(move || {
                    barrier.wait();
                    (0..5)
                        .map(|j| {
                            let task = api
                                .call(
                                    "POST",
                                    "/tasks",
                                    Some(writer),
                                    Some(&json!({"title": format!("concurrent {t}-{j}")})),
                                )
                                .json_with_status(201);
                            string(&task["id"])
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let created: BTreeSet<String> = created.into_iter().collect();
    assert_eq!(created.len(), 50, "fifty distinct tasks were created");
    for api in [api_a, api_b] {
        let listed = listed_ids(api, &writer);
        assert_eq!(listed.len(), 50, "each instance lists exactly fifty tasks");
        let listed: BTreeSet<String> = listed.into_iter().collect();
        assert_eq!(
            listed, created,
            "each instance lists exactly what was created"
        );
    }

    // Concurrent PATCHes of one task through both, each of a different field: every
    // change is kept, and each bumps the version once.
    let task = api_b
        .call(
            "POST",
            "/tasks",
            Some(&token_b),
            Some(&json!({"title": "contended"})),
        )
        .json_with_status(201);
    let id = string(&task["id"]);
    assert_eq!(task["version"], json!(1));
    let fields = [
        json!({"title": "patched title"}),
        json!({"description": "patched description"}),
        json!({"is_done": true}),
        json!({"priority": "high"}),
        json!({"due_at": "2030-01-01T00:00:00Z"}),
        json!({"tags": ["patched"]}),
    ];
    let patches: Vec<(Api, Value)> = fields
        .iter()
        .enumerate()
        .map(|(i, body)| (if i % 2 == 0 { api_a } else { api_b }, body.clone()))
        .collect();
    let responses = patch_all_at_once(&id, &token_a, &patches);
    assert_eq!(
        versions_of("concurrent PATCHes of six different fields", &responses),
        (2..=7).collect::<Vec<_>>(),
        "each PATCH made exactly one new version"
    );
    for api in [api_a, api_b] {
        let task = api
            .call("GET", &format!("/tasks/{id}"), Some(&token_a), None)
            .json_with_status(200);
        assert_eq!(task["title"], json!("patched title"), "{task}");
        assert_eq!(task["description"], json!("patched description"), "{task}");
        assert_eq!(task["is_done"], json!(true), "{task}");
        assert!(task["completed_at"].is_string(), "{task}");
        assert_eq!(task["priority"], json!("high"), "{task}");
        assert_eq!(task["due_at"], json!("2030-01-01T00:00:00Z"), "{task}");
        assert_eq!(task["tags"], json!(["patched"]), "{task}");
        assert_eq!(task["version"], json!(7), "{task}");
    }

    // Twenty concurrent PATCHes of one field (ten through each instance), each to a value of
    // its own and none conditional (no If-Match): every one is a change, so every one
    // succeeds, the version grows by exactly twenty, and the last writer's value stays.
    let descriptions: Vec<String> = (0..CONTENDED_PATCHES)
        .map(|i| format!("description {i}"))
        .collect();
    let patches: Vec<(Api, Value)> = descriptions
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (
                if i % 2 == 0 { api_a } else { api_b },
                json!({"description": d}),
            )
        })
        .collect();
    let responses = patch_all_at_once(&id, &token_b, &patches);
    let last_version = 7 + i64::try_from(CONTENDED_PATCHES).unwrap();
    assert_eq!(
        versions_of("concurrent PATCHes of the description", &responses),
        (8..=last_version).collect::<Vec<_>>(),
        "each PATCH made exactly one new version"
    );
    let last = responses
        .iter()
        .map(Response::json)
        .find(|task| task["version"] == json!(last_version))
        .unwrap();
    for api in [api_a, api_b] {
        let task = api
            .call("GET", &format!("/tasks/{id}"), Some(&token_b), None)
            .json_with_status(200);
        assert_eq!(task["version"], json!(last_version), "{task}");
        assert_eq!(
            task["description"], last["description"],
            "the description is the one of the PATCH that made the last version"
        );
        assert_eq!(task["title"], json!("patched title"), "{task}");
    }

    // A personal API token made through one instance works through both, and once revoked
    // through either it is refused by both at once: it is read from the database on every
    // request, never cached.
    for (maker, revoker) in [(api_a, api_b), (api_b, api_a)] {
        let created = maker
            .call(
                "POST",
                "/me/tokens",
                Some(&token_a),
                Some(&json!({"name": "shared script", "scopes": ["tasks:read"]})),
            )
            .json_with_status(201);
        let (id, token) = (string(&created["id"]), string(&created["token"]));
        let all = listed_ids(api_a, &token_a);
        for api in [api_a, api_b] {
            assert_eq!(
                listed_ids(api, &token),
                all,
                "the token reads the same tasks"
            );
        }
        revoker
            .call("DELETE", &format!("/me/tokens/{id}"), Some(&token_a), None)
            .assert_status(204);
        for api in [api_a, api_b] {
            api.call("GET", "/tasks", Some(&token), None)
                .assert_unauthorized();
        }
    }
    // Sharing across instances: invited and removed through A, the member acts through B;
    // the removal holds on B at once (no cache stands between a membership and a request).
    let owner = api_a.signed_up("owner@example.com");
    let friend = api_b.signed_up("friend@example.com");
    let list = api_a
        .call(
            "POST",
            "/lists",
            Some(&owner.token),
            Some(&json!({"name": "Both"})),
        )
        .json_with_status(201);
    let list_id = string(&list["id"]);
    let invitation = api_a
        .call(
            "POST",
            &format!("/lists/{list_id}/invitations"),
            Some(&owner.token),
            Some(&json!({"email": "friend@example.com", "role": "editor"})),
        )
        .json_with_status(201);
    let pending = api_b
        .call("GET", "/me/invitations", Some(&friend.token), None)
        .json_with_status(200);
    assert_eq!(
        pending,
        json!([invitation]),
        "B sees the invitation made through A"
    );
    let joined = api_b
        .call(
            "POST",
            &format!("/me/invitations/{}/accept", string(&invitation["id"])),
            Some(&friend.token),
            None,
        )
        .json_with_status(200);
    assert_eq!(joined["role"], json!("editor"));
    let shared_task = api_b
        .call(
            "POST",
            "/tasks",
            Some(&friend.token),
            Some(&json!({"title": "written through B", "list_id": list_id})),
        )
        .json_with_status(201);
    let shared_id = string(&shared_task["id"]);
    let read = api_a
        .call(
            "GET",
            &format!("/tasks/{shared_id}"),
            Some(&owner.token),
            None,
        )
        .json_with_status(200);
    assert_eq!(read, shared_task, "A reads what the member wrote through B");
    api_a
        .call(
            "DELETE",
            &format!("/lists/{list_id}/members/{}", friend.id),
            Some(&owner.token),
            None,
        )
        .assert_status(204);
    api_b
        .call(
            "GET",
            &format!("/tasks/{shared_id}"),
            Some(&friend.token),
            None,
        )
        .assert_problem(404);
    let refused = api_b.call(
        "POST",
        "/tasks",
        Some(&friend.token),
        Some(&json!({"title": "after removal", "list_id": list_id})),
    );
    assert_eq!(refused.invalid_fields(), vec!["list_id"]);
    api_b
        .call(
            "GET",
            &format!("/lists/{list_id}"),
            Some(&friend.token),
            None,
        )
        .assert_problem(404);

    for instance in [&mut a, &mut b] {
        assert!(instance.is_running(), "{}", instance.stderr());
    }
    eprintln!("took {:.1?}", started.elapsed());
}

/// Three instances started at once on a fresh database all come up: their migrations take
/// turns (one migrates, the others wait for the lock and then find nothing pending).
#[test]
fn three_instances_started_together_on_a_fresh_database_all_come_up() {
    let Some(database) = postgres_database() else {
        return; // the harness said why
    };
    let settings = [
        ("TASKAPI__DATABASE__POOL_TIMEOUT", "5s"),
        ("TASKAPI__DATABASE__STARTUP_TIMEOUT", "30s"),
    ];
    let mut instances: Vec<Taskapi> = ["A", "B", "C"]
        .iter()
        .map(|name| Taskapi::spawn(name, database.url(), &settings))
        .collect();
    for instance in &mut instances {
        instance.wait_ready(STARTUP);
    }
    // Each serves requests against the one schema.
    let user = instances[0].api().signed_up("three@example.com");
    for instance in &instances {
        instance
            .api()
            .call("GET", "/me", Some(&user.token), None)
            .json_with_status(200);
    }
    for instance in &mut instances {
        assert!(instance.is_running(), "{}", instance.stderr());
        assert!(
            !instance.stderr().contains("panicked"),
            "{}",
            instance.stderr()
        );
    }
}

/// An instance that cannot take the migration lock (another session holds it, as a stuck
/// migration would) gives up within `database.startup_timeout`, exits non-zero, and says
/// why; once the lock is free an instance comes up.
#[test]
fn an_instance_blocked_by_the_migration_lock_exits_within_the_startup_timeout_naming_it() {
    let Some(database) = postgres_database() else {
        return; // the harness said why
    };
    let holder = taskapi_storage::Database::connect(
        database.url(),
        taskapi_storage::PoolSettings {
            size: 1,
            timeout: Duration::from_secs(10),
        },
    )
    .unwrap();
    let mut session = holder.hold_connection().unwrap();
    // The migrations' advisory lock, 0x0074_6173_6b61_7069 ("taskapi" in ASCII).
    session
        .execute_sql("SELECT pg_advisory_lock(32758245649117289)")
        .unwrap();
    let startup_timeout = Duration::from_secs(3);
    let started = Instant::now();
    let mut blocked = Taskapi::spawn(
        "blocked",
        database.url(),
        &[("TASKAPI__DATABASE__STARTUP_TIMEOUT", "3s")],
    );
    let status = blocked
        .wait_exit(startup_timeout + Duration::from_secs(10))
        .unwrap_or_else(|| {
            panic!(
                "still running 10 s past its startup_timeout; stderr:\n{}",
                blocked.stderr()
            )
        });
    let elapsed = started.elapsed();
    let stderr = blocked.stderr();
    assert!(!status.success(), "exits non-zero ({status}):\n{stderr}");
    assert!(
        stderr.contains("migration lock"),
        "the message names the cause:\n{stderr}"
    );
    // Start-up of the process itself (a debug build on a loaded machine) comes on top.
    assert!(
        elapsed < startup_timeout + Duration::from_secs(2),
        "gave up after {elapsed:?}, past startup_timeout {startup_timeout:?}:\n{stderr}"
    );
    session
        .execute_sql("SELECT pg_advisory_unlock(32758245649117289)")
        .unwrap();
    let mut freed = Taskapi::spawn("freed", database.url(), &[]);
    freed.wait_ready(STARTUP);
}

/// Writers on two instances create and update tasks at once while a reader follows
/// `GET /changes` through one of them, a few changes a page: no change comes twice, each
/// task's versions arrive in the order they were made, and the reader's copy ends equal to
/// what either instance lists.
#[test]
fn a_reader_of_the_changes_misses_nothing_written_through_two_instances() {
    let Some(database) = postgres_database() else {
        return; // the harness said why
    };
    const WRITERS: usize = 8;
    const PATCHES: i64 = 5;
    const DEADLINE: Duration = Duration::from_secs(60);
    let pool = [("TASKAPI__DATABASE__POOL_TIMEOUT", "5s")];
    let mut a = Taskapi::spawn("A", database.url(), &pool);
    let mut b = Taskapi::spawn("B", database.url(), &pool);
    a.wait_ready(STARTUP);
    b.wait_ready(STARTUP);
    let (api_a, api_b) = (a.api(), b.api());
    let token = api_a.signed_up("feed@example.com").token;
    let start = api_b
        .call("GET", "/changes", Some(&token), None)
        .json_with_status(200);
    let start = string(&start["next_cursor"]);

    let barrier = Barrier::new(WRITERS + 1);
    let copy = thread::scope(|scope| {
        for w in 0..WRITERS {
            let api = if w % 2 == 0 { api_a } else { api_b };
            let (barrier, token) = (&barrier, &token);
            scope.spawn(move || {
                barrier.wait();
                let task = api
                    .call(
                        "POST",
                        "/tasks",
                        Some(token),
                        Some(&json!({"title": format!("writer {w}")})),
                    )
                    .json_with_status(201);
                let path = format!("/tasks/{}", string(&task["id"]));
                for p in 1..=PATCHES {
                    api.call(
                        "PATCH",
                        &path,
                        Some(token),
                        Some(&json!({"title": format!("writer {w} v{p}")})),
                    )
                    .json_with_status(200);
                }
            });
        }
        let (barrier, token) = (&barrier, &token);
        let reader = scope.spawn(move || {
            barrier.wait();
            let deadline = Instant::now() + DEADLINE;
            let mut cursor = start;
            let mut cursors = BTreeSet::new();
            let mut copy: std::collections::BTreeMap<String, Value> = Default::default();
            loop {
                let page = api_b
                    .call(
                        "GET",
                        &format!("/changes?cursor={cursor}&limit=4"),
                        Some(token),
                        None,
                    )
                    .json_with_status(200);
                cursor = string(&page["next_cursor"]);
                for change in page["changes"].as_array().cloned().unwrap_or_default() {
                    assert!(
                        cursors.insert(string(&change["cursor"])),
                        "came twice: {change}"
                    );
                    assert_eq!(change["op"], json!("upsert"), "{change}");
                    let id = string(&change["id"]);
                    if let Some(held) = copy.get(&id) {
                        assert!(
                            held["version"].as_i64() <= change["data"]["version"].as_i64(),
                            "task {id} went back from {held} to {change}"
                        );
                    }
                    copy.insert(id, change["data"].clone());
                }
                let complete = copy.len() == WRITERS
                    && copy.values().all(|t| t["version"] == json!(1 + PATCHES));
                if complete && page["has_more"] == json!(false) {
                    return copy;
                }
                assert!(
                    Instant::now() < deadline,
                    "the feed never completed: {copy:#?}"
                );
                thread::sleep(Duration::from_millis(5));
            }
        });
        reader.join().unwrap()
    });
    let listed = api_a
        .call("GET", "/tasks", Some(&token), None)
        .json_with_status(200);
    let listed: std::collections::BTreeMap<String, Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (string(&t["id"]), t.clone()))
        .collect();
    assert_eq!(copy, listed, "the reader's copy is what the instances list");
    for instance in [&mut a, &mut b] {
        assert!(instance.is_running(), "{}", instance.stderr());
    }
}

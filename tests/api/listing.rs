//! Listing tasks (`GET /tasks`): the default order and page size, every filter, every sort in
//! both directions, keyset pages followed through `Link` headers (also while other requests
//! insert and delete), parameter validation, and that a caller only ever sees their own tasks.

use rstest::rstest;

use crate::support::Backend;

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use awc::http::Method;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::support::{Response, TestApp, parse_query, query, send, string};

/// Every sort the API offers, in both directions.
const SORTS: [&str; 10] = [
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "due_at",
    "-due_at",
    "priority",
    "-priority",
    "title",
    "-title",
];

/// Creates a task and returns its body.
async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    app.create_task(token, &body).await.json_with_status(201)
}

/// `GET path` as the owner of `token`: a 200 JSON array, and the response (for its headers).
async fn page(app: &TestApp, token: &str, path: &str) -> (Vec<Value>, Response) {
    let response = app.call(Method::GET, path, Some(token)).await;
    let body = response.json_with_status(200);
    let items = body
        .as_array()
        .unwrap_or_else(|| panic!("GET {path}: a page is a JSON array: {body}"))
        .clone();
    (items, response)
}

/// `GET /tasks?<pairs>`: the page's items.
async fn list(app: &TestApp, token: &str, pairs: &[(&str, &str)]) -> Vec<Value> {
    page(app, token, &format!("/tasks?{}", query(pairs)))
        .await
        .0
}

/// Every task of a listing: the page at `path`, then every page its `Link` headers lead to.
async fn walk(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut next = Some(path.to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        pages += 1;
        assert!(pages <= 1000, "the walk from GET {path} does not end");
        let (items, response) = page(app, token, &path).await;
        next = response.next_link();
        if next.is_some() {
            assert!(
                !items.is_empty(),
                "GET {path}: an empty page links to a next one"
            );
        }
        all.extend(items);
    }
    all
}

/// The ids of `tasks`, in order.
fn ids(tasks: &[Value]) -> Vec<String> {
    tasks.iter().map(|t| string(&t["id"])).collect()
}

/// The titles of `tasks`, in order.
fn titles(tasks: &[Value]) -> Vec<String> {
    tasks.iter().map(|t| string(&t["title"])).collect()
}

/// A timestamp field (`None` for null).
fn instant(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str().map(|raw| {
        DateTime::parse_from_rfc3339(raw)
            .unwrap_or_else(|e| panic!("{raw:?} is not RFC 3339: {e}"))
            .with_timezone(&Utc)
    })
}

/// `low < medium < high`.
fn rank(priority: &Value) -> u8 {
    match priority.as_str() {
        Some("low") => 0,
        Some("medium") => 1,
        Some("high") => 2,
        _ => panic!("not a priority: {priority}"),
    }
}

/// How `a` and `b` compare under `sort`: by the field — priorities
/// `low < medium < high`, titles by their Unicode lower case — then by id, both in the sort's
/// direction; under `due_at`, tasks without a due date come last in either direction.
fn compare(a: &Value, b: &Value, sort: &str) -> Ordering {
    let (descending, field) = match sort.strip_prefix('-') {
        Some(field) => (true, field),
        None => (false, sort),
    };
    if field == "due_at" {
        match (a["due_at"].is_null(), b["due_at"].is_null()) {
            (false, true) => return Ordering::Less,
            (true, false) => return Ordering::Greater,
            _ => {}
        }
    }
    let by_field = match field {
        "created_at" | "updated_at" | "due_at" => instant(&a[field]).cmp(&instant(&b[field])),
        "priority" => rank(&a["priority"]).cmp(&rank(&b["priority"])),
        "title" => string(&a["title"])
            .to_lowercase()
            .cmp(&string(&b["title"]).to_lowercase()),
        _ => panic!("not a sort: {sort}"),
    };
    let order = by_field.then_with(|| string(&a["id"]).cmp(&string(&b["id"])));
    if descending { order.reverse() } else { order }
}

/// The ids of `tasks` in the order `sort` promises.
fn expected_order(tasks: &[Value], sort: &str) -> Vec<String> {
    let mut sorted: Vec<&Value> = tasks.iter().collect();
    sorted.sort_by(|a, b| compare(a, b, sort));
    sorted.iter().map(|t| string(&t["id"])).collect()
}

/// One of nine days in March 2030, by `n`.
fn march(n: usize) -> String {
    format!("2030-03-{:02}T00:00:00Z", 1 + n % 9)
}

/// A filter's query parameters, and which tasks it keeps.
type Case<'a> = (&'a [(&'a str, &'a str)], Box<dyn Fn(&Value) -> bool>);

/// `due_at` as JSON: null when `undated`, else `at`.
fn due_unless(undated: bool, at: &str) -> Value {
    if undated { Value::Null } else { json!(at) }
}

/// The ids of `tasks` that satisfy `keep`, in creation (= default listing) order.
fn ids_where(tasks: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<String> {
    tasks
        .iter()
        .filter(|t| keep(t))
        .map(|t| string(&t["id"]))
        .collect()
}

/// Tasks that tie and differ on every sort key: equal titles but for case, non-ASCII
/// titles, equal priorities, equal due dates, tasks without one, and updates that make
/// `updated_at` order differ from `created_at` order. Returns every task as it is now.
async fn seed_for_sorting(app: &TestApp, token: &str) -> Vec<Value> {
    let specs = [
        ("banana", "high", json!("2030-01-02T00:00:00Z")),
        ("Apple", "low", Value::Null),
        ("apple", "medium", json!("2030-01-01T00:00:00Z")),
        ("Äpfel", "high", json!("2030-01-02T00:00:00Z")),
        ("Zebra", "low", Value::Null),
        ("éclair", "medium", json!("2029-12-31T23:59:59.5Z")),
        ("APPLE", "high", json!("2030-01-02T00:00:00Z")),
        ("cherry", "medium", Value::Null),
        ("Ørsted", "low", json!("2031-06-01T12:00:00+02:00")),
    ];
    let mut created = Vec::new();
    for (title, priority, due_at) in specs {
        let task = create(
            app,
            token,
            json!({"title": title, "priority": priority, "due_at": due_at}),
        )
        .await;
        created.push(string(&task["id"]));
    }
    // The first and fifth task change last: updated_at order is not creation order.
    for index in [4, 0] {
        app.patch_task(token, &created[index], &json!({"description": "changed"}))
            .await
            .assert_status(200);
    }
    let all = list(app, token, &[("limit", "100")]).await;
    assert_eq!(all.len(), created.len(), "every seeded task is listed");
    all
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_default_listing_is_oldest_first_in_pages_of_50(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut created = Vec::new();
    for i in 0..50 {
        created.push(string(
            &app.task(&user.token, &format!("task {i:02}")).await["id"],
        ));
    }
    let response = app.list_tasks(&user.token).await;
    let first = response.json_with_status(200);
    assert_eq!(ids(first.as_array().unwrap()), created, "oldest first");
    assert_eq!(
        response.next_link(),
        None,
        "exactly 50 tasks fit on one page: no Link"
    );

    created.push(string(&app.task(&user.token, "task 50").await["id"]));
    let response = app.list_tasks(&user.token).await;
    let first = response.json_with_status(200);
    assert_eq!(
        ids(first.as_array().unwrap()),
        created[..50],
        "a page holds 50 by default"
    );
    let next = response
        .next_link()
        .unwrap_or_else(|| panic!("a 51st task makes a next link: {:?}", response.headers));
    let (rest, last) = page(&app, &user.token, &next).await;
    assert_eq!(
        ids(&rest),
        created[50..],
        "the second page holds the 51st task"
    );
    assert_eq!(last.next_link(), None, "the last page has no next link");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_next_link_is_there_exactly_when_more_tasks_exist(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let empty = app.list_tasks(&user.token).await;
    assert_eq!(empty.json_with_status(200), json!([]));
    assert_eq!(empty.next_link(), None, "an empty listing has no next link");
    let mut created = Vec::new();
    for i in 0..3 {
        created.push(string(&app.task(&user.token, &format!("t{i}")).await["id"]));
    }
    for (limit, expected, more) in [
        ("1", 1, true),
        ("2", 2, true),
        ("3", 3, false),
        ("100", 3, false),
    ] {
        let (items, response) = page(&app, &user.token, &format!("/tasks?limit={limit}")).await;
        assert_eq!(ids(&items), created[..expected], "limit={limit}");
        assert_eq!(
            response.next_link().is_some(),
            more,
            "limit={limit}: next link?"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn limit_must_be_a_whole_number_from_1_to_100(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    for limit in ["1", "100", "50"] {
        app.call(
            Method::GET,
            &format!("/tasks?limit={limit}"),
            Some(&user.token),
        )
        .await
        .assert_status(200);
    }
    for limit in ["0", "101", "-1", "abc", "", "1.5", "99999999999999999999"] {
        let response = app
            .call(
                Method::GET,
                &format!("/tasks?{}", query(&[("limit", limit)])),
                Some(&user.token),
            )
            .await;
        assert_eq!(response.invalid_fields(), ["limit"], "limit={limit:?}");
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn is_done_and_priority_filter_exactly(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut tasks = Vec::new();
    for (title, is_done, priority) in [
        ("done high", true, "high"),
        ("open high", false, "high"),
        ("done low", true, "low"),
        ("open medium", false, "medium"),
        ("open low", false, "low"),
    ] {
        tasks.push(
            create(
                &app,
                &user.token,
                json!({"title": title, "is_done": is_done, "priority": priority}),
            )
            .await,
        );
    }
    let cases: [Case<'_>; 7] = [
        (&[("is_done", "true")], Box::new(|t| t["is_done"] == true)),
        (&[("is_done", "false")], Box::new(|t| t["is_done"] == false)),
        (
            &[("priority", "high")],
            Box::new(|t| t["priority"] == "high"),
        ),
        (
            &[("priority", "medium")],
            Box::new(|t| t["priority"] == "medium"),
        ),
        (&[("priority", "low")], Box::new(|t| t["priority"] == "low")),
        (
            &[("is_done", "false"), ("priority", "low")],
            Box::new(|t| t["is_done"] == false && t["priority"] == "low"),
        ),
        (
            &[("is_done", "true"), ("priority", "medium")],
            Box::new(|_| false),
        ),
    ];
    for (pairs, keep) in cases {
        let listed = list(&app, &user.token, pairs).await;
        assert_eq!(
            ids(&listed),
            ids_where(&tasks, keep),
            "{pairs:?}: {listed:?}"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_tag_filter_matches_whole_tags_case_insensitively(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let both = create(
        &app,
        &user.token,
        json!({"title": "both", "tags": ["Home", "work"]}),
    )
    .await;
    let homework = create(
        &app,
        &user.token,
        json!({"title": "homework", "tags": ["HOMEWORK"]}),
    )
    .await;
    let home = create(
        &app,
        &user.token,
        json!({"title": "home", "tags": ["home"]}),
    )
    .await;
    let umlaut = create(
        &app,
        &user.token,
        json!({"title": "umlaut", "tags": ["Ünï"]}),
    )
    .await;
    let _untagged = create(&app, &user.token, json!({"title": "untagged"})).await;
    let id = |t: &Value| string(&t["id"]);
    for (tag, expected) in [
        ("HOME", vec![id(&both), id(&home)]),
        ("home", vec![id(&both), id(&home)]),
        ("hOmE", vec![id(&both), id(&home)]),
        ("Work", vec![id(&both)]),
        ("homework", vec![id(&homework)]),
        ("ÜNÏ", vec![id(&umlaut)]),
        ("hom", vec![]),
        ("elsewhere", vec![]),
    ] {
        let listed = list(&app, &user.token, &[("tag", tag)]).await;
        assert_eq!(ids(&listed), expected, "tag={tag}: {:?}", titles(&listed));
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn q_finds_a_case_insensitive_substring_of_the_title_or_description(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut by_title = BTreeMap::new();
    for (title, description) in [
        ("ÄRGER im Büro", ""),
        ("Groceries", "Milk, and some Ärgernis with the till"),
        ("Report", "Quarterly numbers"),
        ("50% off", ""),
        ("500 off", ""),
        ("snake_case", ""),
        ("snakeXcase", ""),
        ("back\\slash", ""),
        ("Plain", "nothing to see"),
    ] {
        let task = create(
            &app,
            &user.token,
            json!({"title": title, "description": description}),
        )
        .await;
        by_title.insert(title, string(&task["id"]));
    }
    for (q, expected) in [
        ("ärger", vec!["ÄRGER im Büro", "Groceries"]),
        ("ÄRGER", vec!["ÄRGER im Büro", "Groceries"]),
        ("büro", vec!["ÄRGER im Büro"]),
        ("BÜRO", vec!["ÄRGER im Büro"]),
        ("im bü", vec!["ÄRGER im Büro"]),
        ("report", vec!["Report"]),
        ("QUARTERLY", vec!["Report"]),
        ("milk, and", vec!["Groceries"]),
        // LIKE metacharacters match themselves only.
        ("50%", vec!["50% off"]),
        ("%", vec!["50% off"]),
        ("e_c", vec!["snake_case"]),
        ("_", vec!["snake_case"]),
        ("\\", vec!["back\\slash"]),
        ("k\\s", vec!["back\\slash"]),
        // A match never spans the end of the title and the start of the description.
        ("tq", vec![]),
        ("portquar", vec![]),
        ("nowhere", vec![]),
    ] {
        let listed = list(&app, &user.token, &[("q", q)]).await;
        let expected: Vec<String> = expected.iter().map(|t| by_title[t].clone()).collect();
        assert_eq!(ids(&listed), expected, "q={q:?}: {:?}", titles(&listed));
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn due_before_and_due_after_are_exclusive_and_leave_out_undated_tasks(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut ids_by_day = Vec::new();
    for day in 1..=3 {
        let task = create(
            &app,
            &user.token,
            json!({"title": format!("due {day}"), "due_at": format!("2030-01-0{day}T00:00:00Z")}),
        )
        .await;
        ids_by_day.push(string(&task["id"]));
    }
    let _undated = create(&app, &user.token, json!({"title": "undated"})).await;
    let [one, two, three] = [&ids_by_day[0], &ids_by_day[1], &ids_by_day[2]];
    for (pairs, expected) in [
        (vec![("due_before", "2030-01-02T00:00:00Z")], vec![one]),
        (vec![("due_after", "2030-01-02T00:00:00Z")], vec![three]),
        (
            vec![
                ("due_after", "2030-01-01T00:00:00Z"),
                ("due_before", "2030-01-03T00:00:00Z"),
            ],
            vec![two],
        ),
        // The same instant written with an offset.
        (vec![("due_before", "2030-01-02T01:00:00+01:00")], vec![one]),
        (
            vec![("due_before", "2030-01-02T00:00:00.000001Z")],
            vec![one, two],
        ),
        (
            vec![("due_after", "2030-01-02T23:59:59.999999Z")],
            vec![three],
        ),
        (
            vec![("due_before", "9999-12-31T23:59:59Z")],
            vec![one, two, three],
        ),
        (
            vec![("due_after", "0001-01-01T00:00:00Z")],
            vec![one, two, three],
        ),
        (vec![("due_after", "2030-01-03T00:00:00Z")], vec![]),
        (
            vec![
                ("due_after", "2030-01-02T00:00:00Z"),
                ("due_before", "2030-01-02T00:00:00Z"),
            ],
            vec![],
        ),
    ] {
        let listed = list(&app, &user.token, &pairs).await;
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(ids(&listed), expected, "{pairs:?}: {:?}", titles(&listed));
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn every_sort_orders_both_ways_with_ties_broken_by_id_and_undated_tasks_last(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let tasks = seed_for_sorting(&app, &user.token).await;
    for sort in SORTS {
        let listed = list(&app, &user.token, &[("sort", sort), ("limit", "100")]).await;
        assert_eq!(
            ids(&listed),
            expected_order(&tasks, sort),
            "sort={sort}: {:?}",
            titles(&listed)
        );
    }

    // The same orders, spelled out.
    let lower = |tasks: &[Value]| -> Vec<String> {
        titles(tasks).iter().map(|t| t.to_lowercase()).collect()
    };
    let by_title = list(&app, &user.token, &[("sort", "title")]).await;
    assert_eq!(
        lower(&by_title),
        [
            "apple", "apple", "apple", "banana", "cherry", "zebra", "äpfel", "éclair", "ørsted"
        ],
        "titles sort by their Unicode lower case"
    );
    let by_title_desc = list(&app, &user.token, &[("sort", "-title")]).await;
    let mut reversed = ids(&by_title);
    reversed.reverse();
    assert_eq!(
        ids(&by_title_desc),
        reversed,
        "-title is title reversed, ties included"
    );

    let by_priority = list(&app, &user.token, &[("sort", "priority")]).await;
    let ranks: Vec<u8> = by_priority.iter().map(|t| rank(&t["priority"])).collect();
    assert_eq!(ranks, [0, 0, 0, 1, 1, 1, 2, 2, 2], "low < medium < high");

    for sort in ["due_at", "-due_at"] {
        let listed = list(&app, &user.token, &[("sort", sort)]).await;
        let nulls: Vec<bool> = listed.iter().map(|t| t["due_at"].is_null()).collect();
        assert_eq!(
            nulls,
            [false, false, false, false, false, false, true, true, true],
            "sort={sort}: tasks without due_at come last"
        );
    }
    let by_due = list(&app, &user.token, &[("sort", "-due_at")]).await;
    assert_eq!(by_due[0]["title"], "Ørsted", "the latest due date first");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn following_next_links_returns_every_task_exactly_once_in_order_for_every_sort(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let tasks = seed_for_sorting(&app, &user.token).await;
    for sort in SORTS {
        for limit in ["1", "2", "4"] {
            let first = format!("/tasks?{}", query(&[("sort", sort), ("limit", limit)]));
            let (items, response) = page(&app, &user.token, &first).await;
            let limit_n: usize = limit.parse().unwrap();
            assert_eq!(
                items.len(),
                limit_n,
                "sort={sort} limit={limit}: a full page"
            );
            let link = response
                .next_link()
                .unwrap_or_else(|| panic!("sort={sort} limit={limit}: a next link"));
            let (path, link_query) = link.split_once('?').unwrap_or((&link, ""));
            assert_eq!(path, "/tasks", "the link points at the same route: {link}");
            let kept: BTreeMap<String, String> = parse_query(link_query).into_iter().collect();
            assert_eq!(kept.get("sort").map(String::as_str), Some(sort), "{link}");
            assert_eq!(kept.get("limit").map(String::as_str), Some(limit), "{link}");
            assert!(kept.contains_key("cursor"), "{link}");

            let walked = walk(&app, &user.token, &first).await;
            assert_eq!(
                ids(&walked),
                expected_order(&tasks, sort),
                "sort={sort} limit={limit}: every task once, in order: {:?}",
                titles(&walked)
            );
        }
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_next_link_keeps_every_filter_and_the_sort(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let task = create(
            &app,
            &user.token,
            json!({
                "title": format!("Task {i:02} {}", if i % 4 == 0 { "other" } else { "wanted" }),
                "is_done": i % 5 == 0,
                "priority": (["low", "high"][i % 2]),
                "tags": if i % 3 == 0 { json!(["misc"]) } else { json!(["Home", "misc"]) },
                "due_at": due_unless(i == 7, &format!("2030-02-{:02}T08:00:00Z", 1 + i % 6)),
            }),
        )
        .await;
        tasks.push(task);
    }
    let filters = [
        ("is_done", "false"),
        ("priority", "high"),
        ("tag", "HOME"),
        ("q", "WANTED"),
        ("due_after", "2030-01-15T00:00:00Z"),
        ("due_before", "2030-02-06T00:00:00+00:00"),
        ("sort", "-due_at"),
        ("limit", "1"),
    ];
    let first = format!("/tasks?{}", query(&filters));
    let (_, response) = page(&app, &user.token, &first).await;
    let link = response
        .next_link()
        .unwrap_or_else(|| panic!("more than one task matches: {:?}", response.headers));
    let (_, link_query) = link.split_once('?').unwrap_or((&link, ""));
    let kept: BTreeMap<String, String> = parse_query(link_query)
        .into_iter()
        .filter(|(name, _)| name != "cursor")
        .collect();
    let sent: BTreeMap<String, String> = filters
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(kept, sent, "the next link repeats every parameter: {link}");

    let before = instant(&json!("2030-02-06T00:00:00Z"));
    let after = instant(&json!("2030-01-15T00:00:00Z"));
    let matching: Vec<Value> = tasks
        .iter()
        .filter(|t| {
            let due = instant(&t["due_at"]);
            t["is_done"] == false
                && t["priority"] == "high"
                && t["tags"].as_array().unwrap().contains(&json!("home"))
                && string(&t["title"]).contains("wanted")
                && due.is_some()
                && due < before
                && due > after
        })
        .cloned()
        .collect();
    assert!(matching.len() >= 2, "the data makes several pages");
    let walked = walk(&app, &user.token, &first).await;
    assert_eq!(ids(&walked), expected_order(&matching, "-due_at"));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_walk_sees_every_lasting_task_exactly_once_while_others_insert_and_delete(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    for sort in ["created_at", "-created_at", "title", "-due_at", "priority"] {
        // Tasks that last the whole walk, and tasks that are deleted during it.
        let mut doomed = Vec::new();
        for i in 0..24 {
            let kind = if i % 2 == 0 { "lasting" } else { "doomed" };
            let task = create(
                &app,
                &user.token,
                json!({
                    "title": format!("{:02} {kind}", (i * 7) % 24),
                    "priority": (["low", "medium", "high"][i % 3]),
                    "due_at": due_unless(i % 5 == 0, &march(i)),
                }),
            )
            .await;
            if kind == "doomed" {
                doomed.push(string(&task["id"]));
            }
        }
        let before = walk(&app, &user.token, "/tasks?limit=100").await;
        let lasting: BTreeSet<String> = ids(&before)
            .into_iter()
            .filter(|id| !doomed.contains(id))
            .collect();

        // Meanwhile: insert a task (anywhere in the order) and delete a doomed one, again
        // and again, until the walk is done.
        // The two take turns (a round of changes, then a page), so that the walk always
        // advances faster than inserts land ahead of it, however the machine schedules them.
        let done = Rc::new(Cell::new(false));
        let rounds = Rc::new(Cell::new(0_usize));
        let pages = Rc::new(Cell::new(0_usize));
        let churn = {
            let (done, rounds, pages) = (Rc::clone(&done), Rc::clone(&rounds), Rc::clone(&pages));
            let (client, address, token) =
                (app.http.clone(), app.address.clone(), user.token.clone());
            let mut doomed = doomed.clone();
            actix_web::rt::spawn(async move {
                let mut n = 0_usize;
                while !done.get() {
                    n += 1;
                    let body = json!({
                        "title": format!("{:02} inserted {n}", (n * 5) % 24),
                        "priority": (["high", "low", "medium"][n % 3]),
                        "due_at": due_unless(n.is_multiple_of(4), &march(n)),
                    });
                    let created = send(
                        client
                            .post(format!("{address}/tasks"))
                            .bearer_auth(&token)
                            .send_json(&body),
                    )
                    .await;
                    created.assert_status(201);
                    if let Some(id) = doomed.pop() {
                        let deleted = send(
                            client
                                .delete(format!("{address}/tasks/{id}"))
                                .bearer_auth(&token)
                                .send(),
                        )
                        .await;
                        deleted.assert_status(204);
                    }
                    rounds.set(rounds.get() + 1);
                    let page = pages.get();
                    while !done.get() && pages.get() == page {
                        actix_web::rt::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            })
        };

        let mut seen: Vec<Value> = Vec::new();
        let mut next = Some(format!(
            "/tasks?{}",
            query(&[("sort", sort), ("limit", "3")])
        ));
        while let Some(path) = next {
            // Let at least one round of changes land between two pages.
            let round = rounds.get();
            for _ in 0..2000 {
                if rounds.get() > round {
                    break;
                }
                actix_web::rt::time::sleep(Duration::from_millis(1)).await;
            }
            let (items, response) = page(&app, &user.token, &path).await;
            pages.set(pages.get() + 1);
            next = response.next_link();
            seen.extend(items);
        }
        done.set(true);
        churn
            .await
            .unwrap_or_else(|e| panic!("the churn failed: {e}"));
        assert!(rounds.get() >= 3, "changes happened during the walk");

        let seen_ids = ids(&seen);
        let distinct: BTreeSet<String> = seen_ids.iter().cloned().collect();
        assert_eq!(
            distinct.len(),
            seen_ids.len(),
            "sort={sort}: no task is seen twice"
        );
        let missing: Vec<&String> = lasting.difference(&distinct).collect();
        assert!(
            missing.is_empty(),
            "sort={sort}: lasting tasks never seen: {missing:?}"
        );
        assert_eq!(
            expected_order(&seen, sort),
            seen_ids,
            "sort={sort}: the walk stays in order: {:?}",
            titles(&seen)
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn listings_only_ever_show_the_callers_own_tasks(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let mut mine = BTreeSet::new();
    for i in 0..6 {
        // Both users have look-alike tasks, interleaved in time.
        for (user, who) in [(&alice, "alice"), (&bob, "bob")] {
            let task = create(
                &app,
                &user.token,
                json!({
                    "title": format!("Shared title {i}"),
                    "description": format!("of {who}"),
                    "priority": (["low", "high"][i % 2]),
                    "is_done": i % 3 == 0,
                    "tags": ["home"],
                    "due_at": format!("2030-04-0{}T00:00:00Z", 1 + i % 3),
                }),
            )
            .await;
            if who == "bob" {
                mine.insert(string(&task["id"]));
            }
        }
    }
    // Each query, and whether every one of Bob's tasks matches it.
    let mut queries: Vec<(Vec<(&str, &str)>, bool)> = vec![
        (vec![], true),
        (vec![("tag", "home")], true),
        (vec![("q", "shared")], true),
        (vec![("q", "of")], true),
        (vec![("priority", "high")], false),
        (vec![("is_done", "false")], false),
        (vec![("due_after", "2030-04-01T00:00:00Z")], false),
        (vec![("due_before", "2031-01-01T00:00:00Z")], true),
    ];
    for sort in SORTS {
        queries.push((vec![("sort", sort)], true));
    }
    for (mut pairs, everything) in queries {
        pairs.push(("limit", "2"));
        let walked = walk(&app, &bob.token, &format!("/tasks?{}", query(&pairs))).await;
        assert!(!walked.is_empty(), "{pairs:?}: some of Bob's tasks match");
        for task in &walked {
            assert!(
                mine.contains(&string(&task["id"])),
                "{pairs:?}: Bob sees a task that is not his: {task}"
            );
        }
        if everything {
            let all: BTreeSet<String> = ids(&walked).into_iter().collect();
            assert_eq!(all, mine, "{pairs:?}: Bob sees all his tasks");
        }
    }
    let only_alice = list(&app, &bob.token, &[("q", "of alice")]).await;
    assert_eq!(
        only_alice,
        Vec::<Value>::new(),
        "Alice's tasks match no query of Bob's"
    );

    // Even Alice's cursor only leads Bob through his own tasks.
    let (_, response) = page(&app, &alice.token, "/tasks?limit=1").await;
    let link = response.next_link().unwrap();
    let walked = walk(&app, &bob.token, &link).await;
    assert!(!walked.is_empty());
    for task in &walked {
        assert!(
            mine.contains(&string(&task["id"])),
            "Alice's cursor shows Bob {task}"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_bad_filter_sort_or_cursor_is_422_naming_the_parameter(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let long_tag = "t".repeat(41);
    let long_q = "q".repeat(201);
    for (name, value) in [
        ("is_done", "yes"),
        ("is_done", "1"),
        ("is_done", ""),
        ("priority", "urgent"),
        ("priority", ""),
        ("sort", "nope"),
        ("sort", "--title"),
        ("sort", "+title"),
        ("sort", "-"),
        ("sort", ""),
        ("sort", "id"),
        ("due_before", "not-a-date"),
        ("due_before", "2030-01-01"),
        ("due_after", "2030-13-01T00:00:00Z"),
        ("due_after", ""),
        ("tag", ""),
        ("tag", "   "),
        ("tag", &long_tag),
        ("q", ""),
        ("q", &long_q),
        ("cursor", "garbage"),
        ("cursor", ""),
        ("cursor", "!!!"),
        ("cursor", "W10"),
    ] {
        let path = format!("/tasks?{}", query(&[(name, value)]));
        let response = app.call(Method::GET, &path, Some(&user.token)).await;
        assert_eq!(response.invalid_fields(), [name], "{name}={value:?}");
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_cursor_only_works_with_the_sort_it_came_from(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    for title in ["a", "b", "c"] {
        app.task(&user.token, title).await;
    }
    let (_, response) = page(&app, &user.token, "/tasks?sort=title&limit=1").await;
    let link = response.next_link().unwrap();
    let cursor = parse_query(link.split_once('?').unwrap().1)
        .into_iter()
        .find(|(name, _)| name == "cursor")
        .map(|(_, value)| value)
        .unwrap();
    let (second, _) = page(
        &app,
        &user.token,
        &format!(
            "/tasks?{}",
            query(&[("sort", "title"), ("limit", "1"), ("cursor", &cursor)])
        ),
    )
    .await;
    assert_eq!(titles(&second), ["b"], "the cursor works with its own sort");
    for sort in [Some("-title"), Some("created_at"), Some("due_at"), None] {
        let mut pairs = vec![("cursor", cursor.as_str())];
        if let Some(sort) = sort {
            pairs.push(("sort", sort));
        }
        let response = app
            .call(
                Method::GET,
                &format!("/tasks?{}", query(&pairs)),
                Some(&user.token),
            )
            .await;
        assert_eq!(response.invalid_fields(), ["cursor"], "sort={sort:?}");
    }
    // A cut-off cursor is not one the API gave out.
    let cut = &cursor[..cursor.len() - 4];
    let response = app
        .call(
            Method::GET,
            &format!("/tasks?{}", query(&[("sort", "title"), ("cursor", cut)])),
            Some(&user.token),
        )
        .await;
    assert_eq!(response.invalid_fields(), ["cursor"]);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_unknown_or_repeated_parameter_is_422_naming_it(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    for (path, field) in [
        ("/tasks?colour=red", "colour"),
        ("/tasks?page=2&limit=1", "page"),
        ("/tasks?Limit=5", "Limit"),
        ("/tasks?offset=0", "offset"),
        ("/tasks?limit=1&limit=2", "limit"),
        ("/tasks?sort=title&sort=title", "sort"),
        ("/tasks?tag=a&tag=b", "tag"),
        ("/tasks?gr%C3%B6%C3%9Fe=1", "größe"),
        ("/tasks?limit", "limit"),
    ] {
        let response = app.call(Method::GET, path, Some(&user.token)).await;
        assert_eq!(response.invalid_fields(), [field], "GET {path}");
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn several_bad_parameters_are_all_named_in_one_422(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app
        .call(
            Method::GET,
            "/tasks?is_done=yes&priority=urgent&tag=&q=&due_before=soon&due_after=later\
             &sort=nope&limit=0&colour=red",
            Some(&user.token),
        )
        .await;
    let named: BTreeSet<String> = response.invalid_fields().into_iter().collect();
    let expected: BTreeSet<String> = [
        "is_done",
        "priority",
        "tag",
        "q",
        "due_before",
        "due_after",
        "sort",
        "limit",
        "colour",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    assert_eq!(named, expected);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn authentication_is_checked_before_the_parameters(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let _user = app.user().await;
    for path in [
        "/tasks?limit=0&sort=nope&colour=red",
        "/tasks?cursor=garbage",
        "/tasks?limit=1&limit=2",
    ] {
        app.call(Method::GET, path, None)
            .await
            .assert_unauthorized();
        app.call(Method::GET, path, Some("not-a-token"))
            .await
            .assert_unauthorized();
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn sub_microsecond_due_bounds_compare_exactly(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let due = create(
        &app,
        &user.token,
        json!({"title": "due at midnight", "due_at": "2030-01-02T00:00:00Z"}),
    )
    .await;
    let id = string(&due["id"]);
    // 100 ns after the due date: the task is due before it.
    let listed = list(
        &app,
        &user.token,
        &[("due_before", "2030-01-02T00:00:00.0000001Z")],
    )
    .await;
    assert_eq!(
        ids(&listed),
        std::slice::from_ref(&id),
        "due_before=00:00:00.0000001 includes a task due at 00:00:00"
    );
    // 100 ns before the due date: the task is due after it.
    let listed = list(
        &app,
        &user.token,
        &[("due_after", "2030-01-01T23:59:59.9999999Z")],
    )
    .await;
    assert_eq!(
        ids(&listed),
        [id],
        "due_after=23:59:59.9999999 includes a task due at 00:00:00"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_next_link_carries_special_characters_in_filters_intact(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut wanted = Vec::new();
    for i in 0..5 {
        let task = create(
            &app,
            &user.token,
            json!({
                "title": format!("Ärger & Co + 50% #{i} ?=/"),
                "tags": ["Zürich & Genf + mehr"],
            }),
        )
        .await;
        wanted.push(string(&task["id"]));
        create(
            &app,
            &user.token,
            json!({"title": format!("ärger & co 50 #{i}"), "tags": ["zürich"]}),
        )
        .await;
    }
    let pairs = [
        ("q", "ÄRGER & CO + 50% #"),
        ("tag", "ZÜRICH & GENF + MEHR"),
        ("limit", "2"),
    ];
    let first = format!("/tasks?{}", query(&pairs));
    let (_, response) = page(&app, &user.token, &first).await;
    let link = response
        .next_link()
        .unwrap_or_else(|| panic!("a next link: {:?}", response.headers));
    let kept: BTreeMap<String, String> = parse_query(link.split_once('?').unwrap().1)
        .into_iter()
        .filter(|(name, _)| name != "cursor")
        .collect();
    let sent: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(kept, sent, "the link repeats the filters exactly: {link}");
    assert_eq!(ids(&walk(&app, &user.token, &first).await), wanted);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn deleting_the_task_a_cursor_points_at_skips_nothing(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    seed_for_sorting(&app, &user.token).await;
    for sort in ["title", "-due_at", "due_at", "priority", "-created_at"] {
        let tasks = list(&app, &user.token, &[("limit", "100")]).await;
        let order = expected_order(&tasks, sort);
        // The first page's cursor points at its second task; that task goes away.
        let first = format!("/tasks?{}", query(&[("sort", sort), ("limit", "2")]));
        let (items, response) = page(&app, &user.token, &first).await;
        assert_eq!(ids(&items), order[..2], "sort={sort}");
        app.delete_task(&user.token, &order[1])
            .await
            .assert_status(204);
        let rest = walk(&app, &user.token, &response.next_link().unwrap()).await;
        assert_eq!(
            ids(&rest),
            order[2..],
            "sort={sort}: the walk goes on after the deleted task"
        );
    }
}

/// The search bomb: one account's 400 tasks with 10 000-character descriptions, searched by
/// 8 concurrent `q` of 199 `a`s and a `b` (without an index, each search compares the
/// pattern at every position of every text: about a second each). The searches take turns
/// (`quota.concurrent_searches_per_user`), and every one answers (an empty page, since no
/// text has that substring) rather than being refused; another user's reads meanwhile stay
/// 200, each well within a generous second.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_search_bomb_neither_blocks_nor_slows_another_users_reads(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let bomber = app.signed_up("bomber@example.com").await;
    let description = "a".repeat(10_000);
    let (app_ref, token) = (&app, bomber.token.as_str());
    for batch in 0..40 {
        let creations = (0..10).map(|i| {
            let body = json!({"title": format!("bomb {batch}-{i}"), "description": description});
            async move { app_ref.create_task(token, &body).await }
        });
        for created in futures_util::future::join_all(creations).await {
            created.json_with_status(201);
        }
    }
    let victim = app.signed_up("victim@example.com").await;
    let task = create(&app, &victim.token, json!({"title": "mine"})).await;
    let id = string(&task["id"]);

    let bomb = format!("/tasks?q={}b", "a".repeat(199));
    let searches = futures_util::future::join_all(
        (0..8).map(|_| app.call(Method::GET, &bomb, Some(&bomber.token))),
    );
    let reads = async {
        let mut slowest = Duration::ZERO;
        for _ in 0..20 {
            let read = app.get_task(&victim.token, &id).await;
            read.json_with_status(200);
            slowest = slowest.max(read.elapsed);
        }
        slowest
    };
    let (searched, slowest) = futures_util::future::join(searches, reads).await;
    for found in searched {
        assert_eq!(
            found.json_with_status(200),
            json!([]),
            "no text has the bomb"
        );
    }
    assert!(
        slowest < Duration::from_secs(1),
        "another user's read took {slowest:?} during the search bomb"
    );
}

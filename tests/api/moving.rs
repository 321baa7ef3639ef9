//! Subtasks and order end to end: creating under a parent (four levels at most), the order
//! new tasks take, `sort=position`, and `POST /tasks/{id}/move` within a list, under another
//! parent and to another list — with its statuses, If-Match, what it leaves alone (the
//! siblings' rows), a model-based run of many random moves, and concurrent moves of two
//! editors that lose and duplicate nothing.

use std::collections::HashMap;

use awc::http::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::sharing::{join, shared_list};
use crate::support::response::Response;
use crate::support::{Backend, TestApp, TestUser, random_id, string};

/// Creates a task titled `title` in `list` (the inbox for `None`) under `parent`.
async fn create(
    app: &TestApp,
    user: &TestUser,
    title: &str,
    list: Option<&str>,
    parent: Option<&str>,
) -> Value {
    let mut body = json!({"title": title});
    if let Some(list) = list {
        body["list_id"] = json!(list);
    }
    if let Some(parent) = parent {
        body["parent_id"] = json!(parent);
    }
    app.create_task(&user.token, &body)
        .await
        .json_with_status(201)
}

/// `POST /tasks/{id}/move`.
async fn move_task(app: &TestApp, user: &TestUser, id: &str, body: &Value) -> Response {
    app.call_json(
        Method::POST,
        &format!("/tasks/{id}/move"),
        Some(&user.token),
        body,
    )
    .await
}

/// The titles of the children of `parent` (`none`: the top level) of `list`, in their order,
/// read a page of 2 at a time (so that the keyset over positions is exercised).
async fn order(app: &TestApp, user: &TestUser, list: &str, parent: &str) -> Vec<String> {
    let mut titles = Vec::new();
    let mut path = format!("/tasks?list_id={list}&parent_id={parent}&sort=position&limit=2");
    loop {
        let response = app.call(Method::GET, &path, Some(&user.token)).await;
        let page = response.json_with_status(200);
        titles.extend(
            page.as_array()
                .unwrap_or_else(|| panic!("{page}"))
                .iter()
                .map(|t| string(&t["title"])),
        );
        match response.header("link") {
            Some(link) => {
                let url = link
                    .split(['<', '>'])
                    .nth(1)
                    .unwrap_or_else(|| panic!("{link}"));
                path = url[url.find("/tasks").unwrap_or(0)..].to_owned();
            }
            None => return titles,
        }
    }
}

async fn inbox_of(app: &TestApp, user: &TestUser) -> String {
    let lists = app
        .call(Method::GET, "/lists", Some(&user.token))
        .await
        .json_with_status(200);
    lists
        .as_array()
        .and_then(|l| l.iter().find(|l| l["is_inbox"] == true))
        .map(|l| string(&l["id"]))
        .unwrap_or_else(|| panic!("no inbox: {lists}"))
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn subtasks_nest_four_levels_deep_and_new_tasks_go_last(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let inbox = inbox_of(&app, &alice).await;
    let top = create(&app, &alice, "top", None, None).await;
    assert_eq!(top["parent_id"], Value::Null);
    let mut parent = string(&top["id"]);
    for depth in 2..=4 {
        let child = create(&app, &alice, &format!("level {depth}"), None, Some(&parent)).await;
        assert_eq!(string(&child["parent_id"]), parent);
        assert_eq!(string(&child["list_id"]), inbox);
        parent = string(&child["id"]);
    }
    // A fifth level is refused, and nothing is stored.
    let deep = app
        .create_task(
            &alice.token,
            &json!({"title": "too deep", "parent_id": parent}),
        )
        .await;
    assert_eq!(deep.invalid_fields(), vec!["parent_id"]);
    // Parents that are not tasks of the list: unknown, another user's, another list's,
    // trashed, or not an id at all.
    let bob = app.signed_up("bob@example.com").await;
    let bobs = create(&app, &bob, "bob's", None, None).await;
    let other_list = shared_list(&app, &alice).await;
    let elsewhere = create(&app, &alice, "elsewhere", Some(&other_list), None).await;
    let trashed = create(&app, &alice, "trashed", None, None).await;
    app.delete_task(&alice.token, &string(&trashed["id"]))
        .await
        .assert_status(204);
    for bad in [
        random_id(),
        string(&bobs["id"]),
        string(&elsewhere["id"]),
        string(&trashed["id"]),
        "not-a-uuid".to_owned(),
    ] {
        let refused = app
            .create_task(&alice.token, &json!({"title": "orphan", "parent_id": bad}))
            .await;
        assert_eq!(refused.invalid_fields(), vec!["parent_id"], "{bad}");
    }
    // Siblings come in the order they were created, each after the last.
    for title in ["b", "c", "d"] {
        create(&app, &alice, title, None, Some(&string(&top["id"]))).await;
    }
    assert_eq!(
        order(&app, &alice, &inbox, &string(&top["id"])).await,
        vec!["level 2", "b", "c", "d"]
    );
    assert_eq!(order(&app, &alice, &inbox, "none").await, vec!["top"]);
    // The parent filter without sort, and sort=position without its list and parent.
    let children = app
        .call(
            Method::GET,
            &format!("/tasks?parent_id={}", string(&top["id"])),
            Some(&alice.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(children.as_array().map(Vec::len), Some(4));
    for query in [
        "sort=position".to_owned(),
        format!("sort=position&list_id={inbox}"),
        "sort=-position&parent_id=none".to_owned(),
    ] {
        let refused = app
            .call(Method::GET, &format!("/tasks?{query}"), Some(&alice.token))
            .await;
        assert_eq!(refused.invalid_fields(), vec!["sort"], "{query}");
    }
    let bad = app
        .call(Method::GET, "/tasks?parent_id=nope", Some(&alice.token))
        .await;
    assert_eq!(bad.invalid_fields(), vec!["parent_id"]);
    // Bob sees none of it.
    let bobs_view = app
        .call(
            Method::GET,
            &format!("/tasks?parent_id={}", string(&top["id"])),
            Some(&bob.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(bobs_view, json!([]));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_move_reorders_writing_only_the_moved_task(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let inbox = inbox_of(&app, &alice).await;
    let mut ids = HashMap::new();
    for title in ["a", "b", "c", "d"] {
        ids.insert(
            title,
            string(&create(&app, &alice, title, None, None).await["id"]),
        );
    }
    let before: HashMap<String, Value> = app
        .list_tasks(&alice.token)
        .await
        .json_with_status(200)
        .as_array()
        .unwrap_or_else(|| panic!("no array"))
        .iter()
        .map(|t| (string(&t["title"]), t.clone()))
        .collect();
    // d right after a.
    let moved = move_task(&app, &alice, &ids["d"], &json!({"after_id": ids["a"]})).await;
    let task = moved.json_with_status(200);
    assert_eq!(task["version"], 2);
    assert_eq!(moved.header("etag"), Some("\"2\""));
    assert_eq!(
        order(&app, &alice, &inbox, "none").await,
        vec!["a", "d", "b", "c"]
    );
    // Only d's row changed.
    for title in ["a", "b", "c"] {
        let now = app
            .get_task(&alice.token, &ids[title])
            .await
            .json_with_status(200);
        assert_eq!(now, before[title], "{title} was rewritten");
    }
    // First, then last again by naming the last sibling.
    move_task(&app, &alice, &ids["c"], &json!({"after_id": null}))
        .await
        .assert_status(200);
    assert_eq!(
        order(&app, &alice, &inbox, "none").await,
        vec!["c", "a", "d", "b"]
    );
    move_task(&app, &alice, &ids["c"], &json!({"after_id": ids["b"]}))
        .await
        .assert_status(200);
    assert_eq!(
        order(&app, &alice, &inbox, "none").await,
        vec!["a", "d", "b", "c"]
    );
    // Where it already is: nothing changes, not even the version.
    let c = app
        .get_task(&alice.token, &ids["c"])
        .await
        .json_with_status(200);
    for body in [
        json!({}),
        json!({"after_id": ids["b"]}),
        json!({"parent_id": null}),
    ] {
        let same = move_task(&app, &alice, &ids["c"], &body)
            .await
            .json_with_status(200);
        assert_eq!(same, c, "{body}");
    }
    // If-Match: a stale version is 412 and changes nothing; the current one moves.
    let stale = app
        .call_json_with_headers(
            Method::POST,
            &format!("/tasks/{}/move", ids["c"]),
            Some(&alice.token),
            &[("If-Match", "\"1\"")],
            &json!({"after_id": null}),
        )
        .await;
    stale.assert_problem(412);
    let current = format!("\"{}\"", c["version"]);
    app.call_json_with_headers(
        Method::POST,
        &format!("/tasks/{}/move", ids["c"]),
        Some(&alice.token),
        &[("If-Match", current.as_str())],
        &json!({"after_id": null}),
    )
    .await
    .assert_status(200);
    assert_eq!(
        order(&app, &alice, &inbox, "none").await,
        vec!["c", "a", "d", "b"]
    );
    // Bad requests change nothing.
    let unchanged = order(&app, &alice, &inbox, "none").await;
    for (body, field) in [
        (json!({"after_id": random_id()}), "after_id"),
        (json!({"after_id": ids["c"]}), "after_id"),
        (json!({"after_id": "x"}), "after_id"),
        (json!({"parent_id": random_id()}), "parent_id"),
        (json!({"list_id": random_id()}), "list_id"),
        (json!({"list_id": null}), "list_id"),
        (json!({"position": "a0"}), "position"),
    ] {
        let refused = move_task(&app, &alice, &ids["c"], &body).await;
        assert_eq!(refused.invalid_fields(), vec![field], "{body}");
    }
    assert_eq!(order(&app, &alice, &inbox, "none").await, unchanged);
    // Another user's task, or none: 404; no token: 401; wrong method: 405.
    let bob = app.signed_up("bob@example.com").await;
    move_task(&app, &bob, &ids["c"], &json!({"after_id": null}))
        .await
        .assert_problem(404);
    move_task(&app, &alice, &random_id(), &json!({}))
        .await
        .assert_problem(404);
    app.call_json(
        Method::POST,
        &format!("/tasks/{}/move", ids["c"]),
        None,
        &json!({}),
    )
    .await
    .assert_unauthorized();
    app.call(
        Method::GET,
        &format!("/tasks/{}/move", ids["c"]),
        Some(&alice.token),
    )
    .await
    .assert_problem(405);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_move_under_a_parent_keeps_the_tree_a_tree_of_four_levels(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let inbox = inbox_of(&app, &alice).await;
    // p > c > g, and q > r > s > t (four levels).
    let p = string(&create(&app, &alice, "p", None, None).await["id"]);
    let c = string(&create(&app, &alice, "c", None, Some(&p)).await["id"]);
    let g = string(&create(&app, &alice, "g", None, Some(&c)).await["id"]);
    let q = string(&create(&app, &alice, "q", None, None).await["id"]);
    let r = string(&create(&app, &alice, "r", None, Some(&q)).await["id"]);
    let s = string(&create(&app, &alice, "s", None, Some(&r)).await["id"]);
    let t = string(&create(&app, &alice, "t", None, Some(&s)).await["id"]);
    // Under itself or one of its subtasks: a cycle.
    for target in [&p, &c, &g] {
        let refused = move_task(&app, &alice, &p, &json!({"parent_id": target})).await;
        assert_eq!(refused.invalid_fields(), vec!["parent_id"]);
    }
    // p (three levels) under r (depth 2) would reach depth 5; under q (depth 1) it fits.
    let refused = move_task(&app, &alice, &p, &json!({"parent_id": r})).await;
    assert_eq!(refused.invalid_fields(), vec!["parent_id"]);
    let moved = move_task(&app, &alice, &p, &json!({"parent_id": q}))
        .await
        .json_with_status(200);
    assert_eq!(string(&moved["parent_id"]), q);
    assert_eq!(order(&app, &alice, &inbox, &q).await, vec!["r", "p"]);
    // Its subtasks came along unchanged.
    let g_now = app.get_task(&alice.token, &g).await.json_with_status(200);
    assert_eq!(string(&g_now["parent_id"]), c);
    assert_eq!(g_now["version"], 1);
    // Before r, under the same parent, then to the top level (last there).
    move_task(&app, &alice, &p, &json!({"after_id": null}))
        .await
        .assert_status(200);
    assert_eq!(order(&app, &alice, &inbox, &q).await, vec!["p", "r"]);
    let top = move_task(&app, &alice, &p, &json!({"parent_id": null}))
        .await
        .json_with_status(200);
    assert_eq!(top["parent_id"], Value::Null);
    assert_eq!(order(&app, &alice, &inbox, "none").await, vec!["q", "p"]);
    // Under a parent, right after one of its children.
    move_task(&app, &alice, &t, &json!({"parent_id": q, "after_id": r}))
        .await
        .assert_status(200);
    assert_eq!(order(&app, &alice, &inbox, &q).await, vec!["r", "t"]);
    // A sibling that is not under the target parent is refused.
    let refused = move_task(&app, &alice, &t, &json!({"parent_id": p, "after_id": r})).await;
    assert_eq!(refused.invalid_fields(), vec!["after_id"]);
    // A trashed parent is no parent.
    app.delete_task(&alice.token, &s).await.assert_status(204);
    let refused = move_task(&app, &alice, &t, &json!({"parent_id": s})).await;
    assert_eq!(refused.invalid_fields(), vec!["parent_id"]);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_move_to_another_list_takes_the_subtasks_and_needs_editing_both(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let editor = app.signed_up("editor@example.com").await;
    let viewer = app.signed_up("viewer@example.com").await;
    let stranger = app.signed_up("stranger@example.com").await;
    let shared = shared_list(&app, &owner).await;
    join(&app, &owner, &shared, &editor, "editor").await;
    join(&app, &owner, &shared, &viewer, "viewer").await;
    let elsewhere = shared_list(&app, &owner).await;
    join(&app, &owner, &elsewhere, &viewer, "editor").await;
    // In the shared list: a task assigned to the editor, with a subtask assigned to the
    // viewer, and a grandchild.
    let task = app
        .create_task(
            &owner.token,
            &json!({"title": "task", "list_id": shared, "assignee_id": editor.id}),
        )
        .await
        .json_with_status(201);
    let id = string(&task["id"]);
    let sub = app
        .create_task(
            &owner.token,
            &json!({"title": "sub", "list_id": shared, "parent_id": id, "assignee_id": viewer.id}),
        )
        .await
        .json_with_status(201);
    let grand = create(
        &app,
        &owner,
        "grand",
        Some(&shared),
        Some(&string(&sub["id"])),
    )
    .await;
    // The viewer may not move it (403), the editor may not move it to a list they are not
    // in (422 on list_id), the stranger does not see it (404).
    move_task(&app, &viewer, &id, &json!({"list_id": elsewhere}))
        .await
        .assert_problem(403);
    let refused = move_task(&app, &editor, &id, &json!({"list_id": elsewhere})).await;
    assert_eq!(refused.invalid_fields(), vec!["list_id"]);
    move_task(&app, &stranger, &id, &json!({"list_id": elsewhere}))
        .await
        .assert_problem(404);
    // The viewer of the shared list is an editor of the other: still 403 (not an editor of
    // both). Into a list where the mover is a viewer: 403 as well.
    let viewers_task = create(&app, &viewer, "viewer's own", None, None).await;
    move_task(
        &app,
        &viewer,
        &string(&viewers_task["id"]),
        &json!({"list_id": shared}),
    )
    .await
    .assert_problem(403);
    // The owner moves it: to the top level of the other list, last, with its subtasks;
    // the editor (not a member there) is no longer its assignee; the viewer (an editor
    // there) stays the subtask's.
    let existing = create(&app, &owner, "already there", Some(&elsewhere), None).await;
    let moved = move_task(&app, &owner, &id, &json!({"list_id": elsewhere}))
        .await
        .json_with_status(200);
    assert_eq!(string(&moved["list_id"]), elsewhere);
    assert_eq!(moved["parent_id"], Value::Null);
    assert_eq!(moved["assignee_id"], Value::Null);
    assert_eq!(moved["version"], 2);
    assert_eq!(
        order(&app, &owner, &elsewhere, "none").await,
        vec![string(&existing["title"]), "task".to_owned()]
    );
    for (child, assignee) in [(&sub, json!(viewer.id)), (&grand, Value::Null)] {
        let now = app
            .get_task(&owner.token, &string(&child["id"]))
            .await
            .json_with_status(200);
        assert_eq!(string(&now["list_id"]), elsewhere);
        assert_eq!(
            now["version"], 2,
            "a subtask that changed list is a new version"
        );
        assert_eq!(now["assignee_id"], assignee);
    }
    // The editor, no member of the other list, no longer sees any of it.
    for gone in [&id, &string(&sub["id"]), &string(&grand["id"])] {
        app.get_task(&editor.token, gone).await.assert_problem(404);
    }
    // An archived list refuses moves into it and out of it (409).
    app.call_json(
        Method::PATCH,
        &format!("/lists/{shared}"),
        Some(&owner.token),
        &json!({"archived": true}),
    )
    .await
    .assert_status(200);
    move_task(&app, &owner, &id, &json!({"list_id": shared}))
        .await
        .assert_problem(409);
}

/// The tree as the model keeps it: each task's parent and, per parent, the children in order.
#[derive(Debug, Default, Clone)]
struct Model {
    parent: HashMap<String, Option<String>>,
    children: HashMap<Option<String>, Vec<String>>,
}

impl Model {
    fn add(&mut self, id: &str, parent: Option<&str>) {
        self.parent.insert(id.into(), parent.map(str::to_owned));
        self.children
            .entry(parent.map(str::to_owned))
            .or_default()
            .push(id.into());
    }

    fn depth(&self, id: &str) -> usize {
        let mut depth = 1;
        let mut at = self.parent[id].clone();
        while let Some(p) = at {
            depth += 1;
            at = self.parent[&p].clone();
        }
        depth
    }

    fn height(&self, id: &str) -> usize {
        1 + self.children.get(&Some(id.to_owned())).map_or(0, |kids| {
            kids.iter().map(|k| self.height(k)).max().unwrap_or(0)
        })
    }

    fn is_under(&self, id: &str, ancestor: &str) -> bool {
        let mut at = Some(id.to_owned());
        while let Some(a) = at {
            if a == ancestor {
                return true;
            }
            at = self.parent[&a].clone();
        }
        false
    }

    /// Applies a move as the API defines it; `Err(field)` when it must be refused.
    fn apply(
        &mut self,
        id: &str,
        parent: Option<Option<&str>>,
        after: Option<Option<&str>>,
    ) -> Result<(), &'static str> {
        let current = self.parent[id].clone();
        let target = match parent {
            Some(p) => p.map(str::to_owned),
            None => current.clone(),
        };
        if let Some(t) = &target {
            if self.is_under(t, id) {
                return Err("parent_id");
            }
            if self.depth(t) + self.height(id) > 4 {
                return Err("parent_id");
            }
        }
        let siblings: Vec<String> = self
            .children
            .get(&target)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|s| s != id)
            .collect();
        let index = match after {
            Some(None) => 0,
            Some(Some(a)) => match siblings.iter().position(|s| s == a) {
                Some(i) => i + 1,
                None => return Err("after_id"),
            },
            None if target == current => return Ok(()),
            None => siblings.len(),
        };
        if let Some(kids) = self.children.get_mut(&current) {
            kids.retain(|k| k != id);
        }
        let kids = self.children.entry(target.clone()).or_default();
        kids.insert(index.min(kids.len()), id.to_owned());
        self.parent.insert(id.to_owned(), target);
        Ok(())
    }
}

/// A small deterministic generator (xorshift), so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % u64::try_from(n).unwrap_or(1)).unwrap_or(0)
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn many_random_moves_keep_the_order_a_model_predicts(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let inbox = inbox_of(&app, &alice).await;
    let mut model = Model::default();
    let mut ids = Vec::new();
    let mut titles = HashMap::new();
    for n in 0..8 {
        let title = format!("t{n}");
        let id = string(&create(&app, &alice, &title, None, None).await["id"]);
        model.add(&id, None);
        titles.insert(id.clone(), title);
        ids.push(id);
    }
    let mut rng = Rng(0x5eed_0a11);
    let (mut moved, mut refused) = (0, 0);
    for step in 0..120 {
        let id = ids[rng.below(ids.len())].clone();
        let parent = match rng.below(4) {
            0 => Some(None),
            1 => Some(Some(ids[rng.below(ids.len())].clone())),
            _ => None,
        };
        let after = match rng.below(4) {
            0 => Some(None),
            1 | 2 => Some(Some(ids[rng.below(ids.len())].clone())),
            _ => None,
        };
        let mut body = json!({});
        if let Some(p) = &parent {
            body["parent_id"] = json!(p);
        }
        if let Some(a) = &after {
            body["after_id"] = json!(a);
        }
        let expected = model.apply(
            &id,
            parent.as_ref().map(|p| p.as_deref()),
            after.as_ref().map(|a| a.as_deref()),
        );
        let response = move_task(&app, &alice, &id, &body).await;
        match expected {
            Ok(()) => {
                response.assert_status(200);
                moved += 1;
            }
            Err(field) => {
                assert_eq!(
                    response.invalid_fields(),
                    vec![field],
                    "step {step}: {body}"
                );
                refused += 1;
            }
        }
        if step % 20 == 19 {
            check_against(&app, &alice, &inbox, &model, &titles).await;
        }
    }
    check_against(&app, &alice, &inbox, &model, &titles).await;
    // The run exercised both: many moves, and refusals of each kind the model knows.
    assert!(
        moved >= 60 && refused >= 10,
        "{moved} moves, {refused} refusals"
    );
    let deepest = model
        .parent
        .keys()
        .map(|id| model.depth(id))
        .max()
        .unwrap_or(0);
    assert!(deepest >= 3, "the tree reached depth {deepest} only");
}

/// Every parent's children, as listed in their order, are the model's.
async fn check_against(
    app: &TestApp,
    user: &TestUser,
    list: &str,
    model: &Model,
    titles: &HashMap<String, String>,
) {
    let mut parents: Vec<Option<String>> = vec![None];
    parents.extend(model.parent.keys().cloned().map(Some));
    for parent in parents {
        let want: Vec<String> = model
            .children
            .get(&parent)
            .map(|kids| kids.iter().map(|k| titles[k].clone()).collect())
            .unwrap_or_default();
        let key = parent.clone().unwrap_or_else(|| "none".to_owned());
        assert_eq!(
            order(app, user, list, &key).await,
            want,
            "children of {key}"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn concurrent_moves_by_two_editors_lose_and_duplicate_nothing(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let editor = app.signed_up("editor@example.com").await;
    let list = shared_list(&app, &owner).await;
    join(&app, &owner, &list, &editor, "editor").await;
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(string(
            &create(&app, &owner, &format!("t{n}"), Some(&list), None).await["id"],
        ));
    }
    // Both editors move tasks around the top level at once: each move goes right after
    // another task, or first. Every move must succeed (they take turns) and, at the end,
    // every task is at the top level exactly once, with a position of its own.
    let mut moves = Vec::new();
    for round in 0..16usize {
        for (who, user) in [(0usize, &owner), (1, &editor)] {
            let id = ids[(round * 3 + who * 5) % ids.len()].clone();
            let after = ids[(round * 7 + who) % ids.len()].clone();
            let body = if after == id {
                json!({"after_id": null})
            } else {
                json!({"after_id": after})
            };
            let app = &app;
            moves.push(async move {
                let response = move_task(app, user, &id, &body).await;
                (response.status.as_u16(), body)
            });
        }
    }
    for (status, body) in futures_util::future::join_all(moves).await {
        assert_eq!(status, 200, "{body}");
    }
    let listed = app
        .call(
            Method::GET,
            &format!("/tasks?list_id={list}&parent_id=none&sort=position&limit=100"),
            Some(&owner.token),
        )
        .await
        .json_with_status(200);
    let listed = listed.as_array().cloned().unwrap_or_default();
    let mut seen: Vec<String> = listed.iter().map(|t| string(&t["id"])).collect();
    seen.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(seen, want, "every task once");
    let mut positions: Vec<String> = listed.iter().map(|t| string(&t["position"])).collect();
    let count = positions.len();
    positions.dedup();
    assert_eq!(positions.len(), count, "positions are distinct: {listed:?}");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn concurrent_creations_and_moves_in_one_list_give_every_task_a_place_of_its_own(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let editor = app.signed_up("editor@example.com").await;
    let list = shared_list(&app, &owner).await;
    join(&app, &owner, &list, &editor, "editor").await;
    let mut existing = Vec::new();
    for n in 0..4 {
        existing.push(string(
            &create(&app, &owner, &format!("old{n}"), Some(&list), None).await["id"],
        ));
    }
    let last_before = string(
        &app.call(
            Method::GET,
            &format!("/tasks/{}", existing[3]),
            Some(&owner.token),
        )
        .await
        .json_with_status(200)["position"],
    );
    // Both members create top-level tasks at once (which take no turn), while moves of the
    // older tasks (which do) run among them: every creation lands after the tasks that
    // were last before it, and no two tasks share a position.
    let creations = (0..24usize).map(|n| {
        let (app, user, list) = (&app, if n % 2 == 0 { &owner } else { &editor }, &list);
        async move { create(app, user, &format!("new{n}"), Some(list), None).await }
    });
    let moves = (0..8usize).map(|n| {
        let (app, user) = (&app, if n % 2 == 0 { &editor } else { &owner });
        let (id, after) = (&existing[n % 4], &existing[(n + 1) % 4]);
        async move {
            move_task(app, user, id, &json!({"after_id": after}))
                .await
                .status
                .as_u16()
        }
    });
    let (created, moved) = futures_util::future::join(
        futures_util::future::join_all(creations),
        futures_util::future::join_all(moves),
    )
    .await;
    assert!(moved.iter().all(|&s| s == 200), "{moved:?}");
    for task in &created {
        assert!(
            string(&task["position"]) > last_before,
            "a new task goes after the last one before it: {task}"
        );
    }
    let listed = app
        .call(
            Method::GET,
            &format!("/tasks?list_id={list}&parent_id=none&sort=position&limit=100"),
            Some(&owner.token),
        )
        .await
        .json_with_status(200);
    let listed = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 28, "every task once: {listed:?}");
    let mut positions: Vec<String> = listed.iter().map(|t| string(&t["position"])).collect();
    positions.dedup();
    assert_eq!(positions.len(), 28, "positions are distinct: {listed:?}");
    // Each created task is listed where its answer placed it.
    for task in &created {
        let found = listed.iter().find(|t| t["id"] == task["id"]);
        assert_eq!(found.map(|t| &t["position"]), Some(&task["position"]));
    }
}

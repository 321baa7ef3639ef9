//! The OpenAPI 3 document. paperclip derives paths, operations, parameters, bodies and
//! schemas from the handlers; [`finish`] then adds what paperclip cannot express: the HTTP
//! bearer scheme, the problem+json error responses of every operation (from one table),
//! response headers, nullability, the request bodies' schemas (generated from their field
//! lists, with every rule they enforce), and the `servers` entry.

use paperclip::actix::OpenApiExt;
use paperclip::v2::schema::Apiv2Schema;
use serde_json::{Map, Value, json};

use crate::auth::{API_TOKEN_SCHEME, SECURITY_SCHEME};
use crate::error::{Problem, ProblemField};

/// Error statuses every operation can answer: a request that arrives too slowly, a bad
/// query string, a failure of ours, and a request that runs past `server.request_timeout`.
const COMMON_ERRORS: &[u16] = &[408, 422, 500, 503];

/// The error statuses each operation declares, besides [`COMMON_ERRORS`].
const OPERATION_ERRORS: &[(&str, &[u16])] = &[
    ("ping", &[]),
    ("check_liveness", &[]),
    ("check_readiness", &[503]),
    ("register_user", &[400, 409, 413, 415, 429, 503]),
    ("login_user", &[400, 401, 403, 413, 415, 429, 503]),
    ("refresh_token", &[400, 401, 413, 415, 429, 503]),
    ("logout_session", &[400, 401, 403, 413, 415, 503]),
    ("logout_all_sessions", &[401, 403, 503]),
    ("get_me", &[401, 403, 503]),
    ("change_password", &[400, 401, 403, 413, 415, 429, 503]),
    ("delete_me", &[401, 403, 409, 429, 503]),
    ("create_api_token", &[400, 401, 403, 409, 413, 415, 503]),
    ("list_api_tokens", &[401, 403, 503]),
    ("delete_api_token", &[401, 403, 404, 503]),
    ("list_sessions", &[401, 403, 503]),
    ("delete_session", &[401, 403, 404, 503]),
    ("change_email", &[400, 401, 403, 409, 413, 415, 429, 503]),
    ("resend_email_verification", &[401, 403, 409, 429, 503]),
    ("forgot_password", &[400, 413, 415, 429, 503]),
    ("reset_password", &[400, 401, 413, 415, 429, 503]),
    ("verify_email", &[400, 401, 409, 413, 415, 429, 503]),
    ("create_password_reset", &[401, 403, 404, 503]),
    ("list_users", &[401, 403, 503]),
    ("get_user", &[401, 403, 404, 503]),
    ("update_user", &[400, 401, 403, 404, 409, 413, 415, 503]),
    ("delete_user", &[401, 403, 404, 409, 503]),
    ("list_user_tasks", &[401, 403, 404, 429, 503]),
    ("list_tasks", &[401, 403, 429, 503]),
    ("create_task", &[400, 401, 403, 409, 413, 415, 429, 503]),
    ("get_task", &[401, 403, 404, 503]),
    (
        "update_task",
        &[400, 401, 403, 404, 409, 412, 413, 415, 429, 503],
    ),
    (
        "put_task",
        &[400, 401, 403, 404, 409, 412, 413, 415, 429, 503],
    ),
    ("delete_task", &[401, 403, 404, 409, 412, 429, 503]),
    (
        "move_task",
        &[400, 401, 403, 404, 409, 412, 413, 415, 429, 503],
    ),
    ("follow_events", &[401, 403, 410, 429, 503]),
    ("create_event_ticket", &[401, 403, 503]),
    ("list_trash", &[401, 403, 503]),
    ("restore_trashed_task", &[401, 403, 404, 409, 412, 429, 503]),
    ("purge_trashed_task", &[401, 403, 404, 409, 412, 429, 503]),
    ("list_changes", &[401, 403, 410, 503]),
    ("list_lists", &[401, 403, 503]),
    ("create_list", &[400, 401, 403, 409, 413, 415, 429, 503]),
    ("get_list", &[401, 403, 404, 503]),
    (
        "update_list",
        &[400, 401, 403, 404, 409, 412, 413, 415, 429, 503],
    ),
    ("delete_list", &[401, 403, 404, 409, 412, 429, 503]),
    ("get_list_members", &[401, 403, 404, 503]),
    (
        "update_member",
        &[400, 401, 403, 404, 409, 413, 415, 429, 503],
    ),
    ("remove_member", &[401, 403, 404, 409, 429, 503]),
    (
        "create_invitation",
        &[400, 401, 403, 404, 409, 413, 415, 429, 503],
    ),
    ("get_list_invitations", &[401, 403, 404, 409, 503]),
    ("delete_invitation", &[401, 403, 404, 409, 429, 503]),
    ("get_my_invitations", &[401, 403, 503]),
    ("accept_invitation", &[401, 403, 404, 429, 503]),
    ("decline_invitation", &[401, 403, 404, 429, 503]),
];

/// The operations personal API tokens may call (with the scope named), besides access
/// tokens: every other authenticated operation refuses them (403 session-required).
const API_TOKEN_OPERATIONS: &[(&str, &str)] = &[
    ("list_tasks", "tasks:read"),
    ("get_task", "tasks:read"),
    ("create_task", "tasks:write"),
    ("update_task", "tasks:write"),
    ("put_task", "tasks:write"),
    ("delete_task", "tasks:write"),
    ("move_task", "tasks:write"),
    ("list_trash", "tasks:read"),
    ("restore_trashed_task", "tasks:write"),
    ("purge_trashed_task", "tasks:write"),
    ("list_changes", "changes:read"),
    ("follow_events", "changes:read"),
    ("list_lists", "lists:read"),
    ("get_list", "lists:read"),
    ("get_list_members", "lists:read"),
    ("get_list_invitations", "lists:read"),
    ("get_my_invitations", "lists:read"),
    ("create_list", "lists:write"),
    ("update_list", "lists:write"),
    ("delete_list", "lists:write"),
    ("update_member", "lists:write"),
    ("remove_member", "lists:write"),
    ("create_invitation", "lists:write"),
    ("delete_invitation", "lists:write"),
    ("accept_invitation", "lists:write"),
    ("decline_invitation", "lists:write"),
];

/// Listings that are not paginated: each is bounded by a per-account cap
/// (`auth.max_api_tokens`, `auth.max_sessions`).
#[cfg(test)]
const UNPAGINATED_LISTS: &[&str] = &["list_api_tokens", "list_sessions"];

/// Response headers worth documenting: (operation, status, header, description).
const RESPONSE_HEADERS: &[(&str, &str, &str, &str)] = &[
    (
        "create_task",
        "201",
        "Location",
        "The new task's URL, `/tasks/{id}`.",
    ),
    (
        "create_task",
        "201",
        "ETag",
        "The task's version, as `\"<version>\"`.",
    ),
    (
        "get_task",
        "200",
        "ETag",
        "The task's version, as `\"<version>\"`.",
    ),
    (
        "update_task",
        "200",
        "ETag",
        "The task's new version, as `\"<version>\"`.",
    ),
    (
        "put_task",
        "200",
        "ETag",
        "The task's new version, as `\"<version>\"`.",
    ),
    (
        "create_list",
        "201",
        "Location",
        "The new list's URL, `/lists/{id}`.",
    ),
    (
        "create_list",
        "201",
        "ETag",
        "The list's version, as `\"<version>\"`.",
    ),
    (
        "get_list",
        "200",
        "ETag",
        "The list's version, as `\"<version>\"`.",
    ),
    (
        "update_list",
        "200",
        "ETag",
        "The list's new version, as `\"<version>\"`.",
    ),
    (
        "create_invitation",
        "201",
        "Location",
        "The invitation's URL, `/lists/{id}/invitations/{inv_id}`.",
    ),
    (
        "accept_invitation",
        "200",
        "ETag",
        "The list's version, as `\"<version>\"`.",
    ),
    (
        "login_user",
        "200",
        "Cache-Control",
        "`no-store`: tokens must not be cached.",
    ),
    (
        "refresh_token",
        "200",
        "Cache-Control",
        "`no-store`: tokens must not be cached.",
    ),
    (
        "create_api_token",
        "201",
        "Cache-Control",
        "`no-store`: tokens must not be cached.",
    ),
    (
        "create_password_reset",
        "201",
        "Cache-Control",
        "`no-store`: the token must not be cached.",
    ),
    (
        "list_users",
        "200",
        "Link",
        "`<…&cursor=…>; rel=\"next\"` while more accounts follow.",
    ),
    (
        "list_tasks",
        "200",
        "Link",
        "`<…&cursor=…>; rel=\"next\"` while more tasks follow.",
    ),
    (
        "list_tasks",
        "200",
        "X-Changes-Cursor",
        "The change cursor of the present as of this read: follow `GET /changes?cursor=` from \
         it and no change the page does not show is missed.",
    ),
    (
        "list_trash",
        "200",
        "Link",
        "`<…&cursor=…>; rel=\"next\"` while more trashed tasks follow.",
    ),
    (
        "list_trash",
        "200",
        "X-Changes-Cursor",
        "The change cursor of the present as of this read: follow `GET /changes?cursor=` from \
         it and no restore or purge the page does not show is missed.",
    ),
    (
        "restore_trashed_task",
        "200",
        "ETag",
        "The restored task's new version, as `\"<version>\"`.",
    ),
    (
        "list_lists",
        "200",
        "Link",
        "`<…&cursor=…>; rel=\"next\"` while more lists follow.",
    ),
    (
        "list_lists",
        "200",
        "X-Changes-Cursor",
        "The change cursor of the present as of this read: follow `GET /changes?cursor=` from \
         it and no change the page does not show is missed.",
    ),
    (
        "list_user_tasks",
        "200",
        "Link",
        "`<…&cursor=…>; rel=\"next\"` while more tasks follow.",
    ),
];

/// Response properties that may be `null` (OpenAPI 3.0 `nullable`): (schema, property,
/// or the path to one inside the schemas paperclip inlines, such as a change's task).
/// Request bodies state theirs in their field lists.
const NULLABLE: &[(&str, &str)] = &[
    ("TaskResponse", "completed_at"),
    ("TaskResponse", "due_at"),
    ("TrashedTaskResponse", "completed_at"),
    ("TrashedTaskResponse", "due_at"),
    ("TrashedTaskResponse", "trashed_by"),
    ("ApiTokenResponse", "expires_at"),
    ("ApiTokenResponse", "last_used_at"),
    ("CreatedApiTokenResponse", "expires_at"),
    ("CreatedApiTokenResponse", "last_used_at"),
    ("SessionResponse", "user_agent"),
    ("SessionResponse", "address"),
    ("ChangePageResponse", "changes/items/properties/list_id"),
];

/// Where a change's `data` is in the change page's schema, and what it is: a task or a list
/// (paperclip cannot say `oneOf`).
const CHANGE_DATA: &str = "/properties/changes/items/properties/data";

/// Builds the finished document for the API's routes.
pub fn document() -> Value {
    let mut raw = Value::Null;
    let _ = actix_web::App::new()
        .wrap_api()
        .configure(crate::routes::configure)
        .with_raw_json_spec_v3(|app, spec| {
            raw = spec;
            app
        });
    finish(raw)
}

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "The body is not well-formed JSON.",
        408 => "The request head or body did not arrive in time; the connection is closed.",
        401 => {
            "Missing, invalid, expired or revoked credentials (or a one-time token that is \
                unknown, used, replaced or expired)."
        }
        403 => {
            "Not allowed: a disabled account, a wrong current password, not an \
                administrator, a change that needs a recent login (problem type \
                `urn:taskapi:problem:reauthentication-required`: log in again), an API token \
                without the scope needed (`urn:taskapi:problem:missing-scope`, the detail names \
                it), an API token on a route only a login's access token may use \
                (`urn:taskapi:problem:session-required`), or the login of an unverified \
                address while verification is required (problem type \
                `urn:taskapi:problem:email-not-verified`)."
        }
        404 => "No such resource for the caller (missing, someone else's, or not a valid id).",
        409 => {
            "Conflicts with the current state (a taken email, the last active administrator, \
                an `Idempotency-Key` whose first request is still running: see `Retry-After`, or \
                an account quota: problem type `urn:taskapi:problem:quota-exceeded`)."
        }
        410 => {
            "The cursor is older than the change log's retention (`sync.retention`): read \
                everything again, then follow the changes from the new `X-Changes-Cursor`."
        }
        412 => "`If-Match` names a version the task no longer has; nothing was changed.",
        413 => "The body exceeds 65 536 bytes.",
        415 => "The body is not sent as `application/json`.",
        422 => "Invalid fields or query parameters; `errors` lists each one.",
        429 => {
            "Too many requests: auth attempts from this address or failed logins for this \
                email, the account's task writes per minute, or a search that waited too \
                long for its account's turn; retry after `Retry-After` seconds."
        }
        500 => "An unexpected failure; the body carries no internals.",
        503 => {
            "The database is unreachable, password hashing is at capacity, or the request \
                ran past its time limit: retry after `Retry-After` seconds. Without \
                `Retry-After` and with problem type `urn:taskapi:problem:mail-not-configured`: \
                this server sends no mail."
        }
        _ => "Error.",
    }
}

fn schema_json<T: Apiv2Schema>() -> Value {
    let text = serde_json::to_string(&T::raw_schema()).unwrap_or_default();
    serde_json::from_str(&text.replace("#/definitions/", "#/components/schemas/"))
        .unwrap_or(Value::Null)
}

fn object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("just made an object"),
    }
}

/// Completes paperclip's output; see the module docs.
pub fn finish(mut doc: Value) -> Value {
    let root = object(&mut doc);
    root.insert("openapi".into(), json!("3.0.3"));
    root.insert(
        "info".into(),
        json!({
            "title": "taskapi",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Task management over HTTP: register, log in for a bearer token \
                            (and a refresh token), and manage your own private tasks. Every error is \
                            `application/problem+json` (RFC 9457).",
            "license": {"name": "MIT", "url": "https://opensource.org/licenses/MIT"}
        }),
    );
    root.insert(
        "servers".into(),
        json!([{"url": "/", "description": "This server"}]),
    );
    root.insert(
        "tags".into(),
        json!([
            {"name": "Accounts", "description": "Registration, login and your own account."},
            {"name": "Lists", "description": "Your lists: your inbox, and the lists shared with you."},
            {"name": "Tasks", "description": "The tasks of your lists: visible to their members only."},
            {"name": "Trash", "description": "Deleted tasks of the lists you edit: restore them, or purge them for good."},
            {"name": "Changes", "description": "What changed in your lists and their tasks since a cursor, to keep a copy in step."},
            {"name": "Admin", "description": "Account administration (role `admin`)."},
            {"name": "System", "description": "Liveness and readiness."}
        ]),
    );

    let components = object(root.entry("components").or_insert(Value::Null));
    components.insert(
        "securitySchemes".into(),
        json!({
            SECURITY_SCHEME: {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "The `access_token` from POST /login or POST /token/refresh."
            },
            API_TOKEN_SCHEME: {
                "type": "http", "scheme": "bearer", "bearerFormat": "tka_…",
                "description": "A personal API token from POST /me/tokens, sent as \
                    `Authorization: Bearer tka_…`. It opens only the operations that list this \
                    scheme, and of them only those its scopes allow (`tasks:read`, \
                    `tasks:write`, `lists:read`, `lists:write`, `changes:read`); others answer \
                    403 naming the missing scope. Account, session, token and admin operations \
                    never accept it (403)."
            }
        }),
    );
    let schemas = object(components.entry("schemas").or_insert(Value::Null));
    schemas.insert("Problem".into(), schema_json::<Problem>());
    schemas.insert("ProblemField".into(), schema_json::<ProblemField>());
    for (name, schema) in crate::routes::request_body_schemas() {
        schemas.insert(name.into(), schema);
    }
    for (schema, property) in NULLABLE {
        if let Some(p) = schemas
            .get_mut(*schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{property}")))
        {
            object(p).insert("nullable".into(), json!(true));
        }
    }
    if let Some(data) = schemas
        .get_mut("ChangePageResponse")
        .and_then(|s| s.pointer_mut(CHANGE_DATA))
    {
        *data = json!({
            "description": "The entity as it is now: a task when `entity` is `task`, a list \
                (with your `role` and its `member_count`) when it is `list`; null for `delete`.",
            // OpenAPI 3.0 wants a `type` beside `nullable`; both alternatives are objects.
            "type": "object",
            "nullable": true,
            "oneOf": [
                {"$ref": "#/components/schemas/TaskResponse"},
                {"$ref": "#/components/schemas/ListResponse"}
            ]
        });
    }

    let Some(paths) = root.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for operations in paths.values_mut() {
        let Some(operations) = operations.as_object_mut() else {
            continue;
        };
        for operation in operations.values_mut() {
            finish_operation(operation);
        }
    }
    strip_ref_siblings(&mut doc);
    doc
}

/// In OpenAPI 3.0 a `$ref` replaces its whole object; paperclip sometimes inlines the target
/// beside the reference, which linters rightly flag. Keep only the reference.
fn strip_ref_siblings(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("$ref") {
                map.retain(|k, _| k == "$ref");
            } else {
                map.values_mut().for_each(strip_ref_siblings);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_ref_siblings),
        _ => {}
    }
}

fn finish_operation(operation: &mut Value) {
    let Some(id) = operation
        .get("operationId")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return;
    };
    // Public operations say so explicitly: an empty requirement list means "no credentials".
    object(operation)
        .entry("security")
        .or_insert_with(|| json!([]));
    if let Some((_, scope)) = API_TOKEN_OPERATIONS.iter().find(|(op, _)| *op == id) {
        if let Some(security) = operation["security"].as_array_mut() {
            security.push(json!({API_TOKEN_SCHEME: []}));
        }
        let note = format!(" Personal API tokens need the scope `{scope}`.");
        if let Some(description) = operation.get_mut("description") {
            if let Some(text) = description.as_str() {
                *description = json!(format!("{text}{note}"));
            }
        } else {
            object(operation).insert("description".into(), json!(note.trim_start()));
        }
    }
    let responses = object(object(operation).entry("responses").or_insert(Value::Null));
    // paperclip knows JSON bodies only; the live events are a stream of server-sent events.
    if id == "follow_events"
        && let Some(ok) = responses.get_mut("200")
    {
        object(ok).insert(
            "content".into(),
            json!({"text/event-stream": {"schema": {
                "type": "string",
                "description": "Server-sent events: `id: <cursor>`, `event: change`, \
                    `data: <a change as GET /changes shows it>`, a blank line; comment lines \
                    (`: heartbeat`) in between."
            }}}),
        );
    }
    let specific = OPERATION_ERRORS
        .iter()
        .find(|(op, _)| *op == id)
        .map_or(&[][..], |(_, s)| *s);
    let mut statuses: Vec<u16> = specific.iter().chain(COMMON_ERRORS).copied().collect();
    statuses.sort_unstable();
    statuses.dedup();
    for status in statuses {
        let mut response = json!({
            "description": error_description(status),
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        });
        let header = match (id.as_str(), status) {
            (_, 401) => Some((
                "WWW-Authenticate",
                "`Bearer realm=\"taskapi\"`, with `error=\"invalid_token\"` for a bad token.",
            )),
            (_, 429 | 503) | ("create_task", 409) => {
                Some(("Retry-After", "Seconds to wait before retrying."))
            }
            _ => None,
        };
        if let Some((name, description)) = header {
            response["headers"] =
                json!({name: {"description": description, "schema": {"type": "string"}}});
        }
        responses.insert(status.to_string(), response);
    }
    for (_, status, name, description) in RESPONSE_HEADERS.iter().filter(|(op, ..)| *op == id) {
        if let Some(response) = responses.get_mut(*status) {
            let headers = object(object(response).entry("headers").or_insert(Value::Null));
            headers.insert(
                (*name).into(),
                json!({"description": description, "schema": {"type": "string"}}),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_body_refuses_unknown_fields_and_every_list_links_to_its_next_page() {
        let doc = document();
        let operations: Vec<&Value> = doc["paths"]
            .as_object()
            .into_iter()
            .flat_map(|paths| paths.values())
            .filter_map(Value::as_object)
            .flat_map(|item| item.values())
            .collect();
        let mut bodies = 0;
        for operation in &operations {
            let reference = operation
                .pointer("/requestBody/content/application~1json/schema/$ref")
                .and_then(Value::as_str);
            if let Some(reference) = reference {
                bodies += 1;
                let name = reference.trim_start_matches("#/components/schemas/");
                let schema = &doc["components"]["schemas"][name];
                assert_eq!(schema["additionalProperties"], json!(false), "{name}");
                assert!(schema["properties"].is_object(), "{name}");
            }
            let id = operation["operationId"].as_str().unwrap_or_default();
            // The change feed pages in its body (`next_cursor`, `has_more`), not by links.
            if id.starts_with("list_") && !UNPAGINATED_LISTS.contains(&id) && id != "list_changes" {
                assert!(
                    operation.pointer("/responses/200/headers/Link").is_some(),
                    "{id} documents its Link header"
                );
            }
        }
        assert!(bodies >= 8, "found {bodies} request bodies");
    }

    #[test]
    fn api_tokens_are_documented_beside_the_bearer_jwt_on_the_operations_that_take_them() {
        let doc = document();
        let scheme = &doc["components"]["securitySchemes"][API_TOKEN_SCHEME];
        assert_eq!(scheme["type"], "http", "{scheme}");
        assert_eq!(scheme["scheme"], "bearer", "{scheme}");
        let mut seen = 0;
        for item in doc["paths"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.values())
        {
            for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
                let id = operation["operationId"].as_str().unwrap_or_default();
                let schemes: Vec<&str> = operation["security"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object)
                    .flat_map(|r| r.keys().map(String::as_str))
                    .collect();
                let takes_tokens = API_TOKEN_OPERATIONS.iter().any(|(op, _)| *op == id);
                assert_eq!(
                    schemes.contains(&API_TOKEN_SCHEME),
                    takes_tokens,
                    "{id}: {schemes:?}"
                );
                if takes_tokens {
                    seen += 1;
                    assert!(schemes.contains(&SECURITY_SCHEME), "{id}: {schemes:?}");
                    assert!(operation.pointer("/responses/403").is_some(), "{id}");
                }
                if schemes.contains(&SECURITY_SCHEME) {
                    assert!(
                        operation.pointer("/responses/403").is_some(),
                        "{id}: an API token gets 403 on every authenticated operation"
                    );
                }
            }
        }
        assert_eq!(seen, API_TOKEN_OPERATIONS.len());
    }
}

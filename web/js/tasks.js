// The task routes: read a page, create, read one, update and delete with If-Match.

import { idempotencyKey, nextLink } from "./http.js";

/** Tasks shown per page. */
export const PAGE_SIZE = 50;

/** `"<version>"`, the task's entity tag. */
export const etagOf = (task) => `"${task.version}"`;

/**
 * One page of tasks, oldest first: `{tasks, next, changesCursor}`. `next` is the following
 * page's address (from `Link`), `changesCursor` where `GET /changes` goes on from this read
 * (from `X-Changes-Cursor`, when the API sends and exposes it). `listId` narrows to one list
 * (for an API that has lists); `page` is a `next` from before.
 */
export async function listTasks(session, { listId = null, page = null } = {}) {
  let path = page;
  if (!path) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (listId) query.set("list_id", listId);
    path = `/tasks?${query}`;
  }
  const { body, headers } = await session.call("GET", path);
  return {
    tasks: body,
    next: nextLink(headers),
    changesCursor: headers.get("X-Changes-Cursor"),
  };
}

export async function getTask(session, id) {
  const { body } = await session.call("GET", `/tasks/${encodeURIComponent(id)}`);
  return body;
}

/** Creates a task; a retry of the same call can never make a second one. */
export async function createTask(session, fields) {
  const { body } = await session.call("POST", "/tasks", {
    body: fields,
    headers: { "Idempotency-Key": idempotencyKey() },
  });
  return body;
}

/** Changes `fields` of `task` if nobody changed it since it was read (else a 412). */
export async function updateTask(session, task, fields) {
  const { body } = await session.call("PATCH", `/tasks/${encodeURIComponent(task.id)}`, {
    body: fields,
    headers: { "If-Match": etagOf(task) },
  });
  return body;
}

/** Deletes `task` if nobody changed it since it was read (else a 412). */
export async function deleteTask(session, task) {
  await session.call("DELETE", `/tasks/${encodeURIComponent(task.id)}`, {
    headers: { "If-Match": etagOf(task) },
  });
}

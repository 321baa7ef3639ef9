// Lists and sharing: the lists the caller belongs to, their members and invitations, and
// the caller's own invitations. An API without lists answers 404 to `GET /lists`; the client
// then shows the tasks alone.

import { ApiError, nextLink } from "./http.js";

/** At most this many pages of lists are read (100 each: the default quota of lists). */
const MAX_LIST_PAGES = 10;

export const ROLES = ["viewer", "editor", "owner"];

/** Whether the API has lists. */
export async function hasLists(session) {
  try {
    await session.call("GET", "/lists?limit=1");
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    throw error;
  }
}

/** The lists the caller belongs to (not archived), inbox first, then by name. */
export async function listLists(session) {
  const lists = [];
  let path = "/lists?archived=false&sort=name&limit=100";
  for (let pages = 0; path && pages < MAX_LIST_PAGES; pages += 1) {
    const { body, headers } = await session.call("GET", path);
    lists.push(...body);
    path = nextLink(headers);
  }
  return lists.sort((a, b) => Number(b.is_inbox) - Number(a.is_inbox));
}

export async function createList(session, name) {
  const { body } = await session.call("POST", "/lists", { body: { name } });
  return body;
}

/** Renames `list` if nobody changed it since it was read (else a 412). */
export async function renameList(session, list, name) {
  const { body } = await session.call("PATCH", `/lists/${encodeURIComponent(list.id)}`, {
    body: { name },
    headers: { "If-Match": `"${list.version}"` },
  });
  return body;
}

export async function listMembers(session, listId) {
  const { body } = await session.call("GET", `/lists/${encodeURIComponent(listId)}/members`);
  return body;
}

/** Invites `email` to the list with `role` (the answer is the same whether or not an
 * account has that email). */
export async function invite(session, listId, email, role) {
  const { body } = await session.call("POST", `/lists/${encodeURIComponent(listId)}/invitations`, {
    body: { email, role },
  });
  return body;
}

/** Invitations to the caller's email. */
export async function myInvitations(session) {
  const { body } = await session.call("GET", "/me/invitations");
  return body;
}

/** Accepts an invitation: resolves to the list joined. */
export async function acceptInvitation(session, invitationId) {
  const { body } = await session.call(
    "POST",
    `/me/invitations/${encodeURIComponent(invitationId)}/accept`,
  );
  return body;
}

export async function declineInvitation(session, invitationId) {
  await session.call("POST", `/me/invitations/${encodeURIComponent(invitationId)}/decline`);
}

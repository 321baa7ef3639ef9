// Live changes: `GET /events` as an EventSource. A browser's EventSource cannot send an
// Authorization header, so each connection first gets a single-use ticket
// (`POST /events/ticket`) and passes it as `?ticket=`. The browser's own reconnection would
// reuse a spent ticket, so on any error the stream is closed and reopened here with a new
// ticket, from the last change seen (`?cursor=`), after a growing pause. A cursor too old to
// resume from (410) means: read everything again (`onReset`). An API without events answers
// 404 to the ticket, and the client then works without live updates.

import { ApiError } from "./http.js";

const FIRST_PAUSE_MS = 1_000;
const LONGEST_PAUSE_MS = 30_000;

/**
 * Follows the caller's changes from `cursor` (null: from now on). `onChange(change)` gets
 * each `{cursor, entity, op, id, list_id, at, data}`; `onState(state)` says whether the
 * stream is "live", "reconnecting" or "unavailable" (the API has none); `onReset()` is
 * called when the cursor is too old. Returns a function that stops following.
 */
export function followChanges(session, base, options) {
  const { onChange, onState = () => {}, onReset = () => {} } = options;
  const EventSourceImpl = options.EventSourceImpl ?? globalThis.EventSource;
  const firstPause = options.firstPauseMs ?? FIRST_PAUSE_MS;
  let cursor = options.cursor ?? null;
  let source = null;
  let stopped = false;
  let pause = firstPause;
  let timer = null;

  const retry = () => {
    if (stopped) return;
    onState("reconnecting");
    timer = setTimeout(connect, pause);
    pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
  };

  async function cursorExpired() {
    if (!cursor) return false;
    try {
      await session.call("GET", `/changes?limit=1&cursor=${encodeURIComponent(cursor)}`);
      return false;
    } catch (error) {
      return error instanceof ApiError && error.status === 410;
    }
  }

  async function connect() {
    if (stopped) return;
    let ticket;
    try {
      ({ body: { ticket } } = await session.call("POST", "/events/ticket"));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        // This API has no live events.
        stopped = true;
        onState("unavailable");
      } else {
        retry();
      }
      return;
    }
    if (stopped) return;
    const url = new URL("/events", base);
    url.searchParams.set("ticket", ticket);
    if (cursor) url.searchParams.set("cursor", cursor);
    let opened = false;
    source = new EventSourceImpl(url.href);
    source.addEventListener("open", () => {
      opened = true;
      pause = firstPause;
      onState("live");
    });
    source.addEventListener("change", (event) => {
      if (event.lastEventId) cursor = event.lastEventId;
      let change;
      try {
        change = JSON.parse(event.data);
      } catch {
        return;
      }
      onChange(change);
    });
    source.addEventListener("error", async () => {
      source.close();
      source = null;
      if (!opened && (await cursorExpired())) {
        cursor = null;
        onReset();
      }
      retry();
    });
  }

  connect();
  return function stop() {
    stopped = true;
    clearTimeout(timer);
    source?.close();
  };
}

// Following live changes against a scripted API and a fake EventSource: tickets, cursors,
// reconnection with a fresh ticket, a cursor too old (410), and an API without events.

import assert from "node:assert/strict";
import { test } from "node:test";

import { followChanges } from "../../js/events.js";
import { ApiError } from "../../js/http.js";

/** A stand-in for the browser's EventSource that the test drives. */
class FakeEventSource {
  static opened = [];
  constructor(url) {
    this.url = new URL(url);
    this.listeners = {};
    this.closed = false;
    FakeEventSource.opened.push(this);
  }
  addEventListener(type, listener) {
    (this.listeners[type] ??= []).push(listener);
  }
  emit(type, event = {}) {
    for (const listener of this.listeners[type] ?? []) listener(event);
  }
  close() {
    this.closed = true;
  }
}

/** A session whose calls answer from `routes` (`"POST /events/ticket"` → function). */
function fakeSession(routes) {
  const calls = [];
  return {
    calls,
    async call(method, path) {
      calls.push(`${method} ${path}`);
      const route = routes[`${method} ${path.split("?")[0]}`];
      if (!route) throw new ApiError(404, { title: "Not Found" });
      return { body: route(path) };
    },
  };
}

const settle = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

test("each connection uses a new ticket and resumes from the last change seen", async () => {
  FakeEventSource.opened = [];
  let tickets = 0;
  const session = fakeSession({ "POST /events/ticket": () => ({ ticket: `t${++tickets}`, expires_in: 30 }) });
  const changes = [];
  const states = [];
  const stop = followChanges(session, "http://api.test", {
    cursor: "c0",
    onChange: (change) => changes.push(change),
    onState: (state) => states.push(state),
    EventSourceImpl: FakeEventSource,
    firstPauseMs: 1,
  });
  await settle();
  const [first] = FakeEventSource.opened;
  assert.equal(first.url.pathname, "/events");
  assert.equal(first.url.searchParams.get("ticket"), "t1");
  assert.equal(first.url.searchParams.get("cursor"), "c0");
  first.emit("open");
  first.emit("change", { lastEventId: "c1", data: JSON.stringify({ entity: "task", op: "upsert", id: "x" }) });
  first.emit("change", { lastEventId: "c2", data: "not json" });
  assert.deepEqual(changes, [{ entity: "task", op: "upsert", id: "x" }]);

  first.emit("error");
  assert.equal(first.closed, true, "the browser must not retry with the spent ticket");
  await settle(20);
  const second = FakeEventSource.opened[1];
  assert.equal(second.url.searchParams.get("ticket"), "t2");
  assert.equal(second.url.searchParams.get("cursor"), "c2");
  assert.deepEqual(states, ["live", "reconnecting"]);
  stop();
  assert.equal(second.closed, true);
});

test("a cursor too old to resume from starts over from now and says so", async () => {
  FakeEventSource.opened = [];
  const session = fakeSession({
    "POST /events/ticket": () => ({ ticket: "t", expires_in: 30 }),
    "GET /changes": () => {
      throw new ApiError(410, { title: "Gone" });
    },
  });
  let resets = 0;
  const stop = followChanges(session, "http://api.test", {
    cursor: "ancient",
    onChange: () => {},
    onReset: () => {
      resets += 1;
    },
    EventSourceImpl: FakeEventSource,
    firstPauseMs: 1,
  });
  await settle();
  FakeEventSource.opened[0].emit("error"); // the server answered 410 to the stream
  await settle(20);
  assert.equal(resets, 1);
  assert.ok(session.calls.includes("GET /changes?limit=1&cursor=ancient"));
  assert.equal(FakeEventSource.opened[1].url.searchParams.get("cursor"), null);
  stop();
});

test("an API without events is left alone", async () => {
  FakeEventSource.opened = [];
  const session = fakeSession({});
  const states = [];
  followChanges(session, "http://api.test", {
    onChange: () => {},
    onState: (state) => states.push(state),
    EventSourceImpl: FakeEventSource,
    firstPauseMs: 1,
  });
  await settle(20);
  assert.deepEqual(states, ["unavailable"]);
  assert.equal(FakeEventSource.opened.length, 0);
  assert.deepEqual(session.calls, ["POST /events/ticket"]);
});

// The session's token handling against a scripted API: renewal before expiry, one renewal
// for many requests refused together, the end of a session, and keeping the tokens when a
// renewal is only throttled. Run with `node --test tests/unit/` in web/.

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, createHttp } from "../../js/http.js";
import { renewalDelay, Session } from "../../js/session.js";

/** A clock whose time and timers move only when told. */
function fakeClock() {
  let now = 1_000_000;
  let timers = [];
  let nextId = 1;
  return {
    Date: { now: () => now },
    setTimeout(fn, delay) {
      const id = nextId++;
      timers.push({ id, at: now + delay, fn });
      return id;
    },
    clearTimeout(id) {
      timers = timers.filter((t) => t.id !== id);
    },
    /** Moves time on by `ms`, running the timers that fall due. */
    advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
    },
    pending: () => timers.length,
    /** Forgets every timer, as if none had run (a suspended tab). */
    dropTimers() {
      timers = [];
    },
  };
}

/**
 * A fake API: `/login` and `/token/refresh` hand out numbered token pairs, other routes
 * answer 200 to the newest access token and 401 to any other. `requests` records every
 * call.
 */
function fakeApi({ expiresIn = 100, refreshAnswer = null } = {}) {
  const state = { issued: 0, current: null, refresh: null, requests: [] };
  const pair = () => {
    state.issued += 1;
    state.current = `access-${state.issued}`;
    state.refresh = `refresh-${state.issued}`;
    return { access_token: state.current, token_type: "bearer", expires_in: expiresIn, refresh_token: state.refresh };
  };
  const reply = (status, body, headers = {}) =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json", ...headers },
    });
  state.fetch = async (url, init) => {
    const path = new URL(url).pathname;
    const body = init.body ? JSON.parse(init.body) : undefined;
    const token = init.headers.Authorization?.replace(/^Bearer /, "") ?? null;
    state.requests.push({ method: init.method, path, token, body });
    // Let concurrent callers interleave as over a network.
    await new Promise((resolve) => setImmediate(resolve));
    if (path === "/login") return reply(200, pair());
    if (path === "/token/refresh") {
      if (refreshAnswer) return refreshAnswer();
      if (body.refresh_token !== state.refresh) return reply(401, { title: "Unauthorized", status: 401 });
      return reply(200, pair());
    }
    if (token !== state.current) return reply(401, { title: "Unauthorized", status: 401 });
    return reply(200, { path });
  };
  return state;
}

const refreshes = (api) => api.requests.filter((r) => r.path === "/token/refresh");

async function loggedIn(api, clock) {
  const ended = [];
  const session = new Session(createHttp("http://api.test", api.fetch), {
    clock,
    onEnd: (why) => ended.push(why),
  });
  await session.login("a@example.com", "correct horse battery");
  return { session, ended };
}

test("renewal comes a fifth of the lifetime early, at most a minute", () => {
  assert.equal(renewalDelay(10), 8_000);
  assert.equal(renewalDelay(900), 840_000);
  assert.equal(renewalDelay(0), 0);
});

test("requests carry the access token, and it is renewed before it expires", async () => {
  const api = fakeApi({ expiresIn: 10 });
  const clock = fakeClock();
  const { session } = await loggedIn(api, clock);
  assert.equal((await session.call("GET", "/me")).body.path, "/me");
  assert.equal(api.requests.at(-1).token, "access-1");

  clock.advance(8_000);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(refreshes(api).length, 1);
  assert.deepEqual(refreshes(api)[0].body, { refresh_token: "refresh-1" });
  await session.call("GET", "/me");
  assert.equal(api.requests.at(-1).token, "access-2");
  assert.equal(clock.pending(), 1, "the next renewal is scheduled");
});

test("an expired token is renewed before the request is sent", async () => {
  const api = fakeApi({ expiresIn: 10 });
  const clock = fakeClock();
  const { session } = await loggedIn(api, clock);
  // The renewal timer did not run (a sleeping laptop): the token is past its life.
  clock.dropTimers();
  clock.advance(11_000);
  await session.call("GET", "/tasks");
  assert.deepEqual(
    api.requests.map((r) => r.path),
    ["/login", "/token/refresh", "/tasks"],
  );
  assert.equal(api.requests.at(-1).token, "access-2");
});

test("many requests refused with 401 together renew the token once and are retried", async () => {
  const api = fakeApi({ expiresIn: 100 });
  const clock = fakeClock();
  const { session } = await loggedIn(api, clock);
  // The server stops accepting the token (say its signing key rotated) before it expires.
  api.current = "something-else";
  const answers = await Promise.all(
    ["/a", "/b", "/c", "/d"].map((path) => session.call("GET", path)),
  );
  assert.deepEqual(answers.map((a) => a.body.path), ["/a", "/b", "/c", "/d"]);
  assert.equal(refreshes(api).length, 1, "one renewal for all of them");
  const retried = api.requests.filter((r) => r.token === "access-2").map((r) => r.path).sort();
  assert.deepEqual(retried, ["/a", "/b", "/c", "/d"]);
});

test("a refused refresh token ends the session once and stops renewing", async () => {
  const api = fakeApi({ expiresIn: 100 });
  const clock = fakeClock();
  const { session, ended } = await loggedIn(api, clock);
  api.current = "revoked";
  api.refresh = "revoked";
  await assert.rejects(session.call("GET", "/me"), (e) => e instanceof ApiError && e.status === 401);
  assert.equal(ended.length, 1);
  assert.equal(session.active, false);
  assert.equal(clock.pending(), 0, "no renewal scheduled after the end");
  await assert.rejects(session.call("GET", "/me"), (e) => e.status === 401);
  assert.equal(refreshes(api).length, 1, "nothing more is sent for an ended session");
});

test("a throttled renewal keeps the session and tries again after Retry-After", async () => {
  let throttled = true;
  const api = fakeApi({
    expiresIn: 10,
    refreshAnswer: () =>
      throttled
        ? new Response(JSON.stringify({ title: "Too Many Requests", status: 429 }), {
            status: 429,
            headers: { "Content-Type": "application/problem+json", "Retry-After": "7" },
          })
        : new Response(
            JSON.stringify({ access_token: "access-9", token_type: "bearer", expires_in: 10, refresh_token: "refresh-9" }),
            { status: 200 },
          ),
  });
  const clock = fakeClock();
  const { session, ended } = await loggedIn(api, clock);
  await assert.rejects(session.renew(), (e) => e.status === 429);
  assert.equal(session.active, true);
  assert.deepEqual(ended, []);
  throttled = false;
  clock.advance(6_999);
  assert.equal(refreshes(api).length, 1, "not before Retry-After");
  clock.advance(1);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(refreshes(api).length, 2);
  api.current = "access-9";
  await session.call("GET", "/me");
  assert.equal(api.requests.at(-1).token, "access-9");
});

test("logout ends the session on the server and forgets the tokens", async () => {
  const api = fakeApi();
  const clock = fakeClock();
  const { session } = await loggedIn(api, clock);
  await session.logout();
  const logout = api.requests.at(-1);
  assert.equal(logout.path, "/logout");
  assert.equal(logout.token, "access-1");
  assert.deepEqual(logout.body, { refresh_token: "refresh-1" });
  assert.equal(session.active, false);
  assert.equal(clock.pending(), 0);
});

test("errors carry the problem document and network failures are status 0", async () => {
  const send = createHttp("http://api.test", async () =>
    new Response(
      JSON.stringify({ title: "Unprocessable Entity", status: 422, detail: "1 invalid field.", errors: [{ field: "title", message: "must not be empty" }] }),
      { status: 422, headers: { "Content-Type": "application/problem+json" } },
    ),
  );
  await assert.rejects(send("POST", "/tasks", { body: {} }), (e) => {
    assert.equal(e.status, 422);
    assert.equal(e.message, "1 invalid field.");
    assert.deepEqual(e.fieldErrors, [{ field: "title", message: "must not be empty" }]);
    return true;
  });
  const offline = createHttp("http://api.test", async () => {
    throw new TypeError("fetch failed");
  });
  await assert.rejects(offline("GET", "/ping"), (e) => e.status === 0);
});

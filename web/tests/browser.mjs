// The reference client in a real browser: Debian's Chromium driven by playwright-core, the
// page served from one origin and the API on another (so CORS and the page's
// Content-Security-Policy are what a deployment has). Run by `cargo test --test browser`,
// which starts both servers and sets:
//   TASKAPI_APP_URL   the page, e.g. http://127.0.0.1:4001/app/ (its config.json names the API)
//   TASKAPI_API_URL   the API's origin, e.g. http://127.0.0.1:4000
//   TASKAPI_ACCESS_TTL_SECONDS  the API's access-token lifetime (short, so renewals happen)
//   CHROMIUM          the browser (default /usr/bin/chromium)
//   TASKAPI_WEB_ARTIFACTS  where to leave a screenshot of each page when a step fails
// Each step prints one line. Steps for lists, sharing and live changes run when the API has
// those routes, and say they were skipped otherwise.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const APP_URL = required("TASKAPI_APP_URL");
const API_URL = required("TASKAPI_API_URL");
const ACCESS_TTL = Number(process.env.TASKAPI_ACCESS_TTL_SECONDS ?? "2");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = process.env.TASKAPI_WEB_ARTIFACTS ?? null;
const PASSWORD = "correct horse battery staple";
const STEP_TIMEOUT_MS = 15_000;

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** A direct API call from Node (no browser, no CORS), for set-up and for checking results. */
async function api(method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(new URL(path, API_URL), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function apiLogin(email) {
  const { status, body } = await api("POST", "/login", { body: { email, password: PASSWORD } });
  assert.equal(status, 200, `log in ${email} through the API`);
  return body.access_token;
}

/** Watches a page: its API traffic, and anything the console reports as broken. */
function watch(page, name) {
  const seen = { page, name, refreshes: 0, unauthorized: 0, problems: [] };
  page.on("response", (response) => {
    const url = new URL(response.url());
    if (url.origin !== API_URL) return;
    if (url.pathname === "/token/refresh" && response.status() === 200) seen.refreshes += 1;
    if (response.status() === 401) seen.unauthorized += 1;
  });
  page.on("console", (message) => {
    // A 4xx the client handles (a 412 conflict, a 404 probe) is reported as a failed
    // resource load; anything else logged as an error is a defect (a CSP or Trusted Types
    // violation among them).
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      seen.problems.push(`console: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => seen.problems.push(`uncaught: ${error.message}`));
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  return seen;
}

let steps = 0;
const watched = [];

async function step(title, run) {
  try {
    await run();
    steps += 1;
    console.log(`ok: ${title}`);
  } catch (error) {
    console.log(`FAILED: ${title}`);
    if (ARTIFACTS) {
      mkdirSync(ARTIFACTS, { recursive: true });
      for (const { page, name } of watched) {
        await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true }).catch(() => {});
      }
      console.log(`screenshots in ${ARTIFACTS}`);
    }
    throw error;
  }
}

function skipped(title, why) {
  console.log(`skipped: ${title} (${why})`);
}

async function logIn(page, email, { register = false } = {}) {
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: register ? "Create account" : "Log in" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

const task = (page, title) => page.getByRole("checkbox", { name: title, exact: true });
const editor = (page, title) => page.getByRole("form", { name: `Edit task ${title}` });

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});

try {
  const stamp = `${Date.now()}-${process.pid}`;
  const alice = `alice-${stamp}@example.com`;
  const bob = `bob-${stamp}@example.com`;

  // Two browser contexts are two independent browsers: no shared storage or cache.
  const first = await (await browser.newContext()).newPage();
  const second = await (await browser.newContext()).newPage();
  const a = watch(first, "first");
  const b = watch(second, "second");
  watched.push(a, b);

  await step("the page comes from another origin than the API", async () => {
    assert.notEqual(new URL(APP_URL).origin, API_URL);
    await first.goto(APP_URL);
    await first.getByRole("heading", { name: "Log in" }).waitFor();
  });

  await step("the first browser creates an account and is logged in", async () => {
    await logIn(first, alice, { register: true });
    await first.getByRole("status").filter({ hasText: "Account created" }).waitFor();
  });
  const loggedInAt = Date.now();

  // Lists, sharing and live changes are tested when the API has them.
  const aliceToken = await apiLogin(alice);
  const hasLists = (await api("GET", "/lists?limit=1", { token: aliceToken })).status !== 404;
  const hasEvents = (await api("POST", "/events/ticket", { token: aliceToken })).status !== 404;

  await step("it adds a task, which the API then holds", async () => {
    await first.getByLabel("New task").fill("Buy milk");
    await first.getByRole("button", { name: "Add task" }).click();
    await task(first, "Buy milk").waitFor();
    const { body: tasks } = await api("GET", "/tasks", { token: await apiLogin(alice) });
    assert.deepEqual(tasks.map((t) => t.title), ["Buy milk"]);
  });

  await step("the second browser (told the API by ?api=) logs in and sees the task", async () => {
    await second.goto(`${APP_URL}?api=${encodeURIComponent(API_URL)}`);
    await logIn(second, alice);
    await task(second, "Buy milk").waitFor();
  });

  await step("the second browser opens the task's editor: its copy is at version 1", async () => {
    await second.getByRole("button", { name: "Edit Buy milk" }).click();
    await editor(second, "Buy milk").waitFor();
  });

  await step("the first browser renames the task meanwhile", async () => {
    await first.getByRole("button", { name: "Edit Buy milk" }).click();
    const form = editor(first, "Buy milk");
    await form.getByLabel("Title").fill("Buy oat milk");
    await form.getByRole("button", { name: "Save" }).click();
    await task(first, "Buy oat milk").waitFor();
  });

  await step("saving the stale copy shows a conflict and overwrites nothing", async () => {
    const form = editor(second, "Buy milk");
    await form.getByLabel("Priority").selectOption("high");
    await form.getByRole("button", { name: "Save" }).click();
    await form.getByRole("alert").filter({ hasText: "Someone else changed this task" }).waitFor();
    const { body } = await api("GET", "/tasks", { token: await apiLogin(alice) });
    assert.equal(body[0].title, "Buy oat milk");
    assert.equal(body[0].priority, "medium");
  });

  await step("loading the latest version into the editor, the change can be saved", async () => {
    const form = editor(second, "Buy milk");
    await form.getByRole("button", { name: "Load the latest version" }).click();
    await second.getByRole("status").filter({ hasText: "Loaded the latest version" }).waitFor();
    assert.equal(await form.getByLabel("Title").inputValue(), "Buy oat milk");
    await form.getByLabel("Priority").selectOption("high");
    await form.getByRole("button", { name: "Save" }).click();
    await task(second, "Buy oat milk").waitFor();
    const { body } = await api("GET", "/tasks", { token: await apiLogin(alice) });
    assert.equal(body[0].title, "Buy oat milk");
    assert.equal(body[0].priority, "high");
    assert.equal(body[0].version, 3);
  });

  await step("access tokens are renewed before they expire, never answered 401", async () => {
    // Two renewals put the first access token past its lifetime.
    const deadline = Date.now() + STEP_TIMEOUT_MS + ACCESS_TTL * 3000;
    while (a.refreshes < 2 && Date.now() < deadline) await first.waitForTimeout(200);
    assert.ok(a.refreshes >= 2, `renewals seen: ${a.refreshes}`);
    assert.ok(Date.now() - loggedInAt > ACCESS_TTL * 1000, "the first access token has expired");
    // The first browser's copy is stale (the second saved version 3): unless a live change
    // told it, its first try is refused and shows the latest version; the second goes through.
    const status = first.getByRole("status");
    await task(first, "Buy oat milk").check();
    await status.filter({ hasText: /Completed|changed elsewhere/ }).waitFor();
    if ((await status.textContent()).includes("changed elsewhere")) {
      assert.equal(await task(first, "Buy oat milk").isChecked(), false);
      await task(first, "Buy oat milk").check();
      await status.filter({ hasText: "Completed" }).waitFor();
    }
    assert.equal(a.unauthorized, 0, "the first browser never sent an expired token");
    const { body } = await api("GET", "/tasks", { token: await apiLogin(alice) });
    assert.equal(body[0].is_done, true);
  });

  await step("a task deleted in one browser is dropped by the other", async () => {
    await first.getByRole("button", { name: "Delete Buy oat milk" }).click();
    await task(first, "Buy oat milk").waitFor({ state: "detached" });
    const { body } = await api("GET", "/tasks", { token: await apiLogin(alice) });
    assert.deepEqual(body, []);
    const stale = task(second, "Buy oat milk");
    if (!hasEvents) {
      // Nothing told the second browser: deleting its copy finds the task gone.
      await second.getByRole("button", { name: "Delete Buy oat milk" }).click();
    }
    await stale.waitFor({ state: "detached" });
  });

  if (hasLists) {
    await step("the first browser creates a list and invites a second user to it", async () => {
      assert.equal((await api("POST", "/register", { body: { email: bob, password: PASSWORD } })).status, 201);
      await first.getByLabel("New list").fill("Groceries");
      await first.getByRole("button", { name: "Create list" }).click();
      await first.getByRole("heading", { name: "Groceries" }).waitFor();
      await first.getByLabel("Invite by email").fill(bob);
      await first.getByLabel("Role", { exact: true }).selectOption("editor");
      await first.getByRole("button", { name: "Invite" }).click();
      await first.getByRole("status").filter({ hasText: `Invited ${bob}` }).waitFor();
    });

    await step("the second user logs in, accepts, and sees the shared list", async () => {
      await second.getByRole("button", { name: "Log out" }).click();
      await logIn(second, bob);
      await second.getByRole("button", { name: "Check for invitations" }).click();
      await second.getByRole("button", { name: "Accept Groceries" }).click();
      await second.getByRole("heading", { name: "Groceries" }).waitFor();
    });
  } else {
    skipped("sharing a list", "the API has no /lists");
  }

  if (hasLists && hasEvents) {
    await step("a task added to the shared list appears live in the other browser", async () => {
      await second.getByText("Live", { exact: true }).waitFor();
      await first.getByLabel("New task").fill("Apples");
      await first.getByRole("button", { name: "Add task" }).click();
      await task(second, "Apples").waitFor();
    });

    await step("an edit in one browser appears live in the other", async () => {
      await first.getByRole("button", { name: "Edit Apples" }).click();
      const form = editor(first, "Apples");
      await form.getByLabel("Title").fill("Green apples");
      await form.getByRole("button", { name: "Save" }).click();
      await task(second, "Green apples").waitFor();
      assert.equal(await task(second, "Apples").count(), 0);
    });
  } else {
    skipped("live changes", hasLists ? "the API has no /events" : "the API has no /lists");
  }

  await step("logging out returns to the login form", async () => {
    await first.getByRole("button", { name: "Log out" }).click();
    await first.getByRole("heading", { name: "Log in" }).waitFor();
    assert.equal(await first.getByRole("button", { name: "Log out" }).isVisible(), false);
  });

  await step("neither page reported an error (CSP and Trusted Types included)", async () => {
    assert.deepEqual([...a.problems, ...b.problems], []);
  });

  console.log(`browser: ${steps} passed, 0 failed`);
} catch (error) {
  console.log(`browser: ${steps} passed, 1 failed`);
  console.error(error);
  process.exitCode = 1;
} finally {
  await browser.close();
}

// Where the client finds the API: `?api=`, else config.json's api_base, else its own origin.

import assert from "node:assert/strict";
import { test } from "node:test";

import { apiBase, originOf } from "../../js/config.js";

const page = (href) => new URL(href);
const serving = (body, status = 200) => async () =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

test("?api= wins and only its origin is kept", async () => {
  const fetchNothing = async () => assert.fail("config.json is not read when ?api= is given");
  assert.equal(
    await apiBase(page("http://app.test/app/?api=https://api.example.com/some/path"), fetchNothing),
    "https://api.example.com",
  );
  await assert.rejects(apiBase(page("http://app.test/app/?api=javascript:alert(1)"), fetchNothing));
});

test("config.json's api_base comes next, then the page's own origin", async () => {
  const at = page("http://app.test:8000/app/");
  assert.equal(await apiBase(at, serving({ api_base: "http://api.test:9000" })), "http://api.test:9000");
  assert.equal(await apiBase(at, serving({ api_base: "" })), "http://app.test:8000");
  assert.equal(await apiBase(at, serving({ title: "Not Found" }, 404)), "http://app.test:8000");
  const offline = async () => {
    throw new TypeError("fetch failed");
  };
  assert.equal(await apiBase(at, offline), "http://app.test:8000");
});

test("only http and https URLs are origins", () => {
  assert.equal(originOf("https://a.example:8443/x?y"), "https://a.example:8443");
  assert.equal(originOf("ftp://a.example"), null);
  assert.equal(originOf("not a url"), null);
});

import assert from "node:assert/strict";
import { TestApp } from "../../tests/helpers/app.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import type { LogRecord } from "../log.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

testEachDatabase("createApp() caps request bodies with a JSON 413", async (db, t) => {
  await using app = await TestApp.create(db, { maxBodyBytes: 100, bodyTimeoutMs: 200 });
  const big = JSON.stringify({ name: "a", pad: "x".repeat(200) });

  await t.step("by Content-Length", async () => {
    const res = await app.json("POST", "/api/keys", big);
    assert.equal(res.status, 413);
    assert.equal(res.body.error, "Request body is too large: the limit is 100 bytes");
  });
  await t.step("while streaming a body without Content-Length", async () => {
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 50) controller.enqueue(bytes.slice(i, i + 50));
        controller.close();
      },
    });
    const res = await app.app.request("/api/keys", {
      method: "POST",
      headers: app.bearer(),
      body: stream,
    });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error, "Request body is too large: the limit is 100 bytes");
  });
  await t.step("after authentication: a stranger gets 401 and nothing is read", async () => {
    const res = await app.json("POST", "/api/keys", big, {});
    assert.equal(res.status, 401);
  });
  await t.step("a body that stalls is 408", async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull: () => new Promise(() => {}),
      cancel: () => {
        cancelled = true;
      },
    });
    const res = await app.app.request("/api/keys", {
      method: "POST",
      headers: app.bearer(),
      body: stream,
    });
    assert.equal(res.status, 408);
    await res.body?.cancel();
    assert.equal(cancelled, true);
  });
  await t.step("a body at the limit passes", async () => {
    const exact = JSON.stringify({ name: "b".repeat(64) });
    const padded = exact + " ".repeat(100 - exact.length);
    assert.equal((await app.json("POST", "/api/keys", padded)).status, 201);
  });
});

testEachDatabase("createApp() reads no body outside /api and the web form posts", async (db, t) => {
  await using app = await TestApp.create(db, { maxBodyBytes: 100, bodyTimeoutMs: 200 });
  /** A body that never ends, counting how often it was read from. */
  const stalled = () => {
    const body = { pulls: 0, stream: undefined as unknown as ReadableStream<Uint8Array> };
    body.stream = new ReadableStream<Uint8Array>({
      pull: () => {
        body.pulls++;
        return new Promise(() => {});
      },
    }, { highWaterMark: 0 }); // pulled only when someone reads
    return body;
  };

  await t.step("a body sent anywhere else is left unread", async () => {
    for (const [method, path] of [["POST", "/health"], ["POST", "/nope"], ["PUT", "/login"]]) {
      const body = stalled();
      const res = await app.app.request(path!, { method, body: body.stream });
      await res.body?.cancel();
      assert.notEqual(res.status, 408, `${method} ${path}`);
      assert.equal(body.pulls, 0, `${method} ${path}`);
    }
  });
  await t.step("a web form post is read, and capped", async () => {
    const res = await app.app.request("/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `username=a&password=${"x".repeat(200)}`,
    });
    assert.equal(res.status, 413);
    await res.body?.cancel();
  });
});

testEachDatabase("createApp() gives every response a request id", async (db, t) => {
  await using app = await TestApp.create(db);
  await t.step("a sane incoming id is kept", async () => {
    const res = await app.request("GET", "/api/keys", undefined, {
      ...app.bearer(),
      "x-request-id": "trace-42.abc",
    });
    assert.equal(res.headers.get("x-request-id"), "trace-42.abc");
    await res.body?.cancel();
  });
  await t.step("a strange one is replaced, also on errors", async () => {
    for (const incoming of ["has space", "x".repeat(200), "<script>"]) {
      const res = await app.request("GET", "/nope", undefined, { "x-request-id": incoming });
      assert.equal(res.status, 404);
      assert.ok(UUID.test(res.headers.get("x-request-id") ?? ""));
      await res.body?.cancel();
    }
    const unauthorized = await app.request("GET", "/api/keys", undefined, {});
    assert.ok(UUID.test(unauthorized.headers.get("x-request-id") ?? ""));
    await unauthorized.body?.cancel();
  });
});

testEachDatabase("createApp() answers unknown routes with JSON 404", async (db) => {
  await using app = await TestApp.create(db);
  const res = await app.json("GET", "/nope/../../etc/passwd", undefined, {});
  assert.equal(res.status, 404);
  assert.ok(typeof res.body.error === "string");
  const method = await app.json("PATCH", "/api/keys");
  assert.equal(method.status, 404);
  const head = await app.request("HEAD", "/health", undefined, {});
  assert.equal(head.status, 200);
  await head.body?.cancel();
});

testEachDatabase(
  "createApp() logs unexpected errors with the request id and hides them",
  async (db) => {
    const logs: LogRecord[] = [];
    await using app = await TestApp.create(db, { log: (r) => logs.push(r) });
    app.repos.keys.list = () => Promise.reject(new Error("connection to 10.0.0.5 refused"));
    const res = await app.request("GET", "/api/keys", undefined, {
      ...app.bearer(),
      "x-request-id": "req-500",
    });
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.deepEqual(JSON.parse(text), { error: "Internal server error", request_id: "req-500" });
    assert.doesNotMatch(text, /10\.0\.0\.5/);
    const logged = logs.find((r) => r.level === "error");
    assert.equal(logged?.requestId, "req-500");
    assert.equal((logged?.error as Error).message, "connection to 10.0.0.5 refused");
    const access = logs.find((r) => r.msg === "Request served");
    assert.deepEqual([access?.status, access?.path], [500, "/api/keys"]);
  },
);

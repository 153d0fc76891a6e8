import assert from "node:assert/strict";
import { fakeServer, json } from "./admin/testing.ts";
import { AdminClient, AdminError } from "./client.ts";

const TOKEN = "secret-token-abcdefghijklmnop";

Deno.test("AdminClient sends the bearer token and a JSON body to the route", async () => {
  const server = fakeServer(() =>
    json({ id: "k1", name: "alice", pubkey: "ab", npub: "npub1x", created_at: "t" }, 201)
  );
  const client = new AdminClient({
    server: "http://admin.test:9/",
    token: TOKEN,
    fetch: server.fetch,
  });
  const key = await client.createKey("alice");
  assert.equal(key.npub, "npub1x");
  const [request] = server.requests;
  assert.equal(request?.method, "POST");
  assert.equal(request?.url, "http://admin.test:9/api/keys");
  assert.equal(request?.headers.get("authorization"), `Bearer ${TOKEN}`);
  assert.equal(request?.headers.get("content-type"), "application/json");
  assert.deepEqual(request?.body, { name: "alice" });
});

Deno.test("AdminClient builds the paths and queries of each route", async () => {
  const server = fakeServer((request) => {
    if (request.method === "DELETE" && request.path.startsWith("/api/policies/")) {
      return new Response(null, { status: 204 });
    }
    return json({ keys: [], policies: [], authorizations: [], entries: [], clients: [] });
  });
  const client = new AdminClient({
    server: "http://admin.test",
    token: TOKEN,
    fetch: server.fetch,
  });
  await client.listKeys();
  await client.listPolicies();
  await client.listAuthorizations();
  await client.listAuthorizations(true);
  await client.deletePolicy("a.b");
  await client.audit({ authorization: "id-1", since: "2025-01-01T00:00:00.000Z", limit: 5 });
  await client.audit({ afterId: "42" });
  await client.listOAuthClients();
  await client.removeOAuthClient("https://app.example/a b");
  assert.deepEqual(server.requests.map((r) => `${r.method} ${r.path}`), [
    "GET /api/keys",
    "GET /api/policies",
    "GET /api/authorizations",
    "GET /api/authorizations?include_revoked=true",
    "DELETE /api/policies/a.b",
    "GET /api/audit?authorization=id-1&since=2025-01-01T00%3A00%3A00.000Z&limit=5",
    "GET /api/audit?after_id=42",
    "GET /api/oauth-clients",
    "DELETE /api/oauth-clients/https%3A%2F%2Fapp.example%2Fa%20b",
  ]);
  assert.equal(server.requests[0]?.headers.get("content-type"), null, "no body, no content type");
});

Deno.test("AdminClient turns an error answer into AdminError with the server's message", async () => {
  const server = fakeServer(() => json({ error: 'No policy named "x"' }, 404));
  const client = new AdminClient({
    server: "http://admin.test",
    token: TOKEN,
    fetch: server.fetch,
  });
  await assert.rejects(client.deletePolicy("x"), (err: unknown) => {
    assert.ok(err instanceof AdminError);
    assert.equal(err.status, 404);
    assert.equal(err.message, 'No policy named "x"');
    return true;
  });
});

Deno.test("AdminClient keeps control and bidirectional characters out of an error message", async () => {
  const server = fakeServer(() =>
    json({ error: "No key named \u202etxt.exe\u2069\u001b[2J\r\nok\u200f" }, 404)
  );
  const client = new AdminClient({
    server: "http://admin.test",
    token: TOKEN,
    fetch: server.fetch,
  });
  await assert.rejects(client.listKeys(), {
    name: "AdminError",
    message: "No key named  txt.exe [2J ok",
  });
});

Deno.test("AdminClient reports a non-JSON error answer by its status line", async () => {
  const server = fakeServer(() =>
    new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" })
  );
  const client = new AdminClient({
    server: "http://admin.test",
    token: TOKEN,
    fetch: server.fetch,
  });
  await assert.rejects(client.listKeys(), { name: "AdminError", message: "502 Bad Gateway" });
});

Deno.test("AdminClient rejects a list answer without its list", async () => {
  const server = fakeServer(() => json({ items: [] }));
  const client = new AdminClient({
    server: "http://admin.test",
    token: TOKEN,
    fetch: server.fetch,
  });
  await assert.rejects(client.listKeys(), /no "keys" list/);
});

Deno.test("AdminClient says the server is unreachable, without the token", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const client = new AdminClient({ server: `http://127.0.0.1:${port}`, token: TOKEN });
  await assert.rejects(client.listKeys(), (err: unknown) => {
    assert.ok(err instanceof AdminError);
    assert.equal(err.status, 0);
    assert.match(
      err.message,
      new RegExp(`^Cannot reach keycast at http://127\\.0\\.0\\.1:${port}: is \`keycast serve\``),
    );
    assert.ok(!err.message.includes(TOKEN));
    return true;
  });
});

/** A fetch that never answers until its signal aborts. */
const silentFetch =
  ((_input: RequestInfo | URL, init?: RequestInit) =>
    new Promise<Response>((_, reject) => {
      init?.signal?.addEventListener("abort", () => reject(init.signal?.reason), { once: true });
    })) as typeof fetch;

Deno.test("AdminClient gives up after its timeout", async () => {
  const client = new AdminClient({
    server: "http://admin.test",
    token: TOKEN,
    fetch: silentFetch,
    timeoutMs: 30,
  });
  await assert.rejects(client.listKeys(), {
    name: "AdminError",
    message: "keycast at http://admin.test did not answer within 0.03 s",
  });
});

Deno.test("AdminClient passes the caller's abort through unchanged", async () => {
  const client = new AdminClient({ server: "http://admin.test", token: TOKEN, fetch: silentFetch });
  const controller = new AbortController();
  const pending = client.audit({}, controller.signal);
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(pending, (err: unknown) => err === reason);
});

Deno.test("AdminClient asks fetch never to follow redirects, for every route", async () => {
  const seen: Array<RequestRedirect | undefined> = [];
  const recording = ((_input: RequestInfo | URL, init?: RequestInit) => {
    seen.push(init?.redirect);
    return Promise.resolve(json({ keys: [], policies: [], authorizations: [], entries: [] }));
  }) as typeof fetch;
  const client = new AdminClient({ server: "http://admin.test", token: TOKEN, fetch: recording });
  await client.listKeys();
  await client.importKey({ name: "alice", secret: "nsec1example" });
  await client.audit();
  assert.deepEqual(seen, ["manual", "manual", "manual"]);
});

Deno.test("AdminClient does not re-send an nsec import through a 307, and says why", async () => {
  const NSEC = "nsec1secretsecretsecretsecretsecretsecretsecretsecretsecretsecre";
  const received: string[] = [];
  await using elsewhere = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      received.push(`${request.method} ${request.headers.get("authorization")} ${await request
        .text()}`);
      return json({ id: "k", name: "alice", pubkey: "ab", npub: "npub1x", created_at: "t" });
    },
  );
  const target = `http://127.0.0.1:${elsewhere.addr.port}/steal`;
  await using redirecting = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      await request.body?.cancel();
      return new Response(null, { status: 307, headers: { location: target } });
    },
  );
  const server = `http://127.0.0.1:${redirecting.addr.port}`;
  const client = new AdminClient({ server, token: TOKEN });
  await assert.rejects(client.importKey({ name: "alice", secret: NSEC }), (err: unknown) => {
    assert.ok(err instanceof AdminError);
    assert.equal(err.status, 307);
    assert.equal(
      err.message,
      `keycast at ${server} answered with a redirect to ${target}; keycast does not follow ` +
        "redirects: set --server or KEYCAST_SERVER to the address that answers directly",
    );
    assert.ok(!err.message.includes(NSEC) && !err.message.includes(TOKEN));
    return true;
  });
  assert.deepEqual(received, [], "the other origin received nothing");
});

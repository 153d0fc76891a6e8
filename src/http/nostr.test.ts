import assert from "node:assert/strict";
import { TestApp, type TestAppOptions } from "../../tests/helpers/app.ts";
import { sqliteTestDb } from "../../tests/helpers/db.ts";
import type { HttpGrant, HttpSignerAnswer, HttpSigning } from "../nip46/http_signer.ts";

const APP_ORIGIN = "https://app.example";
const TOKEN = "access-token_1.abc~XYZ+/=";
const GRANT: HttpGrant = {
  grantId: "grant-1",
  authorizationId: "00000000-0000-4000-8000-000000000001",
  bunkerPubkey: "b".repeat(64),
  origin: APP_ORIGIN,
};

/** HTTP signing that knows {@link TOKEN}, answers `next` and records what reached it. */
function fakeSigning() {
  const calls: { grant: HttpGrant; method: string; params: readonly unknown[] }[] = [];
  const resolved: string[] = [];
  const state: { next: HttpSignerAnswer } = { next: { status: 200, body: { result: "pong" } } };
  const signing: HttpSigning = {
    resolve: (token) => {
      resolved.push(token);
      return Promise.resolve(token === TOKEN ? GRANT : undefined);
    },
    allowsOrigin: (origin) => Promise.resolve(origin === APP_ORIGIN),
    signer: {
      handle: (grant, method, params) => {
        calls.push({ grant, method, params });
        return Promise.resolve(state.next);
      },
    },
  };
  return { signing, calls, resolved, state };
}

async function withApp(
  opts: TestAppOptions,
  run: (t: TestApp) => Promise<void>,
): Promise<void> {
  await using db = await sqliteTestDb();
  await using t = await TestApp.create(db, opts);
  await run(t);
}

function post(t: TestApp, body: unknown, headers: Record<string, string> = {}) {
  return t.json("POST", "/api/nostr", body, { authorization: `Bearer ${TOKEN}`, ...headers });
}

Deno.test("POST /api/nostr answers 503 JSON when HTTP signing is not enabled", async () => {
  await withApp({}, async (t) => {
    const res = await post(t, { method: "ping", params: [] });
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, {
      error: "unsupported: HTTP signing is not enabled on this server",
    });
  });
});

Deno.test("POST /api/nostr passes method, params and the grant to the signer and returns its result", async () => {
  const { signing, calls } = fakeSigning();
  await withApp({ httpSigning: signing }, async (t) => {
    const event = { kind: 1, created_at: 1, tags: [], content: "hi" };
    const res = await post(t, { method: "sign_event", params: [event] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { result: "pong" });
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(res.headers.get("access-control-allow-origin"), null, "no Origin, no CORS");
    assert.deepEqual(calls, [{ grant: GRANT, method: "sign_event", params: [event] }]);
    const bare = await post(t, { method: "get_public_key" });
    assert.equal(bare.status, 200);
    assert.deepEqual(calls[1]?.params, [], "params default to none");
  });
});

Deno.test("POST /api/nostr carries the signer's status, Retry-After and token challenge", async () => {
  const { signing, state } = fakeSigning();
  await withApp({ httpSigning: signing }, async (t) => {
    const cases: [HttpSignerAnswer, string | null, string | null][] = [
      [{ status: 403, body: { error: "forbidden: kind 7 is not allowed" } }, null, null],
      [{ status: 400, body: { error: 'unsupported: "x"' } }, null, null],
      [
        { status: 429, body: { error: "rate-limited: retry in 9 s" }, retryAfterSeconds: 9 },
        "9",
        null,
      ],
      [
        { status: 503, body: { error: "overloaded: retry later" }, retryAfterSeconds: 1 },
        "1",
        null,
      ],
      [
        { status: 401, body: { error: "revoked: the authorization was revoked" } },
        null,
        'Bearer error="invalid_token"',
      ],
    ];
    for (const [answer, retryAfter, challenge] of cases) {
      state.next = answer;
      const res = await post(t, { method: "sign_event", params: [{}] });
      assert.equal(res.status, answer.status);
      assert.deepEqual(res.body, answer.body);
      assert.equal(res.headers.get("retry-after"), retryAfter, String(answer.status));
      assert.equal(res.headers.get("www-authenticate"), challenge, String(answer.status));
    }
  });
});

Deno.test("POST /api/nostr answers 401 with a Bearer challenge for a missing, bad or unknown token", async () => {
  const { signing, calls, resolved } = fakeSigning();
  await withApp({ httpSigning: signing }, async (t) => {
    const body = { method: "ping", params: [] };
    const missing = await t.json("POST", "/api/nostr", body, {});
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="keycast"');
    assert.match(missing.body.error, /^unauthorized: send "Authorization: Bearer/);
    for (
      const header of [
        "Bearer unknown-token",
        "Bearer bad token",
        "Bearer t\u00e9st",
        `Bearer ${"a".repeat(1_025)}`,
        `Bearer ${t.token}`,
        "Basic dXNlcjpwYXNz",
      ]
    ) {
      const res = await t.json("POST", "/api/nostr", body, { authorization: header });
      assert.equal(res.status, 401, header.slice(0, 40));
      const challenge = res.headers.get("www-authenticate");
      assert.ok(challenge?.startsWith("Bearer"), header.slice(0, 40));
    }
    assert.deepEqual(resolved, ["unknown-token", t.token], "malformed tokens are never looked up");
    assert.equal(calls.length, 0);
    const lower = await t.json("POST", "/api/nostr", body, { authorization: `bearer ${TOKEN}` });
    assert.equal(lower.status, 200, "the scheme is case-insensitive");
  });
});

Deno.test("POST /api/nostr answers 400 for a body that is not {method, params} JSON", async () => {
  const { signing, calls } = fakeSigning();
  await withApp({ httpSigning: signing }, async (t) => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const cases: [RequestInit, RegExp][] = [
      [{ body: "method=ping", headers: { ...auth, "content-type": "text/plain" } }, /as JSON/],
      [{ headers: auth }, /as JSON/],
      [{ body: "{oops", headers: { ...auth, "content-type": "application/json" } }, /JSON/],
      [{ body: "[1]", headers: { ...auth, "content-type": "application/json" } }, /object/],
      [
        { body: '{"params":[]}', headers: { ...auth, "content-type": "application/json" } },
        /method/,
      ],
      [
        { body: '{"method":""}', headers: { ...auth, "content-type": "application/json" } },
        /method/,
      ],
      [
        {
          body: '{"method":"ping","params":"x"}',
          headers: { ...auth, "content-type": "application/json" },
        },
        /^invalid: params must be an array/,
      ],
    ];
    for (const [init, message] of cases) {
      const res = await t.app.request("/api/nostr", { method: "POST", ...init });
      assert.equal(res.status, 400, String(init.body));
      assert.match((await res.json()).error, message, String(init.body));
    }
    assert.equal(calls.length, 0);
  });
});

Deno.test("POST /api/nostr caps the body like every /api route, after the token is checked", async () => {
  const { signing, calls } = fakeSigning();
  await withApp({ httpSigning: signing, maxBodyBytes: 1_024 }, async (t) => {
    const big = { method: "sign_event", params: [{ kind: 1, content: "x".repeat(2_000) }] };
    const tooLarge = await post(t, big);
    assert.equal(tooLarge.status, 413);
    assert.match(tooLarge.body.error, /Request body is too large: the limit is 1024 bytes/);
    const anonymous = await t.json("POST", "/api/nostr", big, {});
    assert.equal(anonymous.status, 401, "no body is read for a request without a token");
    assert.equal(calls.length, 0);
  });
});

Deno.test("POST /api/nostr allows CORS for the grant's origin only, without credentials", async () => {
  const { signing, calls } = fakeSigning();
  await withApp({ httpSigning: signing }, async (t) => {
    const body = { method: "ping", params: [] };
    const same = await post(t, body, { origin: APP_ORIGIN });
    assert.equal(same.status, 200);
    assert.equal(same.headers.get("access-control-allow-origin"), APP_ORIGIN);
    assert.equal(same.headers.get("access-control-allow-credentials"), null);
    assert.match(same.headers.get("access-control-expose-headers") ?? "", /Retry-After/);
    assert.match(same.headers.get("vary") ?? "", /Origin/);

    const other = await post(t, body, { origin: "https://evil.example" });
    assert.equal(other.status, 403);
    assert.match(other.body.error, /^forbidden: this access token was issued to another origin/);
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    assert.equal(calls.length, 1, "a request from another origin never reaches the signer");

    const expired = await t.json("POST", "/api/nostr", body, {
      authorization: "Bearer expired-token",
      origin: APP_ORIGIN,
    });
    assert.equal(expired.status, 401);
    assert.equal(
      expired.headers.get("access-control-allow-origin"),
      APP_ORIGIN,
      "the app can read its 401 and refresh its token",
    );
    const strangerExpired = await t.json("POST", "/api/nostr", body, {
      authorization: "Bearer expired-token",
      origin: "https://evil.example",
    });
    assert.equal(strangerExpired.headers.get("access-control-allow-origin"), null);
  });
});

Deno.test("OPTIONS /api/nostr answers the preflight of a grant's origin, and nothing to others", async () => {
  const { signing } = fakeSigning();
  const preflight = (t: TestApp, origin: string) =>
    t.app.request("/api/nostr", {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
  await withApp({ httpSigning: signing }, async (t) => {
    const allowed = await preflight(t, APP_ORIGIN);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get("access-control-allow-origin"), APP_ORIGIN);
    assert.equal(allowed.headers.get("access-control-allow-methods"), "POST");
    assert.equal(
      allowed.headers.get("access-control-allow-headers"),
      "authorization, content-type",
    );
    assert.equal(allowed.headers.get("access-control-allow-credentials"), null);
    assert.equal(allowed.headers.get("access-control-max-age"), "600");
    for (const origin of ["https://evil.example", "null"]) {
      const refused = await preflight(t, origin);
      assert.equal(refused.status, 204);
      assert.equal(refused.headers.get("access-control-allow-origin"), null, origin);
      assert.equal(refused.headers.get("access-control-allow-methods"), null, origin);
    }
  });
  const { allowsOrigin: _, ...withoutOrigins } = signing;
  await withApp({ httpSigning: withoutOrigins }, async (t) => {
    const res = await preflight(t, APP_ORIGIN);
    assert.equal(res.headers.get("access-control-allow-origin"), null, "no origin is known");
  });
});

Deno.test("/api/nostr is not behind admin auth and is not an admin door", async () => {
  const { signing } = fakeSigning();
  await withApp({ httpSigning: signing }, async (t) => {
    const res = await post(t, { method: "ping" });
    assert.equal(res.status, 200, "an access token is enough");
    const admin = await t.json("POST", "/api/nostr", { method: "ping" });
    assert.equal(admin.status, 401, "the admin token is no access token");
    const get = await t.json("GET", "/api/nostr", undefined, { authorization: `Bearer ${TOKEN}` });
    assert.equal(get.status, 404);
  });
});

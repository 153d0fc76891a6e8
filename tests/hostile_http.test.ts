/**
 * Hostile HTTP input against `keycast serve` as a child process: bad JSON, huge and endless bodies,
 * bad credentials, and path traversal in ids sent as raw bytes (fetch would normalize the paths).
 * Every request gets a JSON error with the right status — never a 500, never a bypass of the admin
 * auth, never an echo of the credential — and the server keeps serving.
 */
import assert from "node:assert/strict";
import { Keycast } from "./helpers/keycast.ts";

/** `DEFAULT_MAX_BODY_BYTES` of the admin API. */
const MAX_BODY_BYTES = 64 * 1024;
const encoder = new TextEncoder();

/** A response read off a raw socket. */
interface RawResponse {
  status: number;
  text: string;
}

/**
 * Sends `head` (request line and headers, without the blank line) and then `body` chunks over a
 * plain TCP connection, and reads the response until the server closes. Writes that fail because
 * the server already answered and closed are expected with oversized bodies.
 */
async function rawRequest(
  port: number,
  head: string,
  body: Uint8Array[] = [],
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(`${head}\r\nConnection: close\r\n\r\n`));
    for (const chunk of body) {
      try {
        for (let written = 0; written < chunk.length;) {
          written += await conn.write(chunk.subarray(written));
        }
      } catch (_error: unknown) {
        break; // The server answered early and closed: read what it said.
      }
    }
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(16 * 1024);
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    const text = new TextDecoder().decode(concat(chunks));
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
    return { status, text };
  } finally {
    conn.close();
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** One HTTP/1.1 chunk of `size` bytes of "a". */
function httpChunk(size: number): Uint8Array {
  return encoder.encode(`${size.toString(16)}\r\n${"a".repeat(size)}\r\n`);
}

Deno.test("hostile HTTP input: JSON errors with the right status, no bypass, and the server keeps serving", async (t) => {
  await using keycast = await Keycast.start();
  const base = keycast.server.url;
  const port = keycast.server.port;
  const token = (await Deno.readTextFile(`${keycast.dataDir}/admin.token`)).trim();
  const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const post = (path: string, body: BodyInit, headers: Record<string, string> = auth) =>
    fetch(`${base}${path}`, { method: "POST", headers, body });
  const expectError = async (response: Response, status: number, what: string) => {
    const text = await response.text();
    assert.deepEqual(response.status, status, `${what}: ${text.slice(0, 200)}`);
    assert.equal(typeof JSON.parse(text).error, "string", what);
    return text;
  };

  await t.step("malformed JSON bodies → 400 that do not echo the body", async () => {
    const cases: [string, BodyInit][] = [
      ["not JSON", '{"name": "sneaky-secret-text'],
      ["an array", "[1,2,3]"],
      ["a string", '"alice"'],
      ["empty", ""],
      ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
      ["a number as name", JSON.stringify({ name: 5 })],
      ["an unknown field", JSON.stringify({ name: "ok-name", admin: true })],
      ["a prototype key", '{"__proto__": {"admin": true}, "name": "proto"}'],
      ["deep nesting", "[".repeat(30_000) + "]".repeat(30_000)],
    ];
    for (const [what, body] of cases) {
      const text = await expectError(await post("/api/keys", body), 400, what);
      assert.equal(text.includes("sneaky-secret-text"), false, `${what} echoed the body`);
    }
  });

  await t.step("huge bodies → 413, declared or streamed", async () => {
    const declared = await post("/api/keys", "x".repeat(1024 * 1024));
    await expectError(declared, 413, "1 MiB body");
    const justOver = JSON.stringify({ name: "n", pad: "x".repeat(MAX_BODY_BYTES) });
    await expectError(await post("/api/policies", justOver), 413, "body just over the cap");
    const chunked = await rawRequest(
      port,
      `POST /api/keys HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
        "Content-Type: application/json\r\nTransfer-Encoding: chunked",
      [...Array.from({ length: 20 }, () => httpChunk(16 * 1024)), encoder.encode("0\r\n\r\n")],
    );
    assert.equal(chunked.status, 413, chunked.text.slice(0, 200));
    const badLength = await rawRequest(
      port,
      `POST /api/keys HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
        "Content-Length: 99999999999999999999",
    );
    assert.ok([400, 413].includes(badLength.status), badLength.text.slice(0, 200));
  });

  await t.step("bad credentials → 401, never echoed", async () => {
    const credential = "wrong-token-0123456789abcdef";
    const headers: (Record<string, string> | undefined)[] = [
      undefined,
      { authorization: "" },
      { authorization: `Bearer ${credential}` },
      { authorization: `bearer   ${credential}  ` },
      { authorization: `Bearer ${token}x` },
      { authorization: `Bearer ${"a".repeat(2_000)}` },
      { authorization: `Bearer ${"a".repeat(10_000)}` },
      { authorization: `Basic ${btoa(`admin:${credential}`)}` },
      { authorization: `Nostr ${credential}` },
      { authorization: `Nostr ${btoa(JSON.stringify({ kind: 27235, tags: [] }))}` },
      { authorization: `Bearer ${token} extra` },
    ];
    for (const header of headers) {
      const response = await fetch(`${base}/api/keys`, { headers: header });
      const text = await expectError(response, 401, JSON.stringify(header)?.slice(0, 60) ?? "none");
      assert.equal(text.includes(credential), false, "the credential was echoed");
      assert.equal(text.includes(token), false, "the admin token was echoed");
    }
  });

  await t.step(
    "path traversal and odd ids → 400/401/404 JSON, never a file, never a bypass",
    async () => {
      const authed = [
        "/api/authorizations/../../../../etc/passwd",
        "/api/authorizations/..%2f..%2f..%2fetc%2fpasswd",
        "/api/authorizations/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/api/policies/..%2F..%2Fkeys",
        "/api/policies/..\\..\\windows\\win.ini",
        "/api/policies/%00",
        "/api/policies/%ff%fe",
        `/api/authorizations/${"a".repeat(4_000)}`,
        "/api/authorizations/00000000-0000-0000-0000-000000000000%00",
        "/api/keys/..;/..;/etc/passwd",
      ];
      for (const path of authed) {
        const response = await rawRequest(
          port,
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}`,
        );
        assert.ok([400, 404].includes(response.status), `${path}: ${response.text.slice(0, 200)}`);
        assert.ok(response.text.includes('"error"'), `${path}: no JSON error`);
        assert.equal(response.text.includes("root:"), false, `${path} served a file`);
      }
      const bypasses = [
        "/health/../api/keys",
        "/health/%2e%2e/api/keys",
        "//api/keys",
        "/API/keys",
        "/api/./keys",
        "/api%2fkeys",
        "/metrics/../api/keys",
      ];
      for (const path of bypasses) {
        const response = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1`);
        assert.ok(
          [400, 401, 404].includes(response.status),
          `${path} without credentials: ${response.text.slice(0, 200)}`,
        );
        assert.equal(response.text.includes('"keys"'), false, `${path} listed the keys`);
      }
    },
  );

  await t.step("the server still serves, and no request hit the generic 500 path", async () => {
    const keys = await fetch(`${base}/api/keys`, { headers: auth });
    assert.equal(keys.status, 200);
    await keys.body?.cancel();
    assert.equal((await keycast.health()).status, 200);
    const unexpected = keycast.server.lines.filter((line) =>
      line.includes("Request failed with an unexpected error")
    );
    assert.deepEqual(unexpected, []);
  });
});

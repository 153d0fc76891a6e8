/**
 * The admin API behind a real `Deno.serve` on 127.0.0.1: NIP-98 signed for the URL the server
 * sees, bearer auth, and the body cap on a real socket.
 */
import assert from "node:assert/strict";
import { TestApp } from "./helpers/app.ts";
import { testEachDatabase } from "./helpers/db.ts";

testEachDatabase("admin API over a real socket: NIP-98, bearer and body cap", async (db, t) => {
  let base = "";
  await using app = await TestApp.create(db, { maxBodyBytes: 1024, origins: () => [base] });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    app.app.fetch,
  );
  base = `http://127.0.0.1:${server.addr.port}`;

  await t.step("NIP-98 POST signed for the served URL", async () => {
    const body = JSON.stringify({ name: "over-tcp" });
    const res = await fetch(`${base}/api/keys`, {
      method: "POST",
      headers: {
        authorization: app.nip98("POST", `${base}/api/keys`, body),
        "content-type": "application/json",
      },
      body,
      signal: AbortSignal.timeout(5_000),
    });
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal((await res.json()).name, "over-tcp");
  });

  await t.step("NIP-98 signed for another host is rejected", async () => {
    const res = await fetch(`${base}/api/keys`, {
      headers: { authorization: app.nip98("GET", "http://localhost/api/keys") },
      signal: AbortSignal.timeout(5_000),
    });
    assert.equal(res.status, 401);
    const { error } = await res.json();
    assert.ok(error.includes("does not name this server"), error);
    assert.ok(error.includes(`"${base}/api/keys"`), error);
  });

  await t.step("bearer and the 413 body cap", async () => {
    const list = await fetch(`${base}/api/keys`, {
      headers: app.bearer(),
      signal: AbortSignal.timeout(5_000),
    });
    assert.equal((await list.json()).keys.length, 1);
    const big = await fetch(`${base}/api/keys`, {
      method: "POST",
      headers: { ...app.bearer(), "content-type": "application/json" },
      body: JSON.stringify({ name: "x".repeat(2_000) }),
      signal: AbortSignal.timeout(5_000),
    });
    assert.equal(big.status, 413);
    assert.match((await big.json()).error, /1024 bytes/);
  });

  await t.step("health without credentials", async () => {
    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5_000) });
    assert.deepEqual([res.status, (await res.json()).status], [200, "ok"]);
  });
});

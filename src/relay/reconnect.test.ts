import assert from "node:assert/strict";
// @ts-types="@types/ws"
import WebSocket from "ws";
import { eventually } from "../../tests/helpers/eventually.ts";
import { RelayPool } from "./pool.ts";
import { captureLog, closedPort, FakeRelay, randomHex64, testPoolOptions } from "./testing.ts";
import type { WebSocketConstructor } from "./types.ts";

type Filter = { "#p"?: string[]; since: number };

/** The `ws` client class, counting the pongs its sockets receive. */
function pongCounting(): { pongs: () => number; WebSocketImpl: WebSocketConstructor } {
  let pongs = 0;
  class PongCountingWebSocket extends WebSocket {
    constructor(address: string, options?: WebSocket.ClientOptions) {
      super(address, options);
      this.on("pong", () => pongs++);
    }
  }
  return { pongs: () => pongs, WebSocketImpl: PongCountingWebSocket as WebSocketConstructor };
}

Deno.test("RelayPool reconnects and re-subscribes everything after the relay drops the socket", async () => {
  await using relay = await FakeRelay.start();
  await using pool = new RelayPool(testPoolOptions());
  const pubkeys = Array.from({ length: 3 }, randomHex64);
  for (const pk of pubkeys) pool.watch(pk, [relay.url]);
  assert.equal(await pool.ready(pubkeys[0]!), true);
  relay.dropAll();
  await relay.waitForClients(1);
  const { message } = await relay.waitFor((r) => r.client.id === 2 && r.message[0] === "REQ");
  const filter = message[2] as Filter;
  assert.deepEqual(new Set(filter["#p"]), new Set(pubkeys));
  assert.ok(Math.abs(filter.since - (Math.floor(Date.now() / 1000) - 120)) <= 2);
  for (const pk of pubkeys) assert.equal(await pool.ready(pk), true);
  const [status] = pool.status();
  assert.equal(status?.connected, true);
  assert.ok(status!.reconnects >= 1);
});

Deno.test("RelayPool keeps a healthy socket open across keepalive pings", async () => {
  await using relay = await FakeRelay.start();
  const { pongs, WebSocketImpl } = pongCounting();
  await using pool = new RelayPool(
    testPoolOptions({ pingIntervalMs: 20, pongTimeoutMs: 200, WebSocketImpl }),
  );
  const bunkerPubkey = randomHex64();
  pool.watch(bunkerPubkey, [relay.url]);
  assert.equal(await pool.ready(bunkerPubkey), true);
  // 15 rounds of at least 20 ms outlast pongTimeoutMs: a pong the pool ignored would have cost
  // the socket by then.
  await eventually("15 keepalive pings are answered", () => pongs() >= 15, {
    timeoutMs: 3_000,
    intervalMs: 5,
  });
  assert.equal(relay.clients.length, 1);
  assert.equal(pool.status()[0]?.reconnects, 0);
});

Deno.test("RelayPool terminates a socket whose pings go unanswered and reconnects", async () => {
  await using server = await startSilentServer();
  await using pool = new RelayPool(testPoolOptions({ pingIntervalMs: 30, pongTimeoutMs: 30 }));
  pool.watch(randomHex64(), [`ws://127.0.0.1:${server.port}`]);
  await eventually("the pool reconnects after the keepalive timeout", () => server.accepted >= 2, {
    timeoutMs: 3_000,
    intervalMs: 10,
  });
  assert.match(pool.status()[0]?.lastError ?? "", /keepalive timeout/);
});

Deno.test("RelayPool gives up a handshake that never completes after connectTimeoutMs", async () => {
  await using server = await startSilentServer({ handshake: false });
  await using live = await FakeRelay.start();
  await using pool = new RelayPool(testPoolOptions({ connectTimeoutMs: 100 }));
  const stuck = `ws://127.0.0.1:${server.port}`;
  const bunkerPubkey = randomHex64();
  const started = Date.now();
  pool.watch(bunkerPubkey, [stuck, live.url]);
  assert.equal(await pool.ready(bunkerPubkey), true);
  assert.ok(Date.now() - started < 500, "the stuck relay did not delay the live one");
  await eventually("the pool retried after the timeout", () => server.accepted >= 2, {
    timeoutMs: 3_000,
    intervalMs: 10,
  });
  const status = pool.status().find((s) => s.url === stuck);
  assert.equal(status?.connected, false);
  assert.match(status?.lastError ?? "", /time/i);
});

/**
 * A TCP server that completes the WebSocket handshake (or, with `handshake: false`, never
 * answers it) and then ignores everything, pings included (Deno.serve would answer pings).
 */
async function startSilentServer({ handshake = true } = {}) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const state = { accepted: 0 };
  const serve = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(4_096);
    let head = "";
    while (handshake && !head.includes("\r\n\r\n")) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return;
      head += new TextDecoder().decode(buf.subarray(0, n));
    }
    if (!handshake) {
      for (let i = 0; i < 10_000; i++) {
        if ((await conn.read(buf).catch(() => null)) === null) return;
      }
      return;
    }
    const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
    const digest = await crypto.subtle.digest(
      "SHA-1",
      new TextEncoder().encode(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`),
    );
    const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
    await conn.write(new TextEncoder().encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    ));
    for (let i = 0; i < 10_000; i++) {
      if ((await conn.read(buf).catch(() => null)) === null) return;
    }
  };
  const loop = (async () => {
    for await (const conn of listener) {
      state.accepted++;
      conns.add(conn);
      const task = serve(conn).catch((_closed: unknown) => {
        // The socket was closed under a pending read or write by dispose: nothing to do.
      }).finally(() => {
        conns.delete(conn);
        tasks.delete(task);
        try {
          conn.close();
        } catch (_closed: unknown) {
          // Already closed by stop().
        }
      });
      tasks.add(task);
    }
  })();
  await Promise.resolve();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get accepted() {
      return state.accepted;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) conn.close();
      await loop.catch(() => {});
      await Promise.all([...tasks]);
    },
  };
}

Deno.test("a relay that stays unreachable is logged at info, then warn once, then quietly", async () => {
  const port = await closedPort();
  const { log, records } = captureLog();
  await using pool = new RelayPool(testPoolOptions({ log }));
  pool.watch(randomHex64(), [`ws://127.0.0.1:${port}`]);
  const failures = () => records.filter((r) => r.msg === "Cannot connect to relay");
  await eventually("six failed attempts", () => failures().length >= 6, { intervalMs: 5 });
  const levels = failures().slice(0, 6).map((r) => r.level);
  assert.deepEqual(levels, ["info", "info", "warn", "debug", "debug", "debug"]);
  assert.equal(failures()[2]!.failedAttempts, 3);
});

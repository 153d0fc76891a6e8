import assert from "node:assert/strict";
import { nsecEncode } from "nostr-tools/nip19";
import {
  createLogger,
  isSecretFieldName,
  type LogFormat,
  type LogLevel,
  redactText,
  silentLog,
} from "./log.ts";

const HEX_SECRET = "5f4e1b2c3d4a59687766554433221100ffeeddccbbaa99887766554433221100";
const NSEC = nsecEncode(Uint8Array.from({ length: 32 }, (_, i) => i + 1));
const CONNECT_SECRET = "c0nn3ct5ecr3tvalue";
const BUNKER_PUBKEY = "a9e0c0f9d2b14a6f8f6b0e3e9c6a7f21d4b5e8a0c3f7e2d1b6a9c8f7e6d5c4b3";
const BUNKER_URL =
  `bunker://${BUNKER_PUBKEY}?relay=wss%3A%2F%2Frelay.example&secret=${CONNECT_SECRET}`;
const TOKEN = "kc_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c";
const USER_PUBKEY = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d";
const EVENT_ID = "d4f1c9a2b7e3806f5a1c2b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071";
const T0 = new Date("2025-01-02T03:04:05.678Z");

function capture(level: LogLevel = "debug", format: LogFormat = "json") {
  const lines: string[] = [];
  const log = createLogger({ level, format, write: (line) => lines.push(line), now: () => T0 });
  return { log, lines };
}

Deno.test("createLogger() writes JSON lines with time, level, ns, msg and fields", () => {
  const { log, lines } = capture("info");
  log({
    level: "info",
    ns: "relay.pool",
    msg: "Relay connected",
    url: "wss://relay.example",
    n: 3,
  });
  assert.equal(lines.length, 1);
  assert.equal(
    lines[0],
    '{"time":"2025-01-02T03:04:05.678Z","level":"info","ns":"relay.pool",' +
      '"msg":"Relay connected","url":"wss://relay.example","n":3}',
  );
});

Deno.test("createLogger() drops records below the configured level", () => {
  const { log, lines } = capture("warn");
  for (const level of ["debug", "info", "warn", "error"] as const) {
    log({ level, ns: "t", msg: level });
  }
  assert.deepEqual(lines.map((l) => JSON.parse(l).level), ["warn", "error"]);
});

Deno.test("createLogger() keeps a field named time apart from the record time", () => {
  const { log, lines } = capture();
  log({ level: "info", ns: "t", msg: "m", time: 5 });
  assert.deepEqual(JSON.parse(lines[0]!), {
    time: T0.toISOString(),
    level: "info",
    ns: "t",
    msg: "m",
    _time: 5,
  });
});

for (const format of ["json", "pretty"] as const) {
  Deno.test(`createLogger() redacts secrets in msg and nested fields (${format})`, () => {
    const { log, lines } = capture("debug", format);
    log({
      level: "error",
      ns: "nip46.listener",
      msg: `Cannot import ${NSEC} for ${BUNKER_URL} (Bearer ${TOKEN})`,
      userPubkey: USER_PUBKEY,
      eventId: EVENT_ID,
      request: {
        headers: { authorization: `Bearer ${TOKEN}` },
        url: `http://x/?a=1&secret=${HEX_SECRET}`,
      },
      nested: { deeper: [{ secretKey: HEX_SECRET, sk: HEX_SECRET }], note: `key ${NSEC}` },
      password: "hunter2",
      bunkerUrl: BUNKER_URL,
      err: new Error(`Relay rejected ${BUNKER_URL}`),
    });
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.ok(!line.includes("\n"), "one line per record");
    for (const secret of [NSEC, HEX_SECRET, CONNECT_SECRET, TOKEN, "hunter2"]) {
      assert.ok(!line.includes(secret), `${secret.slice(0, 8)}… leaked in ${format} output`);
    }
    assert.ok(line.includes(USER_PUBKEY), "pubkeys stay visible");
    assert.ok(line.includes(EVENT_ID), "event ids stay visible");
    assert.ok(line.includes(`bunker://${BUNKER_PUBKEY}?[redacted]`), "bunker pubkey stays visible");
    assert.ok(line.includes("[redacted]"));
  });
}

Deno.test("createLogger() prints bytes as their length only", () => {
  const { log, lines } = capture();
  const bytes = new Uint8Array(32).fill(0xab);
  log({
    level: "info",
    ns: "t",
    msg: "m",
    data: bytes,
    nested: { buf: bytes.buffer, view: new DataView(bytes.buffer) },
  });
  const out = JSON.parse(lines[0]!);
  assert.equal(out.data, "[bytes 32]");
  assert.deepEqual(out.nested, { buf: "[bytes 32]", view: "[bytes 32]" });
  assert.ok(!lines[0]!.includes("171"), "no byte values");
});

Deno.test("createLogger() serializes errors as name and message, with stack only at debug", () => {
  const err = new TypeError(`Bad key ${NSEC}`, { cause: new Error("inner") });
  const info = capture("info");
  info.log({ level: "error", ns: "t", msg: "m", err });
  assert.deepEqual(JSON.parse(info.lines[0]!).err, {
    name: "TypeError",
    message: "Bad key [redacted]",
    cause: { name: "Error", message: "inner" },
  });
  const debug = capture("debug");
  debug.log({ level: "error", ns: "t", msg: "m", err });
  const out = JSON.parse(debug.lines[0]!).err;
  assert.match(out.stack, /TypeError: Bad key \[redacted\]\n\s+at /);
});

Deno.test("createLogger() writes one readable line in pretty format", () => {
  const { log, lines } = capture("info", "pretty");
  log({
    level: "warn",
    ns: "relay.pool",
    msg: "Relay closed\ninjected line",
    url: "wss://r.example",
    reason: "idle timeout",
    n: 2,
  });
  assert.equal(
    lines[0],
    '2025-01-02T03:04:05.678Z WARN  relay.pool Relay closed\\ninjected line url=wss://r.example reason="idle timeout" n=2',
  );
});

Deno.test("createLogger() bounds circular, deep and large values", () => {
  const { log, lines } = capture();
  const loop: Record<string, unknown> = { name: "loop" };
  loop.self = loop;
  let deep: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < 20; i++) deep = { d: deep };
  log({
    level: "info",
    ns: "t",
    msg: "m",
    loop,
    deep,
    many: Array.from({ length: 500 }, (_, i) => i),
    long: "x".repeat(50_000),
  });
  const out = JSON.parse(lines[0]!);
  assert.equal(out.loop.self, "[circular]");
  assert.ok(lines[0]!.includes("[too deep]"));
  assert.equal(out.many.length, 51);
  assert.equal(out.many.at(-1), "[450 more]");
  assert.ok(out.long.length < 8_100 && out.long.endsWith("…[truncated]"));
});

Deno.test("createLogger() never throws into the caller", () => {
  const log = createLogger({
    level: "info",
    format: "json",
    write: () => {
      throw new Error("closed");
    },
  });
  log({ level: "info", ns: "t", msg: "m" });
  const lines: string[] = [];
  const log2 = createLogger({
    level: "info",
    format: "json",
    write: (l) => lines.push(l),
    now: () => T0,
  });
  const hostile = {
    get boom() {
      throw new Error(`getter ${NSEC}`);
    },
  };
  log2({ level: "info", ns: "t", msg: "m", hostile });
  assert.equal(JSON.parse(lines[0]!).msg, "Cannot format log record");
  assert.ok(!lines[0]!.includes(NSEC));
  silentLog({ level: "error", ns: "t", msg: "m" });
});

Deno.test("isSecretFieldName() recognises secret-looking field names", () => {
  const secret = [
    "secret",
    "secretKey",
    "bunker_secret_key",
    "sk",
    "userSk",
    "nsec",
    "password",
    "adminToken",
    "token",
    "masterKey",
    "masterkey",
    "authorization",
    "Authorization",
    "x-api-key",
    "connectionSecret",
    "privateKey",
    "cookie",
    "ncryptsec",
    "passphrase",
  ];
  const visible = [
    "tokensLeft",
    "tokenCount",
    "disk",
    "task",
    "userPubkey",
    "key",
    "eventId",
    "keyName",
    "hasKey",
  ];
  for (const name of secret) assert.equal(isSecretFieldName(name), true, name);
  for (const name of visible) assert.equal(isSecretFieldName(name), false, name);
});

Deno.test("redactText() applies the text rules and leaves ordinary text alone", () => {
  const nip98 = btoa(JSON.stringify({ kind: 27235, tags: [["u", "http://x"]] }));
  assert.equal(redactText(`Authorization: Nostr ${nip98}`), "Authorization: Nostr [redacted]");
  assert.equal(redactText("Nostr relay connected"), "Nostr relay connected");
  assert.equal(
    redactText(`nostrconnect://${USER_PUBKEY}?relay=wss%3A%2F%2Fr&secret=abc&name=App done`),
    `nostrconnect://${USER_PUBKEY}?[redacted] done`,
  );
  assert.equal(redactText("a=1&secret%3Dzz9&b"), "a=1&secret%3D[redacted]&b");
  assert.equal(redactText(`import ${NSEC.toUpperCase()}`), "import [redacted]");
  assert.equal(
    redactText(`pubkey ${USER_PUBKEY} id ${EVENT_ID}`),
    `pubkey ${USER_PUBKEY} id ${EVENT_ID}`,
  );
});

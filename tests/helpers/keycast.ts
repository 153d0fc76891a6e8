/**
 * A whole keycast deployment for end-to-end tests: test relay process(es), `keycast serve` on a
 * temp data dir (in this process, or as a child process when the process is the point), and
 * helpers to call its admin API and to speak NIP-46 to it both through nostr-tools'
 * `BunkerSigner` and with hand-built request events.
 */
import { BunkerSigner, parseBunkerInput } from "nostr-tools/nip46";
import * as nip04 from "nostr-tools/nip04";
import * as nip44 from "nostr-tools/nip44";
import { finalizeEvent, generateSecretKey, getPublicKey, type NostrEvent } from "nostr-tools/pure";
import { SimplePool } from "nostr-tools/pool";
import { deadline } from "../../src/util/async.ts";
import { RelayTestClient } from "../relay/test_client.ts";
import { emptyPostgresDatabase } from "./db.ts";
import { startTestRelay, type TestRelay, type TestRelayOptions } from "./relay.ts";
import { type ServeProcess, startServe, startServeInProcess } from "./serve.ts";
import type { ServerDeps } from "../../src/server.ts";

/** Default time one NIP-46 call may take in tests (BunkerSigner has no timeout of its own). */
export const CALL_TIMEOUT_MS = 10_000;

/** Bounds a promise from a NIP-46 client with {@link CALL_TIMEOUT_MS}. */
export function within<T>(promise: Promise<T>, ms = CALL_TIMEOUT_MS): Promise<T> {
  return deadline(promise, ms);
}

/**
 * Polls `check` every `intervalMs` until it returns true; throws naming `what` after `timeoutMs`.
 * Returns the time it took, in ms.
 */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<number> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? CALL_TIMEOUT_MS;
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 100));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`);
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Options of {@link startKeycast}. */
export interface KeycastOptions {
  /** Number of test relays. Default 1. */
  relays?: number;
  relayOptions?: TestRelayOptions;
  /** Extra env for serve (e.g. DATABASE_URL). */
  env?: Record<string, string>;
  /** Extra serve args. */
  args?: string[];
  /**
   * Run serve as a child process (for tests of the process itself: signals, exit codes, the
   * command line). Default false: `startServer()` in this process.
   */
  process?: boolean;
  /** Database behind serve. Default the embedded SQLite in the data dir. */
  database?: "sqlite" | "postgres";
  /** What `startServer` takes besides its logger; in-process serve only. */
  serverDeps?: Omit<ServerDeps, "log">;
  /**
   * Advertise keycast's own relay: serve on a free port chosen now (kept across restarts) with
   * `--public-url http://127.0.0.1:<port>`. With `relays: 0`, the self-contained mode (no
   * external relay at all). Default false.
   */
  ownRelay?: boolean;
}

/** A running deployment; dispose stops everything and removes the data dir. */
export class Keycast implements AsyncDisposable {
  #server: ServeProcess;
  #token = "";
  readonly #pools = new Set<SimplePool>();
  readonly #signers = new Set<BunkerSigner>();
  #database: AsyncDisposable | undefined;

  private constructor(
    readonly relays: TestRelay[],
    server: ServeProcess,
    readonly dataDir: string,
    readonly options: KeycastOptions,
  ) {
    this.#server = server;
  }

  /** The serve process. */
  get server(): ServeProcess {
    return this.#server;
  }

  /** Starts relays and serve, and reads the admin token. */
  static async start(options: KeycastOptions = {}): Promise<Keycast> {
    const relays: TestRelay[] = [];
    const dataDir = await Deno.makeTempDir({ prefix: "keycast-e2e-" });
    const database = options.database === "postgres" ? await emptyPostgresDatabase() : undefined;
    if (database) options = { ...options, env: { ...options.env, DATABASE_URL: database.url } };
    if (options.ownRelay) {
      const port = freePort();
      const publicUrl = ["--port", `${port}`, "--public-url", `http://127.0.0.1:${port}`];
      options = { ...options, args: [...publicUrl, ...(options.args ?? [])] };
    }
    try {
      for (let i = 0; i < (options.relays ?? 1); i++) {
        relays.push(await startTestRelay(options.relayOptions));
      }
      const server = await Keycast.#serve(relays, dataDir, options);
      const keycast = new Keycast(relays, server, dataDir, options);
      keycast.#database = database;
      keycast.#token = (await Deno.readTextFile(`${dataDir}/admin.token`)).trim();
      return keycast;
    } catch (error) {
      for (const relay of relays) await relay.stop();
      await Deno.remove(dataDir, { recursive: true });
      await database?.[Symbol.asyncDispose]();
      throw error;
    }
  }

  static #serve(relays: TestRelay[], dataDir: string, options: KeycastOptions) {
    const serve = {
      args: [...relays.flatMap((relay) => ["--relay", relay.url]), ...(options.args ?? [])],
      env: { KEYCAST_DATA_DIR: dataDir, ...options.env },
    };
    return options.process
      ? startServe(serve)
      : startServeInProcess({ ...serve, deps: options.serverDeps });
  }

  /** Stops serve with SIGTERM and starts it again on the same data dir, then waits until ready. */
  async restart(): Promise<void> {
    await this.#server.stop();
    this.#server = await Keycast.#serve(this.relays, this.dataDir, this.options);
    await this.ready();
  }

  /** Waits until `/health/ready` answers 200 (authorizations loaded, a relay subscribed). */
  async ready(timeoutMs = 15_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const response = await fetch(`${this.#server.url}/health/ready`);
      await response.body?.cancel();
      if (response.ok) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`keycast was not ready within ${timeoutMs} ms`);
  }

  /** `GET /health` (or `/health/ready` with `ready`): status and parsed body. */
  async health(opts: { ready?: boolean } = {}): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${this.#server.url}/health${opts.ready ? "/ready" : ""}`);
    return { status: response.status, body: await response.json() };
  }

  /** How many of serve's log lines so far carry the message `msg`. */
  logCount(msg: string): number {
    const needle = JSON.stringify(msg);
    return this.#server.lines.filter((line) => line.includes(needle)).length;
  }

  /** Calls the admin API with the bearer token and returns status and parsed body. */
  async api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${this.#server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.#token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  /** Creates a key (once per name) and an authorization for it; returns the authorization. */
  async authorize(keyName: string, fields: Record<string, unknown> = {}): Promise<Json> {
    const key = await this.api("POST", "/api/keys", { name: keyName });
    if (key.status !== 201 && key.status !== 409) {
      throw new Error(`Cannot create key: ${JSON.stringify(key.body)}`);
    }
    const created = await this.api("POST", "/api/authorizations", { key: keyName, ...fields });
    if (created.status !== 201) {
      throw new Error(`Cannot authorize: ${JSON.stringify(created.body)}`);
    }
    return created.body;
  }

  /** A nostr-tools BunkerSigner for `bunkerUrl` with a fresh (or given) client key. */
  async signer(bunkerUrl: string, clientSecretKey = generateSecretKey()): Promise<BunkerSigner> {
    const pointer = await parseBunkerInput(bunkerUrl);
    if (!pointer) throw new Error("Cannot parse the bunker URL");
    const pool = new SimplePool();
    this.#pools.add(pool);
    const signer = BunkerSigner.fromBunker(clientSecretKey, pointer, { pool });
    this.#signers.add(signer);
    return signer;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const signer of this.#signers) await signer.close().catch(() => {});
    for (const pool of this.#pools) pool.destroy();
    await this.#server.stop();
    const dump = Deno.env.get("KEYCAST_TEST_SERVE_LOG");
    if (dump) {
      await Deno.writeTextFile(dump, this.#server.lines.join("\n") + "\n", { append: true });
    }
    for (const relay of this.relays) await relay.stop();
    await Deno.remove(this.dataDir, { recursive: true });
    await this.#database?.[Symbol.asyncDispose]();
  }
}

/** A parsed JSON body. */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** A NIP-46 client built by hand, for cases BunkerSigner cannot express (NIP-04, replays, forgeries). */
export class RawClient implements AsyncDisposable {
  readonly secretKey: Uint8Array;
  readonly pubkey: string;
  readonly #sockets: RelayTestClient[];
  #serial = 0;

  private constructor(sockets: RelayTestClient[], secretKey: Uint8Array) {
    this.#sockets = sockets;
    this.secretKey = secretKey;
    this.pubkey = getPublicKey(secretKey);
  }

  /**
   * Connects to each relay and subscribes to replies addressed to this client. `secretKey` reuses
   * a client identity (e.g. to come back after a relay dropped the previous sockets).
   */
  static async connect(
    relayUrls: string[],
    opts: { secretKey?: Uint8Array } = {},
  ): Promise<RawClient> {
    const sockets = await Promise.all(relayUrls.map((url) => RelayTestClient.connect(url)));
    const client = new RawClient(sockets, opts.secretKey ?? generateSecretKey());
    for (const socket of sockets) {
      socket.send(["REQ", "replies", {
        kinds: [24133],
        "#p": [client.pubkey],
        since: Math.floor(Date.now() / 1000) - 5,
      }]);
      await socket.nextOf("EOSE", "replies");
    }
    return client;
  }

  /** Builds a signed request event for `bunkerPubkey`. */
  request(
    bunkerPubkey: string,
    method: string,
    params: string[],
    scheme: "nip44" | "nip04" = "nip44",
  ): { event: NostrEvent; id: string } {
    const id = `raw-${++this.#serial}-${crypto.randomUUID().slice(0, 8)}`;
    const plaintext = JSON.stringify({ id, method, params });
    const content = scheme === "nip44"
      ? nip44.encrypt(plaintext, nip44.getConversationKey(this.secretKey, bunkerPubkey))
      : nip04.encrypt(this.secretKey, bunkerPubkey, plaintext);
    const event = finalizeEvent({
      kind: 24133,
      created_at: Math.floor(Date.now() / 1000),
      tags: [["p", bunkerPubkey]],
      content,
    }, this.secretKey);
    return { event, id };
  }

  /** Encrypts `plaintext` to `bunkerPubkey` with `scheme`, as a request's content. */
  encrypt(bunkerPubkey: string, plaintext: string, scheme: "nip44" | "nip04" = "nip44"): string {
    return scheme === "nip44"
      ? nip44.encrypt(plaintext, nip44.getConversationKey(this.secretKey, bunkerPubkey))
      : nip04.encrypt(this.secretKey, bunkerPubkey, plaintext);
  }

  /**
   * A signed event from this client with any `content` (hostile cases: bad JSON, bad ciphertext,
   * oversized content, a wrong kind or timestamp). Default kind 24133, `#p` the bunker, now.
   */
  event(
    bunkerPubkey: string,
    content: string,
    opts: { kind?: number; createdAt?: number; tags?: string[][] } = {},
  ): NostrEvent {
    return finalizeEvent({
      kind: opts.kind ?? 24133,
      created_at: opts.createdAt ?? Math.floor(Date.now() / 1000),
      tags: opts.tags ?? [["p", bunkerPubkey]],
      content,
    }, this.secretKey);
  }

  /** Encrypts `message` (a string is sent as is, anything else as JSON), signs and publishes it. */
  send(
    bunkerPubkey: string,
    message: unknown,
    opts: { scheme?: "nip44" | "nip04"; createdAt?: number; relayIndexes?: number[] } = {},
  ): NostrEvent {
    const plaintext = typeof message === "string" ? message : JSON.stringify(message);
    const content = this.encrypt(bunkerPubkey, plaintext, opts.scheme);
    const event = this.event(bunkerPubkey, content, { createdAt: opts.createdAt });
    this.publish(event, opts.relayIndexes);
    return event;
  }

  /**
   * Collects every decrypted reply from `bunkerPubkey`, grouped by request id, for `waitMs` or
   * until `count` distinct request ids have been answered. De-duplicated by reply event id.
   */
  async collect(
    bunkerPubkey: string,
    opts: { waitMs?: number; count?: number } = {},
  ): Promise<Map<string, { result: string; error?: string; eventId: string }[]>> {
    const byId = new Map<string, { result: string; error?: string; eventId: string }[]>();
    const seen = new Set<string>();
    const until = Date.now() + (opts.waitMs ?? CALL_TIMEOUT_MS);
    while (Date.now() < until && !(opts.count !== undefined && byId.size >= opts.count)) {
      const remaining = until - Date.now();
      const batches = await Promise.all(
        this.#sockets.map((socket) =>
          socket.next((m) => m[0] === "EVENT" && m[1] === "replies", Math.min(remaining, 200))
            .catch(() => undefined)
        ),
      );
      for (const message of batches) {
        if (!message) continue;
        const event = message[2] as NostrEvent;
        if (event.pubkey !== bunkerPubkey || seen.has(event.id)) continue;
        seen.add(event.id);
        const reply = this.#open(bunkerPubkey, event);
        const list = byId.get(reply.id) ?? [];
        list.push({ result: reply.result, error: reply.error, eventId: event.id });
        byId.set(reply.id, list);
      }
    }
    return byId;
  }

  #open(bunkerPubkey: string, event: NostrEvent): { id: string; result: string; error?: string } {
    const plaintext = event.content.includes("?iv=")
      ? nip04.decrypt(this.secretKey, bunkerPubkey, event.content)
      : nip44.decrypt(event.content, nip44.getConversationKey(this.secretKey, bunkerPubkey));
    return JSON.parse(plaintext);
  }

  /** Publishes `event` (any object: hostile tests send malformed ones) on these relays (default all). */
  publish(event: NostrEvent | Record<string, unknown>, relayIndexes?: number[]): void {
    const targets = relayIndexes?.map((i) => this.#sockets[i]!) ?? this.#sockets;
    for (const socket of targets) socket.send(["EVENT", event]);
  }

  /**
   * Collects decrypted replies from `bunkerPubkey` with request id `id` for `waitMs` (or until the
   * first when `firstOnly`), de-duplicated by reply event id.
   */
  async replies(
    bunkerPubkey: string,
    id: string,
    opts: { waitMs?: number; firstOnly?: boolean } = {},
  ): Promise<{ result: string; error?: string; scheme: "nip44" | "nip04"; eventId: string }[]> {
    const found = new Map<
      string,
      { result: string; error?: string; scheme: "nip44" | "nip04"; eventId: string }
    >();
    const until = Date.now() + (opts.waitMs ?? CALL_TIMEOUT_MS);
    while (Date.now() < until && !(opts.firstOnly && found.size > 0)) {
      const remaining = until - Date.now();
      const batches = await Promise.all(
        this.#sockets.map((socket) =>
          socket.next((m) => m[0] === "EVENT" && m[1] === "replies", Math.min(remaining, 200))
            .catch(() => undefined)
        ),
      );
      for (const message of batches) {
        if (!message) continue;
        const event = message[2] as NostrEvent;
        if (event.pubkey !== bunkerPubkey || found.has(event.id)) continue;
        const scheme = event.content.includes("?iv=") ? "nip04" : "nip44";
        const plaintext = scheme === "nip44"
          ? nip44.decrypt(event.content, nip44.getConversationKey(this.secretKey, bunkerPubkey))
          : nip04.decrypt(this.secretKey, bunkerPubkey, event.content);
        const reply = JSON.parse(plaintext) as { id: string; result: string; error?: string };
        if (reply.id === id) found.set(event.id, { ...reply, scheme, eventId: event.id });
      }
    }
    return [...found.values()];
  }

  /** Sends a request and waits for its first reply. */
  async call(
    bunkerPubkey: string,
    method: string,
    params: string[],
    scheme: "nip44" | "nip04" = "nip44",
  ): Promise<{ result: string; error?: string; scheme: "nip44" | "nip04" }> {
    const { event, id } = this.request(bunkerPubkey, method, params, scheme);
    this.publish(event);
    const [reply] = await this.replies(bunkerPubkey, id, { firstOnly: true });
    if (!reply) throw new Error(`No reply to ${method} within ${CALL_TIMEOUT_MS} ms`);
    return reply;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const socket of this.#sockets) await socket.close();
  }
}

/**
 * A `serve --cluster` deployment for end-to-end tests: several real `keycast serve` processes on
 * one throwaway PostgreSQL database (same master key, same admin token, a data dir each), test
 * relay processes, and — for fault tests — a TCP proxy between chosen instances and PostgreSQL.
 * {@link Traffic} sends NIP-46 requests by hand and counts, with an independent observer socket on
 * every relay, every reply event the bunkers publish, so a request answered twice (by two
 * instances) is seen even when a client would have kept only the first.
 *
 *   await using cluster = await TestCluster.start({ instances: 3 });
 *   const ids = await cluster.settled();
 *   await using traffic = await Traffic.open(cluster.relays.map((r) => r.url), bunkers);
 */
// @ts-types="@types/ws"
import WebSocket from "ws";
import { base64 } from "@scure/base";
import * as nip44 from "nostr-tools/nip44";
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import type { NostrEvent } from "nostr-tools/pure";
import { SLOT_COUNT, slotOf, slotsOf } from "../../src/cluster/slots.ts";
import { deadline } from "../../src/util/async.ts";
import { emptyPostgresDatabase, TEST_POSTGRES_URL } from "./db.ts";
import { eventually } from "./eventually.ts";
import type { Json } from "./keycast.ts";
import { startTestRelay, type TestRelay } from "./relay.ts";
import { type ServeProcess, startServe } from "./serve.ts";
import { TcpProxy } from "./tcp_proxy.ts";

/** Options of {@link TestCluster.start}. */
export interface TestClusterOptions {
  /** Instances started at once. Default 3. */
  instances?: number;
  /** Test relays every instance uses. Default 2. */
  relays?: number;
  /** The instances' `--lease`, in seconds. Default 3. */
  leaseSeconds?: number;
  /** Indexes of the instances that reach PostgreSQL through {@link TestCluster.proxy}. */
  proxied?: readonly number[];
}

/** One running instance. */
export interface ClusterNode {
  /** Its place in the cluster (a replacement takes the same index). */
  index: number;
  serve: ServeProcess;
  /** Base URL of its HTTP API. */
  url: string;
}

/** Longest wait for one instance to stop after a signal before it is killed, in ms. */
const STOP_TIMEOUT_MS = 20_000;

/** Several `serve --cluster` processes on one database (see the module doc). */
export class TestCluster implements AsyncDisposable {
  /** The lease every instance runs with, in ms. */
  readonly leaseMs: number;
  readonly #nodes: (ClusterNode | undefined)[] = [];
  /** Every process ever started, for the log dump. */
  readonly #started: { index: number; serve: ServeProcess }[] = [];
  readonly #dataDirs: string[] = [];
  readonly #env: Record<string, string>;
  /** `serve` arguments after `--host` and `--port`. */
  readonly #args: string[];
  readonly #proxiedUrl: string | undefined;
  readonly #proxiedIndexes: ReadonlySet<number>;

  private constructor(
    readonly relays: TestRelay[],
    readonly database: { url: string } & AsyncDisposable,
    /** Between the proxied instances and PostgreSQL; undefined without `proxied`. */
    readonly proxy: TcpProxy | undefined,
    readonly adminToken: string,
    options: Required<Omit<TestClusterOptions, "proxied">> & { proxied: readonly number[] },
  ) {
    this.leaseMs = options.leaseSeconds * 1000;
    this.#proxiedIndexes = new Set(options.proxied);
    this.#env = {
      DATABASE_URL: database.url,
      KEYCAST_MASTER_KEY: base64.encode(crypto.getRandomValues(new Uint8Array(32))),
      KEYCAST_ADMIN_TOKEN: adminToken,
      LOG_LEVEL: "info",
    };
    if (proxy) {
      const proxied = new URL(database.url);
      proxied.hostname = "127.0.0.1";
      proxied.port = String(proxy.port);
      this.#proxiedUrl = proxied.href;
    }
    this.#args = [
      ...relays.flatMap((relay) => ["--relay", relay.url]),
      "--cluster",
      "--lease",
      `${options.leaseSeconds}s`,
    ];
  }

  /** Starts the relays, the database (and proxy) and `instances` instances, in parallel. */
  static async start(options: TestClusterOptions = {}): Promise<TestCluster> {
    const settings = {
      instances: options.instances ?? 3,
      relays: options.relays ?? 2,
      leaseSeconds: options.leaseSeconds ?? 3,
      proxied: options.proxied ?? [],
    };
    const relays: TestRelay[] = [];
    const database = await emptyPostgresDatabase();
    let proxy: TcpProxy | undefined;
    let cluster: TestCluster | undefined;
    try {
      for (let i = 0; i < settings.relays; i++) relays.push(await startTestRelay());
      if (settings.proxied.length > 0) {
        const server = new URL(TEST_POSTGRES_URL);
        proxy = await TcpProxy.start({
          hostname: server.hostname,
          port: Number(server.port || 5432),
        });
      }
      const token = base64.encode(crypto.getRandomValues(new Uint8Array(24)));
      cluster = new TestCluster(relays, database, proxy, token, settings);
      const starting = [];
      for (let i = 0; i < settings.instances; i++) starting.push(cluster.startNode(i));
      const started = await Promise.allSettled(starting);
      const failed = started.find((s) => s.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      return cluster;
    } catch (error: unknown) {
      if (cluster) await cluster[Symbol.asyncDispose]();
      else {
        for (const relay of relays) await relay.stop();
        await proxy?.close();
        await database[Symbol.asyncDispose]();
      }
      throw error;
    }
  }

  /** The instance at `index`; throws when none runs there. */
  node(index: number): ClusterNode {
    const node = this.#nodes[index];
    if (!node) throw new Error(`No cluster instance runs at index ${index}`);
    return node;
  }

  /** The indexes of the instances running now. */
  get running(): number[] {
    return this.#nodes.flatMap((node, index) => node ? [index] : []);
  }

  /**
   * Starts an instance at `index` (a replacement when one ran there before) on a fresh data dir,
   * and resolves once it listens (not yet ready: see {@link ready}).
   */
  async startNode(index: number): Promise<ClusterNode> {
    if (this.#nodes[index]) throw new Error(`Cluster instance ${index} is still running`);
    const dataDir = await Deno.makeTempDir({ prefix: `keycast-cluster-${index}-` });
    this.#dataDirs.push(dataDir);
    const proxied = this.#proxiedIndexes.has(index);
    const serve = await startServe({
      args: this.#args,
      env: {
        ...this.#env,
        KEYCAST_DATA_DIR: dataDir,
        ...(proxied && this.#proxiedUrl ? { DATABASE_URL: this.#proxiedUrl } : {}),
      },
      timeoutMs: 60_000,
    });
    this.#started.push({ index, serve });
    const node = { index, serve, url: serve.url };
    this.#nodes[index] = node;
    return node;
  }

  /** Stops the instance at `index` with `signal`; resolves with its exit code (bounded). */
  async stopNode(index: number, signal: Deno.Signal = "SIGTERM"): Promise<number> {
    const node = this.node(index);
    this.#nodes[index] = undefined;
    return await stopBounded(node.serve, signal);
  }

  /** Calls the admin API of instance `index`. */
  async api(
    index: number,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${this.node(index).url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  /** `GET /health` (or `/health/ready`) of instance `index`. */
  async health(
    index: number,
    opts: { ready?: boolean } = {},
  ): Promise<{ status: number; body: Json }> {
    const path = opts.ready ? "/health/ready" : "/health";
    const response = await fetch(`${this.node(index).url}${path}`, {
      signal: AbortSignal.timeout(5_000),
    });
    return { status: response.status, body: await response.json() };
  }

  /** `GET /metrics` of instance `index`. */
  async metrics(index: number): Promise<string> {
    const response = await fetch(`${this.node(index).url}/metrics`, {
      signal: AbortSignal.timeout(5_000),
    });
    return await response.text();
  }

  /** Waits until `/health/ready` of instance `index` answers 200. */
  async ready(index: number, timeoutMs = 30_000): Promise<void> {
    await eventually(`cluster instance ${index} is ready`, async () => {
      return (await this.health(index, { ready: true })).status === 200;
    }, { timeoutMs, intervalMs: 50 });
  }

  /**
   * Waits until every running instance is ready, sees exactly the running instances, and the
   * hand-overs are over (the shares add up to every slot once); returns the instance ids by index.
   */
  async settled(timeoutMs = 30_000): Promise<Map<number, string>> {
    let ids = new Map<number, string>();
    await eventually("the cluster has settled", async () => {
      const running = this.running;
      const states = await Promise.all(running.map(async (index) => {
        const [health, ready] = await Promise.all([
          this.health(index),
          this.health(index, { ready: true }),
        ]);
        return { index, cluster: health.body.cluster as Json, ready: ready.status === 200 };
      }));
      const served = states.reduce((sum, s) => sum + Number(s.cluster?.served_slots ?? 0), 0);
      ids = new Map(states.map((s) => [s.index, String(s.cluster?.id)]));
      return served === SLOT_COUNT &&
        states.every((s) => s.ready && s.cluster?.instances === running.length);
    }, { timeoutMs, intervalMs: 100 });
    return ids;
  }

  /** Which instance (by index) owns each bunker among the instances `ids` (from {@link settled}). */
  static owners(ids: Map<number, string>, bunkerPubkeys: readonly string[]): Map<string, number> {
    const all = [...ids.values()];
    const slotsByIndex = [...ids].map(([index, id]) => ({ index, slots: slotsOf(id, all) }));
    const owners = new Map<string, number>();
    for (const bunkerPubkey of bunkerPubkeys) {
      const slot = slotOf(bunkerPubkey);
      const owner = slotsByIndex.find(({ slots }) => slots.has(slot));
      if (!owner) throw new Error(`No instance owns slot ${slot}`);
      owners.set(bunkerPubkey, owner.index);
    }
    return owners;
  }

  /** Creates a key (once per name) and an authorization for it through instance `index`. */
  async authorize(index: number, keyName: string): Promise<Json> {
    const key = await this.api(index, "POST", "/api/keys", { name: keyName });
    if (key.status !== 201 && key.status !== 409) {
      throw new Error(`Cannot create key: ${JSON.stringify(key.body)}`);
    }
    const created = await this.api(index, "POST", "/api/authorizations", { key: keyName });
    if (created.status !== 201) {
      throw new Error(`Cannot authorize: ${JSON.stringify(created.body)}`);
    }
    return created.body;
  }

  /**
   * The time of the first log line of instance `index` at or after `since` (ms) whose message
   * includes `text`.
   */
  loggedAt(index: number, text: string, since = 0): number | undefined {
    for (const line of this.node(index).serve.lines) {
      try {
        const entry = JSON.parse(line) as { time?: string; msg?: string };
        const time = Date.parse(entry.time ?? "");
        if (entry.msg?.includes(text) && time >= since) return time;
      } catch (_error: unknown) {
        continue; // Not a JSON log line (e.g. a stack trace): not a message.
      }
    }
    return undefined;
  }

  /** Every instance's log lines so far, for a failure message or a dump. */
  logs(): string {
    return this.#started.map(({ index, serve }) =>
      `--- instance ${index} (${serve.url})\n${serve.lines.join("\n")}`
    ).join("\n");
  }

  /** Stops every instance, then the relays, the proxy and the database; removes the data dirs. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.running.map((index) => this.stopNode(index).catch(() => -1)));
    const dump = Deno.env.get("KEYCAST_TEST_SERVE_LOG");
    if (dump) await Deno.writeTextFile(dump, this.logs() + "\n", { append: true });
    for (const relay of this.relays) await relay.stop();
    await this.proxy?.close();
    await this.database[Symbol.asyncDispose]();
    for (const dir of this.#dataDirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Signals `serve` and waits for its exit; kills it when it outlasts {@link STOP_TIMEOUT_MS}. */
async function stopBounded(serve: ServeProcess, signal: Deno.Signal): Promise<number> {
  try {
    return await deadline(serve.stop(signal), STOP_TIMEOUT_MS);
  } catch (_error: unknown) {
    return await serve.stop("SIGKILL");
  }
}

/** One NIP-46 client identity of {@link Traffic}. */
export interface TrafficClient {
  secretKey: Uint8Array;
  pubkey: string;
}

/** One request sent by {@link Traffic}. */
export interface SentRequest {
  /** `<bunker>:<client>:<request id>`, the key replies are counted under. */
  key: string;
  id: string;
  bunkerPubkey: string;
  clientPubkey: string;
  method: string;
  /** `Date.now()` when it was published. */
  sentAt: number;
}

/** One reply event the observer saw, decrypted. */
export interface ObservedReply {
  eventId: string;
  result: string;
  error?: string;
  /** `Date.now()` when the first relay delivered it. */
  seenAt: number;
}

/**
 * Sends hand-built NIP-46 requests on every relay (one shared socket per relay) and counts every
 * reply event with an observer socket per relay subscribed to `{"kinds":[24133],"authors":[every
 * bunker]}`: reply events are de-duplicated by event id across relays only, so two replies to one
 * request (two instances answering) count two.
 */
export class Traffic implements AsyncDisposable {
  /** Replies by request key (see {@link SentRequest.key}). */
  readonly replies = new Map<string, ObservedReply[]>();
  /** Reply events that could not be checked or read (bad signature, unknown client, bad JSON). */
  readonly unreadable: string[] = [];
  /** Requests a relay refused (`OK false`), with its reason. */
  readonly refused: string[] = [];
  readonly #publishers: WebSocket[];
  readonly #observers: WebSocket[];
  readonly #seen = new Set<string>();
  readonly #clients = new Map<string, TrafficClient>();
  readonly #conversationKeys = new Map<string, Uint8Array>();
  #serial = 0;

  private constructor(publishers: WebSocket[], observers: WebSocket[]) {
    this.#publishers = publishers;
    this.#observers = observers;
  }

  /** Connects to `relayUrls` and subscribes the observers to replies from `bunkerPubkeys`. */
  static async open(
    relayUrls: readonly string[],
    bunkerPubkeys: readonly string[],
  ): Promise<Traffic> {
    const sockets: WebSocket[] = [];
    try {
      const publishers = await Promise.all(relayUrls.map((url) => openSocket(url, sockets)));
      const observers = await Promise.all(relayUrls.map((url) => openSocket(url, sockets)));
      const traffic = new Traffic(publishers, observers);
      for (const publisher of publishers) {
        publisher.on("message", (data) => traffic.#published(String(data)));
      }
      await Promise.all(observers.map((observer) => traffic.#observe(observer, bunkerPubkeys)));
      return traffic;
    } catch (error: unknown) {
      await Promise.all(sockets.map(closeSocket));
      throw error;
    }
  }

  /** A new client identity whose replies the observer can read. */
  client(): TrafficClient {
    const secretKey = generateSecretKey();
    const client = { secretKey, pubkey: getPublicKey(secretKey) };
    this.#clients.set(client.pubkey, client);
    return client;
  }

  /** Encrypts, signs and publishes one request on every relay. */
  send(client: TrafficClient, bunkerPubkey: string, method: string, params: string[]): SentRequest {
    const id = `c${++this.#serial}-${crypto.randomUUID().slice(0, 8)}`;
    const content = nip44.encrypt(
      JSON.stringify({ id, method, params }),
      this.#conversationKey(client, bunkerPubkey),
    );
    const event = finalizeEvent({
      kind: 24133,
      created_at: Math.floor(Date.now() / 1000),
      tags: [["p", bunkerPubkey]],
      content,
    }, client.secretKey);
    const message = JSON.stringify(["EVENT", event]);
    for (const publisher of this.#publishers) publisher.send(message);
    return {
      key: `${bunkerPubkey}:${client.pubkey}:${id}`,
      id,
      bunkerPubkey,
      clientPubkey: client.pubkey,
      method,
      sentAt: Date.now(),
    };
  }

  /** Replies seen so far to `request`. */
  repliesTo(request: SentRequest): ObservedReply[] {
    return this.replies.get(request.key) ?? [];
  }

  /** Every reply event seen, across all requests. */
  get replyEvents(): number {
    return this.#seen.size;
  }

  /** Waits until every one of `requests` has at least one reply (throws after `timeoutMs`). */
  async answered(requests: readonly SentRequest[], timeoutMs = 15_000): Promise<void> {
    await eventually(`${requests.length} requests are answered`, () => {
      return requests.every((request) => this.repliesTo(request).length > 0);
    }, { timeoutMs, intervalMs: 50 });
  }

  /** Sends a request and waits for its first reply. */
  async call(
    client: TrafficClient,
    bunkerPubkey: string,
    method: string,
    params: string[],
    timeoutMs = 10_000,
  ): Promise<ObservedReply> {
    const request = this.send(client, bunkerPubkey, method, params);
    await this.answered([request], timeoutMs);
    return this.repliesTo(request)[0]!;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.#publishers, ...this.#observers].map(closeSocket));
  }

  #conversationKey(client: TrafficClient, bunkerPubkey: string): Uint8Array {
    const key = `${client.pubkey}:${bunkerPubkey}`;
    let conversationKey = this.#conversationKeys.get(key);
    if (!conversationKey) {
      conversationKey = nip44.getConversationKey(client.secretKey, bunkerPubkey);
      this.#conversationKeys.set(key, conversationKey);
    }
    return conversationKey;
  }

  async #observe(observer: WebSocket, bunkerPubkeys: readonly string[]): Promise<void> {
    const subscription = "observer";
    const eose = new Promise<void>((resolve) => {
      observer.on("message", (data) => {
        const message = parse(String(data));
        if (message?.[0] === "EOSE" && message[1] === subscription) resolve();
        if (message?.[0] === "EVENT" && message[1] === subscription) {
          this.#reply(message[2] as NostrEvent);
        }
      });
    });
    observer.send(JSON.stringify(["REQ", subscription, {
      kinds: [24133],
      authors: bunkerPubkeys,
    }]));
    await deadline(eose, 5_000);
  }

  #reply(event: NostrEvent): void {
    if (this.#seen.has(event.id)) return;
    this.#seen.add(event.id);
    const seenAt = Date.now();
    try {
      if (!verifyEvent(event)) throw new Error("bad signature");
      const clientPubkey = event.tags.find((tag) => tag[0] === "p")?.[1] ?? "";
      const client = this.#clients.get(clientPubkey);
      if (!client) throw new Error(`unknown client "${clientPubkey}"`);
      const plaintext = nip44.decrypt(event.content, this.#conversationKey(client, event.pubkey));
      const reply = JSON.parse(plaintext) as { id: string; result: string; error?: string };
      const key = `${event.pubkey}:${clientPubkey}:${reply.id}`;
      const list = this.replies.get(key) ?? [];
      list.push({ eventId: event.id, result: reply.result, error: reply.error, seenAt });
      this.replies.set(key, list);
    } catch (error: unknown) {
      this.unreadable.push(`${event.id}: ${error instanceof Error ? error.message : error}`);
    }
  }

  #published(data: string): void {
    const message = parse(data);
    if (message?.[0] === "OK" && message[2] === false) {
      this.refused.push(`${message[1]}: ${message[3]}`);
    }
  }
}

function parse(data: string): unknown[] | undefined {
  try {
    const message: unknown = JSON.parse(data);
    return Array.isArray(message) ? message : undefined;
  } catch (_error: unknown) {
    return undefined; // Not a relay message: nothing to count.
  }
}

async function openSocket(url: string, opened: WebSocket[]): Promise<WebSocket> {
  const socket = new WebSocket(url);
  opened.push(socket);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
      timer = setTimeout(() => reject(new Error(`Cannot connect to "${url}" in 5 s`)), 5_000);
    });
  } finally {
    clearTimeout(timer);
  }
  socket.on("error", () => {}); // Later errors end in "close".
  return socket;
}

async function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return;
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.close();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
  clearTimeout(timer);
  socket.terminate();
  await closed;
}

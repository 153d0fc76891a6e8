/**
 * A scripted in-process relay for the relay pool's unit tests: `Deno.serve` on 127.0.0.1, records
 * every client message, answers REQ with EOSE, EVENT with OK, and can require NIP-42 AUTH. Tests
 * assert the exact messages the pool sends. Not for production use.
 *
 * Use this fake to script what a relay answers (or fails to answer) and to see every message the
 * pool sent, inside one test process; use the real test relay (`tests/relay/`, started as a child
 * process by `tests/helpers/relay.ts`) to test end to end against real NIP-01 behaviour (stored
 * events, filters, signature checks, drops, restarts).
 */
import { authProblem } from "../../tests/relay/auth.ts";
import { parseEvent } from "../../tests/relay/event.ts";
import { type Log, type LogRecord, silentLog } from "../log.ts";
import { encodeHex } from "../util/hex.ts";
import type { RelayPoolOptions } from "./types.ts";

/** Behaviour switches of a {@link FakeRelay}; change them at any time through `options`. */
export interface FakeRelayOptions {
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /** Answer each REQ with EOSE at once. Default true. */
  autoEose?: boolean;
  /** OK answer to an EVENT, `[ok, message]`; `undefined` sends none. Default `[true, ""]`. */
  answerEvent?: (event: { id: string; pubkey: string }) => [boolean, string] | undefined;
  /** Send `["AUTH", challenge]` to each new client. Default: none. */
  challenge?: string;
  /** Close REQs and refuse EVENTs of clients that have not authenticated. Default false. */
  authRequired?: boolean;
}

/** One client socket as the relay sees it. */
export interface FakeClient {
  /** 1-based order of arrival. */
  readonly id: number;
  /** Pubkeys that completed AUTH on this socket. */
  readonly authed: Set<string>;
  /** True until the socket closes. */
  open: boolean;
  /** Sends a relay message to this client. */
  send(message: unknown[]): void;
  /** Sends raw text (for malformed-frame tests). */
  sendRaw(text: string): void;
  /** Closes this socket from the relay side. */
  close(): void;
}

/** A message received from a client. */
export interface Received {
  /** The sending client. */
  client: FakeClient;
  /** The parsed message. */
  message: unknown[];
}

/** A scripted relay listening on 127.0.0.1. */
export class FakeRelay implements AsyncDisposable {
  /** Current behaviour; mutable. */
  readonly options: FakeRelayOptions;
  /** Every message received, in order. */
  readonly received: Received[] = [];
  /** Every client that connected, in order. */
  readonly clients: FakeClient[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #abort: AbortController;
  readonly #sockets = new Set<WebSocket>();
  readonly #listeners = new Set<() => void>();

  private constructor(opts: FakeRelayOptions, abort: AbortController) {
    this.options = { autoEose: true, ...opts };
    this.#abort = abort;
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: opts.port ?? 0,
      signal: abort.signal,
      onListen: () => {},
    }, (req) => this.#accept(req));
  }

  /** Starts a relay. */
  static start(opts: FakeRelayOptions = {}): Promise<FakeRelay> {
    return Promise.resolve(new FakeRelay(opts, new AbortController()));
  }

  /** The bound port. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** `ws://127.0.0.1:<port>`. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Clients currently connected. */
  get openClients(): FakeClient[] {
    return this.clients.filter((c) => c.open);
  }

  /** Received messages of one type (`"REQ"`, `"EVENT"`, …). */
  messages(type: string): unknown[][] {
    return this.received.filter((r) => r.message[0] === type).map((r) => r.message);
  }

  /** Resolves with the first received entry (past or future) matching `match`; rejects on timeout. */
  waitFor(match: (r: Received) => boolean, timeoutMs = 3_000): Promise<Received> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.find(match);
        if (!found) return;
        finish();
        resolve(found);
      };
      const finish = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`Fake relay saw no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#listeners.add(check);
      check();
    });
  }

  /** Waits until `count` clients are connected at once; rejects on timeout. */
  waitForClients(count: number, timeoutMs = 3_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.openClients.length < count) return;
        finish();
        resolve();
      };
      const finish = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`Fake relay has no ${count} clients within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#listeners.add(check);
      check();
    });
  }

  /** Sends a message to every connected client. */
  broadcast(message: unknown[]): void {
    for (const client of this.openClients) client.send(message);
  }

  /** Closes every client socket from the relay side (clients should reconnect). */
  dropAll(): void {
    for (const client of this.openClients) client.close();
  }

  /** Closes all sockets and stops listening. */
  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.close();
    this.#abort.abort();
    await this.#server.finished;
  }

  /** Same as {@link stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #accept(req: Request): Response {
    if (req.headers.get("upgrade") !== "websocket") return new Response("relay", { status: 426 });
    const host = req.headers.get("host") ?? "";
    const { socket, response } = Deno.upgradeWebSocket(req);
    const client: FakeClient = {
      id: this.clients.length + 1,
      authed: new Set(),
      open: true,
      send: (message) => client.sendRaw(JSON.stringify(message)),
      sendRaw: (text) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(text);
      },
      close: () => socket.close(),
    };
    this.clients.push(client);
    this.#sockets.add(socket);
    socket.onopen = () => {
      if (this.options.challenge) client.send(["AUTH", this.options.challenge]);
      this.#notify();
    };
    socket.onclose = () => {
      client.open = false;
      this.#sockets.delete(socket);
      this.#notify();
    };
    socket.onmessage = (e) => this.#onMessage(client, host, String(e.data));
    return response;
  }

  /** Lets every pending wait re-check its condition. */
  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #onMessage(client: FakeClient, host: string, text: string): void {
    const message = JSON.parse(text) as unknown[];
    this.received.push({ client, message });
    const [type, a] = message;
    const blocked = this.options.authRequired === true && client.authed.size === 0;
    if (type === "REQ") {
      if (blocked) client.send(["CLOSED", a, "auth-required: authenticate first"]);
      else if (this.options.autoEose) client.send(["EOSE", a]);
    } else if (type === "EVENT") {
      const event = a as { id: string; pubkey: string };
      const answer = blocked
        ? [false, "auth-required: authenticate first"]
        : (this.options.answerEvent ?? (() => [true, ""]))(event);
      if (answer) client.send(["OK", event.id, ...answer]);
    } else if (type === "AUTH") {
      // The same NIP-42 checks as the real test relay (tests/relay/auth.ts).
      const parsed = parseEvent(a);
      const id = parsed.ok ? parsed.event.id : (a as { id?: unknown })?.id;
      const { challenge } = this.options;
      const problem = !parsed.ok
        ? parsed.reason
        : challenge === undefined
        ? "no challenge was sent"
        : authProblem(parsed.event, challenge, host, Math.floor(Date.now() / 1000));
      if (parsed.ok && problem === undefined) client.authed.add(parsed.event.pubkey);
      client.send(["OK", id, problem === undefined, problem ? `invalid: ${problem}` : ""]);
    }
    this.#notify();
  }
}

/** Pool options for tests: short timeouts and backoff, no pings, a silent log unless given. */
export function testPoolOptions(overrides: Partial<RelayPoolOptions> = {}): RelayPoolOptions {
  return {
    log: silentLog,
    onEvent: () => {},
    flushDelayMs: 5,
    connectTimeoutMs: 1_000,
    publishTimeoutMs: 2_000,
    readyTimeoutMs: 2_000,
    authTimeoutMs: 1_000,
    backoff: { initialMs: 20, maxMs: 100, resetAfterMs: 60_000 },
    pingIntervalMs: 0,
    ...overrides,
  };
}

/** A logger that keeps its records in memory. */
export function captureLog(): { log: Log; records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { log: (record) => records.push(record), records };
}

/** A random 64-hex string (pubkeys and ids for tests that do not need real keys). */
export function randomHex64(): string {
  return encodeHex(crypto.getRandomValues(new Uint8Array(32)));
}

/** A port that was just free and has no listener (for "dead relay" tests). */
export async function closedPort(): Promise<number> {
  const relay = await FakeRelay.start();
  const port = relay.port;
  await relay.stop();
  return port;
}

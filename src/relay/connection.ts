/**
 * One WebSocket to one relay, kept open: connect with a timeout, reconnect with jittered
 * exponential backoff, keepalive pings, size-capped JSON parsing of relay messages. What the
 * messages mean is the owner's business (see `relay.ts`).
 */
import type { Buffer } from "node:buffer";
// @ts-types="@types/ws"
import WebSocket from "ws";
import type { Log, LogLevel } from "../log.ts";
import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import { decodeFrame } from "./frames.ts";
import { Keepalive } from "./keepalive.ts";
import { Notifier } from "./notify.ts";
import { OkWaiters } from "./ok.ts";
import { RecentIds } from "./recent.ts";
import type { Timer, WebSocketConstructor } from "./types.ts";
import { redactRelayUrl } from "../nostr/relay_url.ts";

/** Settings and callbacks of a {@link RelayConnection}. */
export interface ConnectionOptions {
  /** Normalized relay URL. */
  url: string;
  /** Position among the connections to the same relay (0 also publishes). */
  index: number;
  /** Structured logger. */
  log: Log;
  /** WebSocket class (`ws`). */
  WebSocketImpl: WebSocketConstructor;
  /** Time allowed to open the socket, in ms. */
  connectTimeoutMs: number;
  /** Interval between pings, in ms; 0 disables them. */
  pingIntervalMs: number;
  /** Time a ping may go unanswered, in ms. */
  pongTimeoutMs: number;
  /** Largest message parsed, in bytes. */
  maxMessageBytes: number;
  /** Reconnect backoff. */
  backoff: Required<BackoffOptions>;
  /** Called each time the socket opens. */
  onOpen(conn: RelayConnection): void;
  /** Called with each well-formed relay message (a JSON array starting with a string). */
  onMessage(conn: RelayConnection, message: unknown[]): void;
  /** Called each time an open socket closes or a connect attempt fails. */
  onDown(conn: RelayConnection, reason: string): void;
}

type State = "idle" | "connecting" | "open" | "waiting" | "stopped";

/** Most characters kept of an error or relay-supplied reason. */
const MAX_REASON = 200;

/** Shortens a relay- or OS-supplied reason for logs and status. */
export function shortReason(text: string): string {
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text;
}

/** Failed connection attempts in a row after which they are logged at warn. */
const WARN_AFTER_FAILURES = 3;
/** Least time between two warnings about a relay that stays unreachable, in ms. */
const FAILURE_WARN_INTERVAL_MS = 5 * 60_000;

/** A self-reconnecting WebSocket to one relay. */
export class RelayConnection {
  /** Pending OK waits of EVENT and AUTH messages sent on this socket. */
  readonly okWaiters: OkWaiters = new OkWaiters();
  /** Event ids seen on the current socket (cheap duplicate drop). */
  readonly seenIds: RecentIds = new RecentIds(4_096);
  /** Reconnect attempts made. */
  reconnects = 0;
  #failedAttempts = 0;
  #lastFailureWarnAt = -Infinity;
  /** Last connection error (kept after a successful reconnect). */
  lastError?: string;
  readonly #opts: ConnectionOptions;
  readonly #logUrl: string;
  readonly #opened = new Notifier();
  #state: State = "idle";
  #ws?: WebSocket;
  #socketClosed: Promise<void> = Promise.resolve();
  #timer?: Timer;
  #keepalive?: Keepalive;
  #attempt = 0;
  #openedAt = 0;
  #session = 0;
  #socketError?: string;
  #malformed = 0;

  /** Does not connect until {@link start}. */
  constructor(opts: ConnectionOptions) {
    this.#opts = opts;
    this.#logUrl = redactRelayUrl(opts.url);
  }

  /** Position among the connections to the same relay. */
  get index(): number {
    return this.#opts.index;
  }

  /** True while the socket is open. */
  get isOpen(): boolean {
    return this.#state === "open";
  }

  /** True once {@link stop} was called. */
  get stopped(): boolean {
    return this.#state === "stopped";
  }

  /** Increments at each open; tells a caller whether the socket it used is still the same. */
  get session(): number {
    return this.#session;
  }

  /** Starts connecting (no-op unless idle). */
  start(): void {
    if (this.#state === "idle") this.#connect();
  }

  /** Sends a text frame; false when the socket is not open. */
  send(text: string): boolean {
    const ws = this.#ws;
    if (this.#state !== "open" || !ws) return false;
    ws.send(text, (err?: Error) => {
      if (err) this.lastError = shortReason(err.message);
    });
    return true;
  }

  /** Resolves true once open, false at `deadline` (ms since the epoch), on abort or on stop. */
  async waitOpen(deadline: number, signal?: AbortSignal): Promise<boolean> {
    for (let round = 0; round < 1_000; round++) {
      if (this.isOpen) return true;
      if (this.stopped || signal?.aborted || Date.now() >= deadline) return false;
      await this.#opened.wait(deadline, signal);
    }
    return this.isOpen;
  }

  /** Closes the socket for good and waits until it is released. */
  async stop(): Promise<void> {
    if (this.#state !== "stopped") {
      this.#state = "stopped";
      this.#clearTimers();
      this.#opened.notifyAll();
      const ws = this.#ws;
      if (ws) {
        if (ws.readyState === WebSocket.OPEN) ws.close(1000);
        else ws.terminate();
        const killer = setTimeout(() => ws.terminate(), Math.min(1_000, this.#opts.pongTimeoutMs));
        await this.#socketClosed;
        clearTimeout(killer);
      }
      this.okWaiters.failAll("closed: connection stopped");
    }
    await this.#socketClosed;
  }

  #connect(): void {
    this.#state = "connecting";
    this.#socketError = undefined;
    const { url, WebSocketImpl, connectTimeoutMs, maxMessageBytes } = this.#opts;
    let ws: WebSocket;
    try {
      ws = new WebSocketImpl(url, {
        perMessageDeflate: false,
        maxPayload: Math.max(1 << 20, maxMessageBytes),
        handshakeTimeout: connectTimeoutMs,
        followRedirects: false,
      });
    } catch (error: unknown) {
      this.#down(shortReason(error instanceof Error ? error.message : String(error)), false);
      return;
    }
    this.#ws = ws;
    this.#socketClosed = new Promise<void>((resolve) => {
      ws.once("close", (code: number, reason: Buffer) => {
        const wasOpen = this.#state === "open";
        this.#ws = undefined;
        resolve();
        const why = this.#socketError ??
          `socket closed (${code}${reason.length ? ` ${reason}` : ""})`;
        this.#down(shortReason(why), wasOpen);
      });
    });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#socketError = `connect timeout after ${connectTimeoutMs} ms`;
      ws.terminate();
    }, connectTimeoutMs);
    ws.on("open", () => this.#onOpen());
    ws.on("error", (err: Error) => {
      this.#socketError ??= shortReason(err.message);
    });
    ws.on("pong", () => this.#keepalive?.pong());
    ws.on("message", (data: WebSocket.RawData, isBinary: boolean) => this.#onData(data, isBinary));
  }

  #onOpen(): void {
    if (this.#state !== "connecting") return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#state = "open";
    this.#openedAt = Date.now();
    this.#failedAttempts = 0;
    this.#lastFailureWarnAt = -Infinity;
    this.#session++;
    this.#malformed = 0;
    this.seenIds.clear();
    const ws = this.#ws;
    if (ws) {
      const pingable = {
        ping: () => ws.readyState === WebSocket.OPEN && ws.ping(),
        terminate: () => ws.terminate(),
      };
      const { pingIntervalMs, pongTimeoutMs } = this.#opts;
      this.#keepalive = new Keepalive(pingable, pingIntervalMs, pongTimeoutMs, (reason) => {
        this.#socketError = reason;
      });
    }
    this.#opts.log({
      level: "info",
      ns: "relay.conn",
      msg: "Relay connected",
      url: this.#logUrl,
      connection: this.index,
    });
    this.#opts.onOpen(this);
    this.#opened.notifyAll();
  }

  #down(reason: string, wasOpen: boolean): void {
    this.lastError = reason;
    this.#clearTimers();
    this.okWaiters.failAll(`lost: ${reason}`);
    if (wasOpen && Date.now() - this.#openedAt >= this.#opts.backoff.resetAfterMs) {
      this.#attempt = 0;
    }
    if (this.#state === "stopped") return;
    this.#state = "waiting";
    const delayMs = backoffDelay(this.#attempt++, this.#opts.backoff);
    this.#failedAttempts = wasOpen ? 0 : this.#failedAttempts + 1;
    this.#opts.log({
      level: this.#downLevel(wasOpen),
      ns: "relay.conn",
      msg: wasOpen ? "Relay connection lost" : "Cannot connect to relay",
      url: this.#logUrl,
      connection: this.index,
      reason,
      failedAttempts: wasOpen ? undefined : this.#failedAttempts,
      retryInMs: delayMs,
    });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.reconnects++;
      this.#connect();
    }, delayMs);
    this.#opts.onDown(this, reason);
  }

  /**
   * A lost connection is a warning. Failing to connect is news at first (info), a warning from
   * the third failure in a row, and then repeated at warn once every 5 minutes, not at every
   * retry of a relay that stays down (debug in between).
   */
  #downLevel(wasOpen: boolean): LogLevel {
    if (wasOpen) return "warn";
    if (this.#failedAttempts < WARN_AFTER_FAILURES) return "info";
    const now = Date.now();
    if (now - this.#lastFailureWarnAt < FAILURE_WARN_INTERVAL_MS) return "debug";
    this.#lastFailureWarnAt = now;
    return "warn";
  }

  #clearTimers(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#keepalive?.stop();
    this.#keepalive = undefined;
  }

  #onData(data: WebSocket.RawData, isBinary: boolean): void {
    const decoded = decodeFrame(data, isBinary, this.#opts.maxMessageBytes);
    if (!decoded.ok) return this.#malformedMessage(decoded.reason, decoded.bytes);
    try {
      this.#opts.onMessage(this, decoded.message);
    } catch (error: unknown) {
      this.#opts.log({
        level: "error",
        ns: "relay.conn",
        msg: "Relay message handler failed",
        url: this.#logUrl,
        type: String(decoded.message[0]).slice(0, 16),
        error,
      });
    }
  }

  #malformedMessage(why: string, bytes: number): void {
    this.#malformed++;
    this.#opts.log({
      level: this.#malformed === 1 ? "warn" : "debug",
      ns: "relay.conn",
      msg: "Dropped malformed relay message",
      url: this.#logUrl,
      reason: why,
      bytes,
      count: this.#malformed,
    });
  }
}

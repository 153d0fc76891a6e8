/**
 * Starts the test relay (tests/relay/relay.ts) as a child process and drives its fault switches.
 *
 *   await using relay = await startTestRelay();
 *   // connect to relay.url …; await relay.drop(); await relay.restart();
 *
 * Usable from any test file: paths are resolved from this module, not the working directory.
 * It starts a process, so tests using it belong to `deno task test:e2e`; a unit test that only
 * needs scripted relay answers uses the in-process `FakeRelay` of `src/relay/testing.ts`.
 */
import type { RelayStats } from "../relay/options.ts";
import { RelayProcess } from "../relay/process.ts";

export type { RelayStats } from "../relay/options.ts";

/** How to start a test relay. */
export interface TestRelayOptions {
  /** Require NIP-42 AUTH from the start. Default false. */
  authRequired?: boolean;
  /** Port to bind; 0 picks a free one. Default 0. */
  port?: number;
  /** Most open subscriptions per connection. Default 50 (the relay's default). */
  maxSubscriptions?: number;
  /** Most filters per REQ. Default 50 (the relay's default). */
  maxFilters?: number;
  /** Largest accepted client message, in bytes. Default 262_144 (the relay's default). */
  maxMessageBytes?: number;
  /** Skip signature checks (ids are still checked); for benchmarks only. Default false. */
  skipVerify?: boolean;
  /** How long to wait for the relay to report its port, in ms. Default 15_000. */
  startTimeoutMs?: number;
}

/** Starts a relay process; resolves once it listens. */
export async function startTestRelay(options: TestRelayOptions = {}): Promise<TestRelay> {
  const process = await RelayProcess.spawn(relayArgs(options), options.startTimeoutMs);
  return new TestRelay(process, options);
}

/** A running relay process. Dispose it (or call {@link stop}) to kill it and release its pipes. */
export class TestRelay implements AsyncDisposable {
  /** The bound port; kept across {@link restart}. */
  readonly port: number;
  /** WebSocket URL of the relay, `ws://127.0.0.1:PORT`. */
  readonly url: string;
  readonly #options: TestRelayOptions;
  #process: RelayProcess | undefined;

  /** Use {@link startTestRelay}. */
  constructor(process: RelayProcess, options: TestRelayOptions) {
    this.#process = process;
    this.#options = options;
    this.port = process.port;
    this.url = `ws://127.0.0.1:${process.port}`;
  }

  /** Closes every client socket abruptly (clients see code 1006). Resolves to how many were open. */
  async drop(): Promise<number> {
    const body = await this.#control("POST", "/control/drop") as { dropped: number };
    return body.dropped;
  }

  /** Refuses new connections (HTTP 503) for `ms` milliseconds; 0 ends a refusal. */
  async refuse(ms: number): Promise<void> {
    await this.#control("POST", `/control/refuse?ms=${ms}`);
  }

  /** Delays every message the relay sends by `ms` milliseconds; 0 turns the delay off. */
  async delay(ms: number): Promise<void> {
    await this.#control("POST", `/control/delay?ms=${ms}`);
  }

  /** Turns the NIP-42 AUTH requirement on or off (on challenges open sockets at once). */
  async setAuthRequired(required: boolean): Promise<void> {
    await this.#control("POST", `/control/auth?required=${required ? 1 : 0}`);
  }

  /** The relay's counters. */
  async stats(): Promise<RelayStats> {
    return await this.#control("GET", "/control/stats") as RelayStats;
  }

  /** Kills the relay with SIGTERM and waits for it to exit. Idempotent. */
  async stop(): Promise<void> {
    const process = this.#process;
    this.#process = undefined;
    await process?.stop();
  }

  /**
   * Stops the relay if it runs and starts a fresh one (empty store, start options) on the same
   * port, so clients can reconnect to the same {@link url}.
   */
  async restart(): Promise<void> {
    await this.stop();
    const args = relayArgs({ ...this.#options, port: this.port });
    this.#process = await RelayProcess.spawn(args, this.#options.startTimeoutMs);
  }

  /** Same as {@link stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #control(method: string, path: string, timeoutMs = 5_000): Promise<unknown> {
    if (!this.#process) throw new Error(`Cannot send "${method} ${path}": the relay is stopped`);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const url = `http://127.0.0.1:${this.port}${path}`;
      const response = await fetch(url, { method, signal: abort.signal });
      const body = await response.json();
      if (!response.ok) throw new Error(`Relay control "${method} ${path}" failed: ${body.error}`);
      return body;
    } finally {
      clearTimeout(timer);
    }
  }
}

function relayArgs(options: TestRelayOptions): string[] {
  const args = ["--port", String(options.port ?? 0)];
  if (options.authRequired) args.push("--auth-required");
  if (options.skipVerify) args.push("--skip-verify");
  if (options.maxSubscriptions !== undefined) {
    args.push("--max-subscriptions", String(options.maxSubscriptions));
  }
  if (options.maxFilters !== undefined) args.push("--max-filters", String(options.maxFilters));
  if (options.maxMessageBytes !== undefined) {
    args.push("--max-message-bytes", String(options.maxMessageBytes));
  }
  return args;
}

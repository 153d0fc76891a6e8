/**
 * The load benchmark's NIP-46 clients: nostr-tools `BunkerSigner`s, each with its own client key
 * and its own relay connection (a `SimplePool` over `npm:ws`, like keycast's relay sockets, so
 * Deno's Nagle-enabled WebSocket client adds no ~40 ms stalls to the client side), driven either
 * closed-loop (each client sends its next request when the previous one is answered) or paced
 * (open loop at a fixed total rate).
 */
// @ts-types="@types/ws"
import WebSocket from "ws";
import { BunkerSigner, parseBunkerInput } from "nostr-tools/nip46";
import { AbstractSimplePool } from "nostr-tools/abstract-pool";
import { generateSecretKey, verifyEvent } from "nostr-tools/pure";
import { deadline, delay } from "../../src/util/async.ts";
import { benchTemplate } from "./single_thread.ts";

/** Longest one NIP-46 call may take before it counts as an error, in ms. */
export const CALL_TIMEOUT_MS = 10_000;

/** What one phase measured. */
export interface PhaseResult {
  /** Requests answered successfully. */
  ok: number;
  /** Requests that failed or timed out. */
  errors: number;
  /** Latency of each successful request, in ms. */
  latenciesMs: number[];
  /** Wall time of the phase, in ms. */
  wallMs: number;
  /** Up to five distinct error messages. */
  errorSamples: string[];
}

/** N connected `BunkerSigner`s; dispose closes them and their sockets. */
export class BenchClients implements AsyncDisposable {
  readonly #signers: BunkerSigner[];
  readonly #pools: AbstractSimplePool[];

  private constructor(signers: BunkerSigner[], pools: AbstractSimplePool[]) {
    this.#signers = signers;
    this.#pools = pools;
  }

  /** Number of clients. */
  get size(): number {
    return this.#signers.length;
  }

  /**
   * A client relay pool whose socket to `relayUrl` is already open, so that a later
   * {@link connect} with it measures keycast rather than the client's socket setup.
   */
  static async openPool(relayUrl: string, timeoutMs: number): Promise<AbstractSimplePool> {
    const pool = newPool();
    try {
      await deadline(pool.ensureRelay(relayUrl), timeoutMs);
    } catch (error) {
      pool.destroy();
      throw error;
    }
    return pool;
  }

  /**
   * Creates `count` clients for `bunkerUrl` and runs `connect` on each, one after the other or
   * all at once (`concurrent`), bounded by `timeoutMs` in total. Clients use the given `pools`
   * (taken over: closed on dispose) and new ones beyond them.
   */
  static async connect(
    bunkerUrl: string,
    count: number,
    timeoutMs: number,
    opts: { concurrent?: boolean; pools?: AbstractSimplePool[] } = {},
  ): Promise<BenchClients> {
    const pools: AbstractSimplePool[] = [...(opts.pools ?? [])];
    const signers: BunkerSigner[] = [];
    const clients = new BenchClients(signers, pools);
    const concurrent = opts.concurrent === true;
    try {
      const pointer = await parseBunkerInput(bunkerUrl);
      if (!pointer) throw new Error("Cannot parse the bunker URL returned by the API");
      for (let i = 0; i < count; i++) {
        const pool = pools[i] ?? newPool();
        if (i >= pools.length) pools.push(pool);
        signers.push(
          BunkerSigner.fromBunker(
            generateSecretKey(),
            { ...pointer, relays: [...pointer.relays] },
            {
              pool,
            },
          ),
        );
      }
      if (concurrent) {
        await deadline(Promise.all(signers.map((signer) => signer.connect())), timeoutMs);
      } else {
        const started = performance.now();
        for (const signer of signers) {
          const left = timeoutMs - (performance.now() - started);
          await deadline(signer.connect(), Math.max(1, left));
        }
      }
    } catch (error) {
      await clients[Symbol.asyncDispose]();
      throw error;
    }
    return clients;
  }

  /**
   * Closed loop: every client sends `perClient` sequential `sign_event` requests. Stops sending
   * once `maxMs` has passed or `signal` aborts (requests in flight still finish or time out).
   */
  async closedLoop(perClient: number, maxMs: number, signal?: AbortSignal): Promise<PhaseResult> {
    const result = emptyResult();
    const started = performance.now();
    await Promise.all(this.#signers.map(async (signer) => {
      for (
        let k = 0;
        k < perClient && performance.now() - started < maxMs && !signal?.aborted;
        k++
      ) {
        await signOnce(signer, performance.now(), result);
      }
    }));
    result.wallMs = performance.now() - started;
    return result;
  }

  /**
   * Open loop at `ratePerSecond` requests per second in total, spread evenly over the clients,
   * for `perClient` requests each or `maxMs`. Latency is measured from each request's scheduled
   * send time, so a client that falls behind reports the queueing too.
   */
  async paced(ratePerSecond: number, perClient: number, maxMs: number): Promise<PhaseResult> {
    const result = emptyResult();
    const intervalMs = (1000 * this.#signers.length) / ratePerSecond;
    const started = performance.now();
    await Promise.all(this.#signers.map(async (signer, index) => {
      const offsetMs = (intervalMs * index) / this.#signers.length;
      for (let k = 0; k < perClient; k++) {
        const scheduled = started + offsetMs + k * intervalMs;
        if (scheduled - started > maxMs) break;
        const wait = scheduled - performance.now();
        if (wait > 0) await delay(wait);
        await signOnce(signer, scheduled, result);
      }
    }));
    result.wallMs = performance.now() - started;
    return result;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const signer of this.#signers) await signer.close();
    for (const pool of this.#pools) pool.destroy();
  }
}

function newPool(): AbstractSimplePool {
  return new AbstractSimplePool({
    verifyEvent,
    websocketImplementation: WebSocket as unknown as typeof globalThis.WebSocket,
    maxWaitForConnection: 5_000,
  });
}

async function signOnce(signer: BunkerSigner, from: number, result: PhaseResult): Promise<void> {
  try {
    await deadline(signer.signEvent(benchTemplate(Math.floor(Date.now() / 1000))), CALL_TIMEOUT_MS);
    result.latenciesMs.push(performance.now() - from);
    result.ok++;
  } catch (error) {
    result.errors++;
    const message = error instanceof Error ? error.message : String(error);
    if (result.errorSamples.length < 5 && !result.errorSamples.includes(message)) {
      result.errorSamples.push(message.slice(0, 200));
    }
  }
}

function emptyResult(): PhaseResult {
  return { ok: 0, errors: 0, latenciesMs: [], wallMs: 0, errorSamples: [] };
}

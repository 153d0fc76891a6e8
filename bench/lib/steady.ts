/**
 * Steady NIP-46 traffic for the cluster benchmark: one nostr-tools `BunkerSigner` per bunker,
 * each sending a fresh `sign_event` every `intervalMs` whether or not the previous one was
 * answered (a request lost in a hand-over must not hold the next one back), each bounded by
 * `timeoutMs`. Every request's send and answer times are kept, so what happened around a moment
 * (an instance killed or stopped) can be read afterwards with {@link aroundSignal}.
 */
import { BunkerSigner, parseBunkerInput } from "nostr-tools/nip46";
import type { AbstractSimplePool } from "nostr-tools/abstract-pool";
import { generateSecretKey } from "nostr-tools/pure";
import { deadline, delay } from "../../src/util/async.ts";
import { BenchClients } from "./clients.ts";
import { benchTemplate } from "./single_thread.ts";

/** One request: when it was sent and, if it was, answered (`performance.now()` times). */
export interface RequestRecord {
  sentAt: number;
  answeredAt?: number;
}

/** What the requests to one bunker saw after a signal. */
export interface SignalOutcome {
  /** From the signal to the first answer to a request sent after it, in ms (undefined: none). */
  firstAnswerMs: number | undefined;
  /** Longest time between two answers (counting from the signal), in ms. */
  longestGapMs: number;
  /** Requests sent after the signal. */
  sent: number;
  /** Of those, not answered within the timeout. */
  lost: number;
}

/** Connected clients of some bunkers, sending steady requests once {@link start}ed. */
export class SteadyRequests implements AsyncDisposable {
  /** The requests so far, by bunker URL index. */
  readonly records: RequestRecord[][] = [];
  readonly #signers: BunkerSigner[] = [];
  readonly #pools: AbstractSimplePool[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #loops: Promise<void>[] = [];
  #stopping = false;

  private constructor() {}

  /** One client per bunker URL, each with its own key and relay socket, connected (bounded). */
  static async connect(
    relayUrl: string,
    bunkerUrls: readonly string[],
    timeoutMs: number,
  ): Promise<SteadyRequests> {
    const steady = new SteadyRequests();
    try {
      for (const url of bunkerUrls) {
        const pointer = await parseBunkerInput(url);
        if (!pointer) throw new Error("Cannot parse a bunker URL returned by the API");
        const pool = await BenchClients.openPool(relayUrl, timeoutMs);
        steady.#pools.push(pool);
        const signer = BunkerSigner.fromBunker(generateSecretKey(), pointer, { pool });
        steady.#signers.push(signer);
        steady.records.push([]);
        await deadline(signer.connect(), timeoutMs);
      }
    } catch (error) {
      await steady[Symbol.asyncDispose]();
      throw error;
    }
    return steady;
  }

  /** Starts sending: every client a request each `intervalMs`, each bounded by `timeoutMs`. */
  start(intervalMs: number, timeoutMs: number): void {
    this.#loops = this.#signers.map(async (signer, index) => {
      const records = this.records[index]!;
      // Staggered, so the clients' requests do not all leave at once.
      await delay((intervalMs * index) / this.#signers.length);
      let next = performance.now();
      while (!this.#stopping) {
        const record: RequestRecord = { sentAt: performance.now() };
        records.push(record);
        const request = deadline(
          signer.signEvent(benchTemplate(Math.floor(Date.now() / 1000))),
          timeoutMs,
        ).then(
          () => void (record.answeredAt = performance.now()),
          () => {}, // lost: no answerAt
        );
        this.#inFlight.add(request);
        void request.finally(() => this.#inFlight.delete(request));
        next += intervalMs;
        await delay(Math.max(0, next - performance.now()));
      }
    });
  }

  /** Resolves once every client has an answer to a request sent after `from`, or `timeoutMs`. */
  async answeredSince(from: number, timeoutMs: number): Promise<boolean> {
    const started = performance.now();
    while (performance.now() - started < timeoutMs) {
      const all = this.records.every((records) =>
        records.some((r) => r.sentAt >= from && r.answeredAt !== undefined)
      );
      if (all) return true;
      await delay(10);
    }
    return false;
  }

  /** Stops sending and waits for the requests in flight to be answered or to time out. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#loops);
    await Promise.all(this.#inFlight);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    for (const signer of this.#signers) await signer.close();
    for (const pool of this.#pools) pool.destroy();
  }
}

/** What the requests of one bunker saw after a signal at `signalAt` (see {@link SignalOutcome}). */
export function aroundSignal(records: readonly RequestRecord[], signalAt: number): SignalOutcome {
  const after = records.filter((r) => r.sentAt >= signalAt);
  const firstAnswer = Math.min(...after.map((r) => r.answeredAt ?? Infinity));
  const answers = records.map((r) => r.answeredAt).filter((at): at is number =>
    at !== undefined && at >= signalAt
  ).sort((a, b) => a - b);
  let longestGapMs = 0;
  let previous = signalAt;
  for (const at of answers) {
    longestGapMs = Math.max(longestGapMs, at - previous);
    previous = at;
  }
  const lastSent = after.at(-1)?.sentAt;
  // Nothing answered after the signal: the whole window went without.
  if (answers.length === 0 && lastSent !== undefined) longestGapMs = lastSent - signalAt;
  return {
    firstAnswerMs: Number.isFinite(firstAnswer) ? firstAnswer - signalAt : undefined,
    longestGapMs,
    sent: after.length,
    lost: after.filter((r) => r.answeredAt === undefined).length,
  };
}

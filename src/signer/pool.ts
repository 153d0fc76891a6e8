/**
 * {@link SignerPool}: the main-thread side of the signing workers. All CPU-bound crypto — request
 * signature checks, NIP-44/NIP-04 decryption, `sign_event`, encrypt/decrypt for clients, reply
 * encryption and reply signing — runs in `signer.worker.ts`, so the event loop that serves relays
 * and HTTP never stalls on a curve multiplication.
 *
 * - Secrets stay sealed on this side: jobs carry {@link KeyRef}s. Each worker gets the master key
 *   once, at start, opens keys with its own vault and keeps them in an LRU (see `core.ts`).
 * - Routing: a job for (key, peer) always goes to worker `hash(key, peer) mod N`, so that
 *   worker's ECDH/conversation-key cache hits for every later message of that pair. Routing is
 *   deterministic; there is no least-busy fallback (it would spread each pair over every worker
 *   and multiply the ECDH work, which costs more than a signature).
 * - Admission: a semaphore with one permit per worker bounds in-flight jobs; up to `maxQueue` jobs
 *   wait behind it; one more is refused at once with {@link OverloadedError} and counted.
 * - Reserved lane: answering a refused request still needs its id, which is encrypted, so
 *   {@link SignerPool.rejectRequest} (verify, decrypt, answer with an error, one round trip) has
 *   its own small semaphore and queue (`reservedQueue`). The client hears `overloaded: retry later`
 *   unless this lane is full as well.
 * - Deadlines: a job fails with {@link SignerTimeoutError} `jobTimeoutMs` after submission, wherever
 *   it is. A worker that has been running one job for `jobTimeoutMs` is considered hung and
 *   replaced like a crashed one.
 * - Crashes: on a worker `error` event the worker is terminated and replaced, and every job it held
 *   fails with {@link WorkerCrashedError}. More than 5 restarts of one slot within a minute delays
 *   the next restart by 5 s (jobs routed there fail fast meanwhile) instead of spinning.
 */
import { type Log, silentLog } from "../log.ts";
import type { NostrEvent } from "../nostr/event.ts";
import { deadline, QueueFullError, type Release, Semaphore } from "../util/async.ts";
import { MASTER_KEY_BYTES } from "../vault/vault.ts";
import {
  InvalidJobError,
  OverloadedError,
  SignerClosedError,
  SignerTimeoutError,
} from "./errors.ts";
import type {
  DebugJob,
  Job,
  KeyRef,
  ReplyAction,
  RespondResult,
  Scheme,
  UnwrapResult,
} from "./protocol.ts";
import { type WorkerInit, WorkerSlot } from "./slot.ts";

export type { KeyRef, ReplyAction, RespondResult, Scheme, UnwrapResult } from "./protocol.ts";

/** Options of {@link SignerPool}. */
export interface SignerPoolOptions {
  /** The 32-byte vault master key; each worker receives a copy once, at start. */
  masterKey: Uint8Array;
  /** Id of the master key in sealed values (see `Vault`). Default 1. */
  masterKeyId?: number;
  /** Number of workers and of semaphore permits (`RPC_WORKER_COUNT`). Default `navigator.hardwareConcurrency`. */
  workers?: number;
  /** Jobs that may wait for a permit; one more is refused with {@link OverloadedError}. Default 1024. */
  maxQueue?: number;
  /** Jobs that may wait in the reserved lane ({@link SignerPool.rejectRequest}). Default 64. */
  reservedQueue?: number;
  /** Deadline of one job from submission, in ms. Default 5000. */
  jobTimeoutMs?: number;
  /** Structured logger. Default: silent. */
  log?: Log;
  /** Clock in ms, used for the default `created_at` of replies. Default `Date.now`. */
  now?: () => number;
  /**
   * Worker module URL, for builds where the worker was bundled separately (e.g. `deno bundle`
   * writing `signer.worker.js`). Default: `./signer.worker.ts` beside this module.
   */
  workerUrl?: URL;
  /** Enables the test-only debug ops ({@link SignerPool.debugOp}). Default false. */
  debugOps?: boolean;
}

/** Counters and gauges of a {@link SignerPool}. */
export interface SignerPoolStats {
  /** Workers currently running. */
  workers: number;
  /** Jobs holding a permit (sent to a worker, not yet answered). */
  busy: number;
  /** Jobs waiting for a permit. */
  queueDepth: number;
  /** Jobs refused because the wait queue was full. */
  dropped: number;
  /** Reserved-lane jobs running or waiting. */
  reserved: number;
  /** Reserved-lane jobs refused because that lane was full too. */
  reservedDropped: number;
  /** Workers replaced after a crash or a hang. */
  crashes: number;
  /** Jobs a worker answered (successfully or with an error). */
  completed: number;
  /** Jobs that missed their deadline. */
  timeouts: number;
}

/** Index of the worker that handles jobs for the pair (`keyPubkey`, `peerPubkey`): FNV-1a mod `workers`. */
export function workerIndexFor(keyPubkey: string, peerPubkey: string, workers: number): number {
  let hash = 0x811c9dc5;
  const text = `${keyPubkey}:${peerPubkey}`;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  }
  return (hash >>> 0) % workers;
}

/** A fixed set of signing workers behind a semaphore and a bounded wait queue. */
export class SignerPool implements AsyncDisposable {
  readonly #slots: WorkerSlot[];
  readonly #semaphore: Semaphore;
  readonly #reserved: Semaphore;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #debugOps: boolean;
  readonly #waiting = new Set<AbortController>();
  readonly #init: WorkerInit;
  #closed = false;
  #dropped = 0;
  #reservedDropped = 0;
  #timeouts = 0;

  /** Starts the workers at once; throws when an option is invalid or workers cannot be created. */
  constructor(options: SignerPoolOptions) {
    const workers = options.workers ?? navigator.hardwareConcurrency;
    const maxQueue = options.maxQueue ?? 1024;
    const reservedQueue = options.reservedQueue ?? 64;
    this.#timeoutMs = options.jobTimeoutMs ?? 5_000;
    if (options.masterKey.length !== MASTER_KEY_BYTES) {
      throw new RangeError(
        `Cannot start signer pool: the master key must be ${MASTER_KEY_BYTES} bytes`,
      );
    }
    if (!Number.isSafeInteger(workers) || workers < 1 || workers > 256) {
      throw new RangeError(
        `Cannot start signer pool with "${workers}" workers: need an integer 1..256`,
      );
    }
    if (!Number.isSafeInteger(maxQueue) || maxQueue < 0) {
      throw new RangeError(
        `Cannot start signer pool with maxQueue "${maxQueue}": need an integer ≥ 0`,
      );
    }
    if (
      !Number.isSafeInteger(this.#timeoutMs) || this.#timeoutMs < 1 || this.#timeoutMs > 2 ** 31 - 1
    ) {
      throw new RangeError(
        `Cannot start signer pool with jobTimeoutMs "${this.#timeoutMs}": need a positive integer`,
      );
    }
    this.#semaphore = new Semaphore(workers, { maxWaiting: maxQueue });
    this.#reserved = new Semaphore(workers, { maxWaiting: reservedQueue });
    this.#now = options.now ?? Date.now;
    this.#debugOps = options.debugOps === true;
    const init = this.#init = {
      masterKey: options.masterKey.slice(),
      masterKeyId: options.masterKeyId ?? 1,
      debugOps: this.#debugOps,
    };
    const log = options.log ?? silentLog;
    this.#slots = [];
    try {
      for (let index = 0; index < workers; index++) {
        this.#slots.push(
          new WorkerSlot(index, init, {
            timeoutMs: this.#timeoutMs,
            log,
            workerUrl: options.workerUrl,
          }),
        );
      }
    } catch (error) {
      for (const slot of this.#slots) {
        slot.close(new SignerClosedError("Signer pool failed to start"));
      }
      init.masterKey.fill(0);
      // Typically: Deno runs without --unstable-worker-options, needed for worker permissions.
      throw new Error(`Cannot start signer workers: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Validates, verifies and decrypts a kind 24133 request addressed to `bunker`. */
  unwrapRequest(input: { bunker: KeyRef; event: unknown }): Promise<UnwrapResult> {
    const author = (input.event as { pubkey?: unknown } | null)?.pubkey;
    return this.#submit(
      { op: "unwrap", bunker: input.bunker, event: input.event },
      input.bunker?.pubkey,
      author,
    );
  }

  /**
   * Runs `action` and returns the reply encrypted with `scheme` to `clientPubkey` and signed by
   * `bunker`, in one worker round trip. `createdAt` (Unix seconds) defaults to now.
   */
  respond(input: {
    bunker: KeyRef;
    clientPubkey: string;
    scheme: Scheme;
    requestId: string;
    action: ReplyAction;
    createdAt?: number;
  }): Promise<RespondResult> {
    const createdAt = input.createdAt ?? Math.floor(this.#now() / 1000);
    const job: Job = { op: "respond", ...input, createdAt };
    return this.#submit(job, input.bunker?.pubkey, input.clientPubkey);
  }

  /**
   * Reserved lane: verifies and decrypts a request that could not be admitted and answers it with
   * `error` (e.g. `overloaded: retry later`). `undefined` when the request carries no id. Rejects
   * with {@link OverloadedError} when the reserved lane is full too.
   */
  rejectRequest(input: {
    bunker: KeyRef;
    event: unknown;
    error: string;
    createdAt?: number;
  }): Promise<RespondResult | undefined> {
    const createdAt = input.createdAt ?? Math.floor(this.#now() / 1000);
    const author = (input.event as { pubkey?: unknown } | null)?.pubkey;
    const job: Job = { op: "reject", ...input, createdAt };
    return this.#submit(job, input.bunker?.pubkey, author, this.#reserved);
  }

  /** Signs `template` with `key` (NIP-42 AUTH, nostrconnect pairing); `pubkey`/`id`/`sig` are computed. */
  signWithKey(input: { key: KeyRef; template: unknown }): Promise<NostrEvent> {
    return this.#submit(
      { op: "sign", key: input.key, template: input.template },
      input.key?.pubkey,
      "",
    );
  }

  /** Test hook: runs a debug op (`crash`, `stall`, `permissions`) on worker `workerIndex`; refused unless `debugOps`. */
  debugOp(job: DebugJob, workerIndex: number): Promise<unknown> {
    if (!this.#debugOps) {
      return Promise.reject(new InvalidJobError("Cannot run debug op: debugOps is off"));
    }
    return this.#submit(job, undefined, undefined, this.#semaphore, workerIndex);
  }

  /**
   * Resolves once every worker has started and built its vault (startup takes ~0.1–1 s; jobs
   * sent earlier simply wait in the worker). Rejects with `TimeoutError` after `timeoutMs`.
   */
  ready(timeoutMs = 30_000): Promise<void> {
    return deadline(
      Promise.all(this.#slots.map((slot) => slot.whenReady())).then(() => undefined),
      timeoutMs,
    );
  }

  /** Current counters. */
  stats(): SignerPoolStats {
    let workers = 0, crashes = 0, completed = 0;
    for (const slot of this.#slots) {
      if (slot.running) workers++;
      crashes += slot.crashes;
      completed += slot.completed;
    }
    return {
      workers,
      busy: this.#semaphore.permits - this.#semaphore.available,
      queueDepth: this.#semaphore.waiting,
      dropped: this.#dropped,
      reserved: this.#reserved.permits - this.#reserved.available + this.#reserved.waiting,
      reservedDropped: this.#reservedDropped,
      crashes,
      completed,
      timeouts: this.#timeouts + this.#slots.reduce((sum, slot) => sum + slot.timeouts, 0),
    };
  }

  /** Terminates every worker and rejects every pending job with {@link SignerClosedError}. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const error = new SignerClosedError("Cannot finish signer job: the pool was closed");
    for (const controller of this.#waiting) controller.abort(error);
    for (const slot of this.#slots) slot.close(error);
    this.#init.masterKey.fill(0);
    return Promise.resolve();
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #submit<T>(
    job: Job,
    keyPubkey: unknown,
    peerPubkey: unknown,
    lane: Semaphore = this.#semaphore,
    index?: number,
  ): Promise<T> {
    if (this.#closed) throw new SignerClosedError("Cannot run signer job: the pool is closed");
    const submittedAt = performance.now();
    const slot = this
      .#slots[index ?? workerIndexFor(String(keyPubkey), String(peerPubkey), this.#slots.length)];
    if (!slot) {
      throw new InvalidJobError(`Cannot run signer job on worker "${index}": no such worker`);
    }
    const release = lane.tryAcquire() ?? await this.#waitForPermit(lane);
    if (this.#closed) {
      release();
      throw new SignerClosedError("Cannot run signer job: the pool is closed");
    }
    const remainingMs = Math.max(0, this.#timeoutMs - (performance.now() - submittedAt));
    return await slot.run<T>(job, release, remainingMs);
  }

  async #waitForPermit(lane: Semaphore): Promise<Release> {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort(
        new SignerTimeoutError(`Signer job timed out after ${this.#timeoutMs} ms in the queue`),
      );
    }, this.#timeoutMs);
    this.#waiting.add(controller);
    try {
      return await lane.acquire({ signal: controller.signal });
    } catch (error) {
      if (error instanceof QueueFullError) {
        if (lane === this.#semaphore) this.#dropped++;
        else this.#reservedDropped++;
        throw new OverloadedError("Cannot queue signer job: the wait queue is full");
      }
      if (error instanceof SignerTimeoutError) this.#timeouts++;
      throw error;
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(controller);
    }
  }
}

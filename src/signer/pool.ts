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
 *   wait behind it; one more is refused at once with {@link OverloadedError} and counted. The time
 *   each admitted job waited for its permit (with the injected clock) feeds a histogram.
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
import { silentLog } from "../log.ts";
import { Histogram, QUEUE_WAIT_BUCKETS } from "../metrics/histogram.ts";
import type { NostrEvent } from "../nostr/event.ts";
import { deadline } from "../util/async.ts";
import { InvalidJobError, SignerClosedError } from "./errors.ts";
import { Lane } from "./lane.ts";
import { resolveOptions, type SignerPoolOptions, type SignerPoolStats } from "./options.ts";
import type { ListenerSigner } from "../nip46/listener_types.ts";
import type { ActionReply } from "./actions.ts";
import type {
  DebugJob,
  Job,
  KeyAction,
  KeyRef,
  RejectJob,
  RejectResult,
  RespondInput,
  RespondJob,
  RespondResult,
  ResultOf,
  UnwrapResult,
} from "./protocol.ts";
import { type WorkerInit, WorkerSlot } from "./slot.ts";

export type { SignerPoolOptions, SignerPoolStats } from "./options.ts";
export type {
  KeyAction,
  KeyRef,
  RejectResult,
  ReplyAction,
  RespondResult,
  Scheme,
  UnwrapResult,
} from "./protocol.ts";
export type { ActionReply } from "./actions.ts";

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
export class SignerPool implements ListenerSigner, AsyncDisposable {
  readonly #slots: WorkerSlot[] = [];
  readonly #lane: Lane;
  readonly #queueCapacity: number;
  readonly #queueWait = new Histogram(QUEUE_WAIT_BUCKETS);
  readonly #reservedLane: Lane;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #debugOps: boolean;
  readonly #init: WorkerInit;
  #closed = false;

  /** Starts the workers at once; throws when an option is invalid or workers cannot be created. */
  constructor(options: SignerPoolOptions) {
    const resolved = resolveOptions(options);
    this.#lane = new Lane(resolved.workers, resolved.maxQueue);
    this.#queueCapacity = resolved.maxQueue;
    this.#reservedLane = new Lane(resolved.workers, resolved.reservedQueue);
    this.#timeoutMs = resolved.jobTimeoutMs;
    this.#now = resolved.now;
    this.#debugOps = resolved.debugOps;
    this.#init = {
      masterKey: resolved.masterKey.slice(),
      masterKeyId: resolved.masterKeyId,
      debugOps: resolved.debugOps,
    };
    const slotOptions = {
      timeoutMs: this.#timeoutMs,
      log: resolved.log ?? silentLog,
      workerUrl: resolved.workerUrl,
    };
    try {
      for (let index = 0; index < resolved.workers; index++) {
        this.#slots.push(new WorkerSlot(index, this.#init, slotOptions));
      }
    } catch (error) {
      this.#shutDown(new SignerClosedError("Signer pool failed to start"));
      // Typically: Deno runs without --unstable-worker-options, needed for worker permissions.
      throw new Error(`Cannot start signer workers: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Validates, verifies and decrypts a NIP-46 request addressed to `bunker`. */
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
  respond(input: RespondInput): Promise<RespondResult> {
    const createdAt = input.createdAt ?? Math.floor(this.#now() / 1000);
    const job: RespondJob = { op: "respond", ...input, createdAt };
    return this.#submit(job, input.bunker?.pubkey, input.clientPubkey);
  }

  /**
   * Reserved lane: verifies and decrypts a request that could not be admitted and answers it with
   * `error` (e.g. `overloaded: retry later`), naming the request id it echoes. `undefined` when
   * the request carries no id. Rejects with {@link OverloadedError} when the reserved lane is full
   * too.
   */
  rejectRequest(input: {
    bunker: KeyRef;
    event: unknown;
    error: string;
    createdAt?: number;
  }): Promise<RejectResult | undefined> {
    const createdAt = input.createdAt ?? Math.floor(this.#now() / 1000);
    const author = (input.event as { pubkey?: unknown } | null)?.pubkey;
    const job: RejectJob = { op: "reject", ...input, createdAt };
    return this.#submit(job, input.bunker?.pubkey, author, this.#reservedLane);
  }

  /**
   * Runs a key action with the user's key and returns its outcome bare, with no NIP-46 reply
   * around it (HTTP signing). Same lane, semaphore and queue as every request job; routed by
   * (user, peer) so encrypting to one peer hits one worker's pair cache.
   */
  perform(action: KeyAction): Promise<ActionReply> {
    const peer = action.type === "sign_event" ? "" : action.peer;
    return this.#submit({ op: "perform", action }, action.user?.pubkey, peer);
  }

  /** Signs `template` with `key` (NIP-42 AUTH, nostrconnect pairing); `pubkey`/`id`/`sig` are computed. */
  signWithKey(input: { key: KeyRef; template: unknown }): Promise<NostrEvent> {
    return this.#submit(
      { op: "sign", key: input.key, template: input.template },
      input.key?.pubkey,
      "",
    );
  }

  /** Generates a key in a worker: its pubkey and vault-sealed secret (the secret never comes here). */
  generateKey(): Promise<{ pubkey: string; sealed: string }> {
    return this.#submit({ op: "generate" }, crypto.randomUUID(), "");
  }

  /** The key `key` as NIP-49 `ncryptsec` under `password`, scrypt cost 2^`logN` (16–18). */
  exportKey(input: { key: KeyRef; password: string; logN: number }): Promise<string> {
    return this.#submit({ op: "export", ...input }, input.key?.pubkey, "");
  }

  /** Test hook: runs a debug op (`crash`, `stall`, `permissions`, `garbage`) on worker `workerIndex`; refused unless `debugOps`. */
  debugOp<J extends DebugJob>(job: J, workerIndex: number): Promise<ResultOf<J>> {
    if (!this.#debugOps) {
      return Promise.reject(new InvalidJobError("Cannot run debug op: debugOps is off"));
    }
    return this.#submit(job, undefined, undefined, this.#lane, workerIndex);
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
    const sum = (count: (slot: WorkerSlot) => number) =>
      this.#slots.reduce((total, slot) => total + count(slot), 0);
    return {
      workers: sum((slot) => slot.running ? 1 : 0),
      busy: this.#lane.busy,
      queueDepth: this.#lane.waiting,
      queueCapacity: this.#queueCapacity,
      queueWait: this.#queueWait.snapshot(),
      dropped: this.#lane.dropped,
      reserved: this.#reservedLane.busy + this.#reservedLane.waiting,
      reservedDropped: this.#reservedLane.dropped,
      crashes: sum((slot) => slot.crashes),
      completed: sum((slot) => slot.completed),
      timeouts: this.#lane.timeouts + this.#reservedLane.timeouts + sum((slot) => slot.timeouts),
    };
  }

  /** Terminates every worker and rejects every pending job with {@link SignerClosedError}. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#shutDown(new SignerClosedError("Cannot finish signer job: the pool was closed"));
    }
    return Promise.resolve();
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #shutDown(error: Error): void {
    this.#closed = true;
    this.#lane.abortAll(error);
    this.#reservedLane.abortAll(error);
    for (const slot of this.#slots) slot.close(error);
    this.#init.masterKey.fill(0);
  }

  async #submit<J extends Job>(
    job: J,
    keyPubkey: unknown,
    peerPubkey: unknown,
    lane: Lane = this.#lane,
    index?: number,
  ): Promise<ResultOf<J>> {
    if (this.#closed) throw new SignerClosedError("Cannot run signer job: the pool is closed");
    const submittedAt = performance.now();
    const slot = this.#slots[
      index ?? workerIndexFor(String(keyPubkey), String(peerPubkey), this.#slots.length)
    ];
    if (!slot) {
      throw new InvalidJobError(`Cannot run signer job on worker "${index}": no such worker`);
    }
    const queuedAt = this.#now();
    const release = await lane.acquire(this.#timeoutMs);
    if (this.#closed) {
      release();
      throw new SignerClosedError("Cannot run signer job: the pool is closed");
    }
    if (lane === this.#lane) this.#queueWait.observe((this.#now() - queuedAt) / 1000);
    const remainingMs = Math.max(0, this.#timeoutMs - (performance.now() - submittedAt));
    return await slot.run(job, release, remainingMs);
  }
}

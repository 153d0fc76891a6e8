/**
 * One worker of the {@link SignerPool} and the jobs it holds: spawning with no permissions,
 * matching answers to job ids, per-job deadlines, and replacing the worker when it crashes or hangs.
 */
import type { Log } from "../log.ts";
import type { Release } from "../util/async.ts";
import {
  fromWireError,
  InvalidJobError,
  SignerClosedError,
  SignerTimeoutError,
  WorkerCrashedError,
} from "./errors.ts";
import { type Job, parseFromWorker, type ResultOf, type ToWorker } from "./protocol.ts";
import { parseJobResult } from "./results.ts";

/** How a slot runs its workers. */
export interface SlotOptions {
  /** Deadline of one job, in ms. */
  timeoutMs: number;
  /** Structured logger. */
  log: Log;
  /** Worker module to load instead of `./signer.worker.ts` (bundled builds). */
  workerUrl?: URL;
}

/** What every worker receives once, at start. */
export interface WorkerInit {
  /** The 32-byte master key. */
  masterKey: Uint8Array;
  /** Its key id. */
  masterKeyId: number;
  /** Whether test-only ops run. */
  debugOps: boolean;
}

interface Pending {
  /** Checks the worker's `ok` value against the job's result shape, then settles the caller. */
  accept(value: unknown): void;
  reject(error: Error): void;
  release: Release;
  dispatchedAt: number;
  timer: ReturnType<typeof setTimeout>;
  /** The caller already got a timeout; the answer, if it comes, only frees the permit. */
  abandoned: boolean;
}

const RESTART_WINDOW_MS = 60_000;
const MAX_QUICK_RESTARTS = 5;
const RESTART_DELAY_MS = 5_000;
let lastJobId = 0;

/** A worker slot: one worker at a time, replaced when it dies. */
export class WorkerSlot {
  /** Position of the slot in the pool (the routing target). */
  readonly index: number;
  /** Times the worker was replaced. */
  crashes = 0;
  /** Jobs the worker answered. */
  completed = 0;
  /** Jobs that missed their deadline while held by this slot. */
  timeouts = 0;
  readonly #init: WorkerInit;
  readonly #timeoutMs: number;
  readonly #log: Log;
  readonly #workerUrl: URL | undefined;
  readonly #jobs = new Map<number, Pending>();
  #worker: Worker | undefined;
  #ready = false;
  #readyWaiters: { resolve(): void; reject(error: Error): void }[] = [];
  #restarts: number[] = [];
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** Spawns the worker at once; throws when it cannot be created. */
  constructor(index: number, init: WorkerInit, options: SlotOptions) {
    this.index = index;
    this.#init = init;
    this.#timeoutMs = options.timeoutMs;
    this.#log = options.log;
    this.#workerUrl = options.workerUrl;
    this.#worker = this.#spawn();
  }

  /** Whether a worker is running (false while a restart is delayed and after close). */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** Resolves once the current worker (or its replacement) has built its vault. */
  whenReady(): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new SignerClosedError("Cannot wait for a closed signer worker"));
    }
    if (this.#ready) return Promise.resolve();
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /**
   * Sends `job` to the worker; `release` is called once the worker is done with it. Rejects with
   * `WorkerProtocolError` (see `parseJobResult`) when the worker answers with a value of the wrong
   * shape.
   */
  run<J extends Job>(job: J, release: Release, deadlineMs: number): Promise<ResultOf<J>> {
    return new Promise<ResultOf<J>>((resolve, reject) => {
      const worker = this.#worker;
      if (!worker) {
        release();
        reject(new WorkerCrashedError(`Cannot run signer job: worker ${this.index} is restarting`));
        return;
      }
      const id = ++lastJobId;
      const op: J["op"] = job.op;
      const pending: Pending = {
        accept: (value) => {
          let result: ResultOf<J>;
          try {
            result = parseJobResult(op, value);
          } catch (error) {
            this.#log({
              level: "warn",
              ns: "signer.pool",
              msg: "Rejected a malformed worker result",
              worker: this.index,
              op,
              error,
            });
            reject(error);
            return;
          }
          resolve(result);
        },
        reject,
        release,
        dispatchedAt: performance.now(),
        timer: setTimeout(() => this.#expire(pending), deadlineMs),
        abandoned: false,
      };
      this.#jobs.set(id, pending);
      try {
        worker.postMessage({ type: "job", id, job } satisfies ToWorker);
      } catch (error) {
        this.#take(id);
        reject(new InvalidJobError(`Cannot send signer job: ${(error as Error).name}`));
      }
    });
  }

  /** Terminates the worker and rejects every job it holds with `error`. */
  close(error: Error): void {
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#failAll(error);
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(error);
  }

  #spawn(): Worker {
    // `permissions: "none"` needs --unstable-worker-options (Deno 2.9).
    const options = {
      type: "module",
      name: `keycast-signer-${this.index}`,
      deno: { permissions: "none" },
    } as WorkerOptions;
    // Keep the exact `new Worker(new URL("<literal>", import.meta.url), …)` shape: it is what
    // `deno compile` looks for to embed the worker module.
    const worker = this.#workerUrl
      ? new Worker(this.#workerUrl, options)
      : new Worker(new URL("./signer.worker.ts", import.meta.url), options);
    worker.onmessage = (event: MessageEvent<unknown>) => {
      if (worker === this.#worker) this.#onMessage(event.data);
    };
    // The worker reports its own uncaught errors as a `crashed` message; this catches the rest
    // (a module that fails to load, an error inside that report).
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault(); // Handled here; otherwise it would be rethrown on the main thread.
      if (worker === this.#worker) this.#replace(`crashed: ${event.message}`);
    };
    worker.onmessageerror = () => {
      if (worker === this.#worker) this.#replace("sent a message that could not be deserialized");
    };
    worker.postMessage({ type: "init", ...this.#init } satisfies ToWorker);
    return worker;
  }

  #onMessage(data: unknown): void {
    const message = parseFromWorker(data);
    if (!message) {
      this.#log({
        level: "warn",
        ns: "signer.pool",
        msg: "Dropped a malformed worker message",
        worker: this.index,
      });
      return;
    }
    if (message.type === "ready") {
      this.#ready = true;
      for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
      return;
    }
    if (message.type === "crashed") {
      this.#replace(`crashed: ${message.message}`);
      return;
    }
    const pending = this.#take(message.id);
    if (!pending) return;
    this.completed++;
    if (pending.abandoned) return;
    if (message.ok) pending.accept(message.value);
    else pending.reject(fromWireError(message.error));
  }

  /** Removes job `id`, clears its timer and frees its permit. */
  #take(id: number): Pending | undefined {
    const pending = this.#jobs.get(id);
    if (!pending) return undefined;
    this.#jobs.delete(id);
    clearTimeout(pending.timer);
    pending.release();
    return pending;
  }

  /** The caller's deadline passed: fail the job now; replace the worker if it ran too long. */
  #expire(pending: Pending): void {
    pending.abandoned = true;
    this.timeouts++;
    pending.reject(new SignerTimeoutError(`Signer job timed out after ${this.#timeoutMs} ms`));
    const hangInMs = this.#timeoutMs - (performance.now() - pending.dispatchedAt);
    const reason = `hung: a job ran for over ${this.#timeoutMs} ms`;
    if (hangInMs <= 0) this.#replace(reason);
    else pending.timer = setTimeout(() => this.#replace(reason), hangInMs);
  }

  #replace(reason: string): void {
    if (this.#closed || !this.#worker) return;
    this.#worker.terminate();
    this.#worker = undefined;
    this.#ready = false;
    this.crashes++;
    this.#log({
      level: "warn",
      ns: "signer.pool",
      msg: "Replacing signer worker",
      worker: this.index,
      reason,
    });
    this.#failAll(
      new WorkerCrashedError(`Cannot finish signer job: worker ${this.index} ${reason}`),
    );
    const now = performance.now();
    this.#restarts = this.#restarts.filter((at) => now - at < RESTART_WINDOW_MS);
    this.#restarts.push(now);
    if (this.#restarts.length <= MAX_QUICK_RESTARTS) return this.#restart();
    this.#log({
      level: "error",
      ns: "signer.pool",
      msg: "Signer worker keeps failing; delaying its restart",
      worker: this.index,
      delayMs: RESTART_DELAY_MS,
    });
    this.#restartTimer = setTimeout(() => this.#restart(), RESTART_DELAY_MS);
  }

  #restart(): void {
    this.#restartTimer = undefined;
    if (this.#closed) return;
    try {
      this.#worker = this.#spawn();
    } catch (error) {
      this.#log({
        level: "error",
        ns: "signer.pool",
        msg: "Cannot start signer worker",
        worker: this.index,
        error,
      });
      this.#restartTimer = setTimeout(() => this.#restart(), RESTART_DELAY_MS);
    }
  }

  #failAll(error: Error): void {
    for (const [id, pending] of [...this.#jobs]) {
      this.#take(id);
      if (!pending.abandoned) pending.reject(error);
    }
  }
}

/** Options and stats of the {@link SignerPool}, with the validation of the options. */
import type { Log } from "../log.ts";
import type { HistogramSnapshot } from "../metrics/histogram.ts";
import { MASTER_KEY_BYTES } from "../vault/vault.ts";

/** Options of `SignerPool`. */
export interface SignerPoolOptions {
  /** The 32-byte vault master key; each worker receives a copy once, at start. */
  masterKey: Uint8Array;
  /** Id of the master key in sealed values (see `Vault`). Default 1. */
  masterKeyId?: number;
  /** Number of workers and of semaphore permits (`RPC_WORKER_COUNT`). Default `navigator.hardwareConcurrency`. */
  workers?: number;
  /** Jobs that may wait for a permit; one more is refused with `OverloadedError`. Default 1024. */
  maxQueue?: number;
  /** Jobs that may wait in the reserved lane (`SignerPool.rejectRequest`). Default 64. */
  reservedQueue?: number;
  /** Deadline of one job from submission, in ms. Default 5000. */
  jobTimeoutMs?: number;
  /** Structured logger. Default: silent. */
  log?: Log;
  /**
   * Clock in ms, used for the default `created_at` of replies and to time each job's wait for a
   * worker (`SignerPoolStats.queueWait`). Default `Date.now`.
   */
  now?: () => number;
  /**
   * Worker module URL, for builds where the worker was bundled separately (e.g. `deno bundle`
   * writing `signer.worker.js`). Default: `./signer.worker.ts` beside this module.
   */
  workerUrl?: URL;
  /** Enables the test-only debug ops (`SignerPool.debugOp`). Default false. */
  debugOps?: boolean;
}

/** Counters and gauges of a `SignerPool`. */
export interface SignerPoolStats {
  /** Workers currently running. */
  workers: number;
  /** Jobs holding a permit (sent to a worker, not yet answered). */
  busy: number;
  /** Jobs waiting for a permit. */
  queueDepth: number;
  /** Jobs that may wait for a permit (`maxQueue`); one more is refused with `OverloadedError`. */
  queueCapacity: number;
  /** How long jobs of the main lane waited for a permit before they started, in seconds. */
  queueWait: HistogramSnapshot;
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

/** The options with their defaults applied. */
export type ResolvedOptions = Required<Omit<SignerPoolOptions, "log" | "workerUrl">> & {
  log?: Log;
  workerUrl?: URL;
};

/** Applies defaults and checks every numeric option; throws a `RangeError` naming the first bad one. */
export function resolveOptions(options: SignerPoolOptions): ResolvedOptions {
  const resolved = {
    ...options,
    masterKeyId: options.masterKeyId ?? 1,
    workers: options.workers ?? navigator.hardwareConcurrency,
    maxQueue: options.maxQueue ?? 1024,
    reservedQueue: options.reservedQueue ?? 64,
    jobTimeoutMs: options.jobTimeoutMs ?? 5_000,
    now: options.now ?? Date.now,
    debugOps: options.debugOps === true,
  };
  if (resolved.masterKey.length !== MASTER_KEY_BYTES) {
    throw new RangeError(
      `Cannot start signer pool: the master key must be ${MASTER_KEY_BYTES} bytes`,
    );
  }
  const ranges: [keyof ResolvedOptions, number, number][] = [
    ["workers", 1, 256],
    ["maxQueue", 0, 1_000_000],
    ["reservedQueue", 0, 1_000_000],
    ["jobTimeoutMs", 1, 2 ** 31 - 1],
  ];
  for (const [name, min, max] of ranges) {
    const value = resolved[name] as number;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(
        `Cannot start signer pool with ${name} "${value}": need an integer ${min}..${max}`,
      );
    }
  }
  return resolved;
}

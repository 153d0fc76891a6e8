/**
 * `serve --cluster`: what one instance adds to run beside others on one PostgreSQL database
 * (docs/ARCHITECTURE.md, "The cluster"). Built by `startServer` in this order: {@link openCluster}
 * (the store and the bridge, listening before the registry loads its snapshot, so no change
 * falls between the two), then the directory watches through {@link Cluster.watch}, then — once
 * the port is bound — {@link Cluster.join} registers the instance and serves its share. A stop
 * hands the share over first ({@link Cluster.handOver}), then drains, then disposes.
 */
import type { AuthorizationChannel } from "../channel/channel.ts";
import type { AuthorizationsRepo } from "../db/repos/authorizations.ts";
import type { Log } from "../log.ts";
import type { RequestClaims } from "../nip46/listener_types.ts";
import { deadline } from "../util/async.ts";
import { encodeHex } from "../util/hex.ts";
import { type BridgeStats, ChangeBridge } from "./bridge.ts";
import { Membership, type MembershipStatus } from "./membership.ts";
import { PartitionedWatch, type PartitionPool, READY_WAIT_MS } from "./partition.ts";
import { DatabaseRateLimits } from "./rate_limits.ts";
import { DatabaseLoginThrottle } from "./login_throttle.ts";
import { ClusterStore, type InstanceRow } from "./store.ts";

/** Longest wait for one claim: past it the request is not answered here (fail closed), in ms. */
const CLAIM_TIMEOUT_MS = 2_000;
/**
 * How long a claim stands, in ms: past the window in which the listener accepts a request event
 * (±120 s) with room to spare, so a copy of a request still in that window never finds it gone.
 */
const CLAIM_TTL_MS = 300_000;
/** Time between prunes of expired claims and full buckets, and the most one may take, in ms. */
const PRUNE_INTERVAL_MS = 5_000;
const PRUNE_BUDGET_MS = 1_000;

/** Options of {@link openCluster}. */
export interface ClusterOptions {
  databaseUrl: string;
  leaseMs: number;
  version: string;
  channel: AuthorizationChannel;
  authorizations: Pick<
    AuthorizationsRepo,
    "loadActiveByBunker" | "loadActiveById" | "loadActiveByPolicy" | "unrevokedOfAccount" | "get"
  >;
  pool: PartitionPool;
  log: Log;
}

/** What `/metrics` and `/health` report of the cluster. */
export interface ClusterStatus extends MembershipStatus {
  /** Bunkers watched on relays by this instance. */
  watched: number;
  bridge: BridgeStats;
}

/** One instance's membership of the cluster. */
export interface Cluster extends AsyncDisposable {
  /** This instance's id (new at every start). */
  readonly id: string;
  /** The relay pool as the directory should drive it: only this instance's bunkers. */
  readonly watch: PartitionedWatch;
  /** Sends changes to the other instances. */
  readonly bridge: ChangeBridge;
  /** The request claims for the listener. */
  readonly claims: RequestClaims;
  /** Rate limits shared through the database. */
  readonly sharedLimits: DatabaseRateLimits;
  /** The login throttle shared through the database. */
  readonly loginThrottle: DatabaseLoginThrottle;
  /** Registers this instance (at `address`) and serves its share of the bunkers. */
  join(address: string): Promise<void>;
  /** Hands this instance's bunkers to the others before a stop (bounded by `timeoutMs`). */
  handOver(timeoutMs: number): Promise<void>;
  /** The live instances. */
  instances(): Promise<InstanceRow[]>;
  status(): ClusterStatus;
}

/** Opens the cluster side of one instance (see the module doc). */
export async function openCluster(options: ClusterOptions): Promise<Cluster> {
  const { log } = options;
  const id = encodeHex(crypto.getRandomValues(new Uint8Array(16)));
  const store = await ClusterStore.open(options.databaseUrl, log);
  const watch = new PartitionedWatch(options.pool);
  const bridge = new ChangeBridge({
    store,
    self: id,
    channel: options.channel,
    authorizations: options.authorizations,
    log,
  });
  try {
    await bridge.start();
  } catch (error: unknown) {
    await store[Symbol.asyncDispose]();
    throw error;
  }
  let membership: Membership | undefined;
  // Off the heartbeat, on the request path's connections; one prune at a time.
  let pruning: Promise<unknown> | undefined;
  const pruner = setInterval(() => {
    pruning ??= store.prune(PRUNE_BUDGET_MS).catch((error: unknown) =>
      log({ level: "warn", ns: "cluster", msg: "Cannot prune claims and buckets", error })
    ).finally(() => (pruning = undefined));
  }, PRUNE_INTERVAL_MS);
  return {
    id,
    watch,
    bridge,
    claims: {
      claim: (request) => deadline(store.claim(request, id, CLAIM_TTL_MS), CLAIM_TIMEOUT_MS),
    },
    sharedLimits: new DatabaseRateLimits(store),
    loginThrottle: new DatabaseLoginThrottle(store),
    join: async (address) => {
      membership = new Membership({
        store,
        self: { id, address, version: options.version },
        leaseMs: options.leaseMs,
        // The wait is part of a heartbeat: a sixth of the lease at most, so relays that do not
        // answer delay the acknowledgement, never the next renewal.
        serve: (slots) => watch.serve(slots, Math.min(READY_WAIT_MS, options.leaseMs / 6)),
        onHeartbeat: (beat) => bridge.observe(beat.changes),
        log,
      });
      await membership.start();
      log({ level: "info", ns: "cluster", msg: "Joined the cluster", id, address });
    },
    handOver: async (timeoutMs) => await membership?.handOver(timeoutMs),
    instances: () => store.instances(),
    status: () => ({
      ...(membership?.status() ?? {
        id,
        generation: -1,
        instances: 0,
        servedSlots: 0,
        fenced: false,
        leaving: false,
        changes: 0,
        expiries: 0,
      }),
      watched: watch.watched,
      bridge: { ...bridge.stats },
    }),
    [Symbol.asyncDispose]: async () => {
      clearInterval(pruner);
      await pruning;
      watch[Symbol.dispose]();
      bridge[Symbol.dispose]();
      await membership?.[Symbol.asyncDispose]();
      await store[Symbol.asyncDispose]();
    },
  };
}

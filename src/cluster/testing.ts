/**
 * Test doubles for the cluster: a clock whose timers the test runs ({@link FakeClock}), and an
 * in-memory cluster database ({@link FakeCluster}) that hands each instance a
 * {@link FakeMembershipStore} behaving like `ClusterStore`'s membership side: leases, the
 * generation, expiry, acknowledgements and the membership channel, all on the fake clock.
 */
import type { Timers } from "../util/async.ts";
import type { MembershipStore } from "./membership.ts";
import type { Heartbeat, InstanceIdentity, InstanceRow } from "./store.ts";
import { MEMBERSHIP_CHANNEL } from "./store.ts";

/** Most timers one {@link FakeClock.tick} runs before it takes the timers to be looping. */
const MAX_TIMERS_PER_TICK = 10_000;

/** Lets every promise chain that waits on nothing but other promises settle. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setTimeout(resolve, 0));
}

/** A clock in ms and timers that run only when the test moves the clock. */
export class FakeClock implements Timers {
  /** The time, in ms. */
  now: number;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  #nextId = 1;

  constructor(start = 1_700_000_000_000) {
    this.now = start;
  }

  /** Timers not run or cleared yet. */
  get pending(): number {
    return this.#timers.size;
  }

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.now + Math.max(0, ms), fn });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    if (typeof handle === "number") this.#timers.delete(handle);
  };

  /**
   * Moves the clock `ms` forward, running the timers that fall due in order, each at its time, and
   * letting the promise chains they start settle before the next.
   */
  async tick(ms = 0): Promise<void> {
    const until = this.now + ms;
    await settle();
    for (let run = 0;; run++) {
      if (run === MAX_TIMERS_PER_TICK) {
        throw new Error(`FakeClock.tick() ran ${run} timers: something reschedules at once`);
      }
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.#timers.delete(due[0]);
      this.now = Math.max(this.now, due[1].at);
      due[1].fn();
      await settle();
    }
    this.now = until;
  }
}

/** The `instances` table, the generation and the membership channel, in memory. */
export class FakeCluster {
  readonly clock: FakeClock;
  /** The `instances` rows by id. */
  readonly rows = new Map<string, InstanceRow>();
  generation = 0;
  readonly #stores = new Set<FakeMembershipStore>();

  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  /** A new connection to this database for one instance. */
  store(): FakeMembershipStore {
    const store = new FakeMembershipStore(this);
    this.#stores.add(store);
    return store;
  }

  /** Live rows as the database orders them: oldest first. */
  instances(): InstanceRow[] {
    return [...this.rows.values()]
      .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || (a.id < b.id ? -1 : 1))
      .map((row) => ({ ...row }));
  }

  insert(self: InstanceIdentity, leaseMs: number): void {
    const now = this.clock.now;
    this.rows.set(self.id, {
      ...self,
      startedAt: new Date(now),
      heartbeatAt: new Date(now),
      leaseUntil: new Date(now + leaseMs),
      view: 0,
      leaving: false,
    });
  }

  raise(id: string, why: string): void {
    this.generation++;
    this.notify(`${id} ${why}`);
  }

  /** Delivers `payload` on the membership channel to every store that can hear it, later. */
  notify(payload: string): void {
    for (const store of this.#stores) queueMicrotask(() => store.deliver(payload));
  }
}

/** One instance's view of a {@link FakeCluster}; `down` cuts it off the database. */
export class FakeMembershipStore implements MembershipStore {
  /** While true every call fails and no notice arrives, as when the database does not answer. */
  down = false;
  /** Awaited before an acknowledgement is written (a test holds it to delay one). */
  ackGate: Promise<void> = Promise.resolve();
  /** Heartbeats sent, failed ones included. */
  heartbeats = 0;
  readonly #cluster: FakeCluster;
  readonly #listeners: ((payload: string) => void)[] = [];

  constructor(cluster: FakeCluster) {
    this.#cluster = cluster;
  }

  deliver(payload: string): void {
    if (this.down) return;
    for (const listener of this.#listeners) listener(payload);
  }

  listen(
    channel: string,
    onMessage: (payload: string) => void,
    onConnect: () => void,
  ): Promise<void> {
    return this.#run(() => {
      if (channel === MEMBERSHIP_CHANNEL) this.#listeners.push(onMessage);
      onConnect();
    });
  }

  join(self: InstanceIdentity, leaseMs: number): Promise<void> {
    return this.#run(() => {
      this.#cluster.insert(self, leaseMs);
      this.#cluster.raise(self.id, "join");
    });
  }

  heartbeat(self: InstanceIdentity, leaseMs: number): Promise<Heartbeat> {
    this.heartbeats++;
    return this.#run(() => {
      const cluster = this.#cluster;
      const now = cluster.clock.now;
      const row = cluster.rows.get(self.id);
      const rejoined = row === undefined;
      if (row) {
        row.heartbeatAt = new Date(now);
        row.leaseUntil = new Date(now + leaseMs);
      } else cluster.insert(self, leaseMs);
      const expired: string[] = [];
      for (const [id, other] of cluster.rows) {
        if (other.leaseUntil.getTime() < now) {
          cluster.rows.delete(id);
          expired.push(id);
        }
      }
      if (rejoined || expired.length > 0) cluster.raise(self.id, rejoined ? "join" : "expire");
      return {
        generation: cluster.generation,
        changes: 0,
        instances: cluster.instances(),
        rejoined,
        expired,
      };
    });
  }

  acknowledge(id: string, generation: number): Promise<void> {
    return this.ackGate.then(() =>
      this.#run(() => {
        const row = this.#cluster.rows.get(id);
        if (row && row.view < generation) {
          row.view = generation;
          this.#cluster.notify(`${id} ack`);
        }
      })
    );
  }

  markLeaving(id: string): Promise<void> {
    return this.#run(() => {
      const row = this.#cluster.rows.get(id);
      if (row) row.leaving = true;
      this.#cluster.raise(id, "leave");
    });
  }

  leave(id: string): Promise<void> {
    return this.#run(() => {
      if (this.#cluster.rows.delete(id)) this.#cluster.raise(id, "leave");
    });
  }

  /** Runs `fn` as the database would, a moment later; fails while `down`. */
  #run<T>(fn: () => T): Promise<T> {
    if (this.down) return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
    return Promise.resolve().then(fn);
  }
}

/**
 * One instance's part in the cluster: its lease, which bunker slots it serves, and the hand-over
 * of slots when instances come and go (docs/ARCHITECTURE.md, "The cluster").
 *
 * Each heartbeat (every third of the lease, and whenever another instance announces a change)
 * renews the lease, deletes instances whose lease has passed, and reads the membership. The slots
 * an instance should serve follow from the live instances that are not leaving (`slots.ts`).
 * Hand-overs are make-before-break: a slot an instance gains is served at once (watched on its
 * relays), and the instance then acknowledges the generation; a slot it loses is served until
 * every other live instance has acknowledged that generation, so at every moment some instance
 * listens for each bunker. Requests that reach two instances in that overlap are answered once
 * through the request claims (`store.ts`). Ephemeral NIP-46 events are not stored by relays: a
 * break-before-make hand-over would lose every request sent in the gap.
 *
 * The fence: an instance that cannot renew its lease stops serving every slot when the lease it
 * last renewed runs out by its own clock — measured from before that renewal was sent, so always
 * before the database's `lease_until`, after which the others take the slots over. Its requests
 * then also fail their claims, which need the database.
 */
import type { Log } from "../log.ts";
import { deadline, realTimers, type Timers } from "../util/async.ts";
import { slotsOf } from "./slots.ts";
import type { ClusterStore, Heartbeat, InstanceIdentity } from "./store.ts";
import { MEMBERSHIP_CHANNEL } from "./store.ts";

/** What {@link Membership} needs of the store. */
export type MembershipStore = Pick<
  ClusterStore,
  "join" | "heartbeat" | "acknowledge" | "markLeaving" | "leave" | "listen"
>;

/** Options of {@link Membership}. */
export interface MembershipOptions {
  store: MembershipStore;
  self: InstanceIdentity;
  /** How long a renewed lease lasts, in ms. */
  leaseMs: number;
  /**
   * Serves exactly `slots` from now on (watches their bunkers, unwatches the rest); resolves true
   * once the newly served ones are subscribed, false when that was not confirmed in time (bounded
   * by the caller) — the assignment is then acknowledged at a later heartbeat.
   */
  serve: (slots: ReadonlySet<number>) => Promise<boolean>;
  /** Called with every heartbeat's reading (e.g. to check that no change notice was lost). */
  onHeartbeat?: (beat: Heartbeat) => void;
  log: Log;
  /** Monotonic clock in ms. Default `performance.now` (a wall clock set back must not move the fence). */
  now?: () => number;
  /** Timers of the heartbeats and the fence. Default the global ones. */
  timers?: Timers;
}

/** What `/metrics` and `/health` report of the membership. */
export interface MembershipStatus {
  id: string;
  /** The membership generation last seen. */
  generation: number;
  /** Live instances last seen, this one included. */
  instances: number;
  /** Slots served now. */
  servedSlots: number;
  /** The lease ran out without renewal: serving nothing until the database answers again. */
  fenced: boolean;
  /** Handing the slots over before stopping. */
  leaving: boolean;
  /** Membership changes seen (joins, leaves, expiries), since start. */
  changes: number;
  /** Instances this one found with their lease passed, since start. */
  expiries: number;
}

/** Time from a change's notification to the heartbeat that reads it, in ms (batches bursts). */
const NOTICE_DELAY_MS = 5;
/**
 * How long before its lease ends, by its own clock, an instance fences itself, as a fraction of the
 * lease: room for timers firing late and clocks running at slightly different rates, so the fence
 * always falls before the others take over.
 */
const FENCE_MARGIN = 0.2;
/**
 * Pause before a failed heartbeat is tried again, as a fraction of the lease. Not a third: a
 * heartbeat that timed out has used a third already, and the fence falls a fifth before the lease
 * ends, so a retry a third later would come after the fence — one slow heartbeat would fence.
 */
const RETRY_FRACTION = 10;

/** Keeps this instance's lease and serves its share of the bunkers (see the module doc). */
export class Membership implements AsyncDisposable {
  readonly #o: Required<MembershipOptions>;
  #served: ReadonlySet<number> = new Set();
  #generation = -1;
  #instances = 0;
  #changes = 0;
  #expiries = 0;
  /** Local time the lease is known valid until; undefined before the first renewal. */
  #validUntil: number | undefined;
  #fenced = false;
  #leaving = false;
  /** The hand-over is over (done or given up): serve nothing whatever the rows say. */
  #handedOverAll = false;
  #stopped = false;
  /** Heartbeats wait for the join: a notice that comes first must not register the instance. */
  #joined = false;
  #running: Promise<void> | undefined;
  #again = false;
  #timer: unknown;
  #fenceTimer: unknown;
  #failingSince: number | undefined;
  readonly #handedOver = Promise.withResolvers<void>();

  constructor(options: MembershipOptions) {
    this.#o = {
      now: () => performance.now(),
      timers: realTimers,
      onHeartbeat: () => {},
      ...options,
    };
  }

  /** Registers, starts listening for changes, and serves this instance's first share. */
  async start(): Promise<void> {
    await this.#o.store.listen(MEMBERSHIP_CHANNEL, (payload) => {
      if (!payload.startsWith(this.#o.self.id)) this.#soon();
    }, () => this.#soon());
    await this.#o.store.join(this.#o.self, this.#o.leaseMs);
    this.#joined = true;
    // Run as any other heartbeat, so that one a notice asks for meanwhile waits for it.
    await this.#run();
  }

  /** The lease, the share and the counters, for status pages. */
  status(): MembershipStatus {
    return {
      id: this.#o.self.id,
      generation: this.#generation,
      instances: this.#instances,
      servedSlots: this.#served.size,
      fenced: this.#fenced,
      leaving: this.#leaving,
      changes: this.#changes,
      expiries: this.#expiries,
    };
  }

  /**
   * Hands every slot over before a stop: marks this instance leaving, keeps serving until every
   * other live instance serves the new assignment, then serves nothing — all within `timeoutMs`.
   * When the mark itself cannot be made (no database), the others cannot know to take over: the
   * instance goes on serving until it stops, and they take over once its lease has passed.
   */
  async handOver(timeoutMs: number): Promise<void> {
    if (this.#leaving || this.#stopped) return;
    const until = this.#o.now() + timeoutMs;
    try {
      await deadline(this.#o.store.markLeaving(this.#o.self.id), timeoutMs);
    } catch (error: unknown) {
      this.#o.log({
        level: "warn",
        ns: "cluster",
        msg: "Cannot tell the other instances this one stops: serving until it does",
        error,
      });
      return;
    }
    this.#leaving = true;
    try {
      this.#soon();
      await deadline(this.#handedOver.promise, Math.max(0, until - this.#o.now()));
    } catch (error: unknown) {
      this.#o.log({
        level: "warn",
        ns: "cluster",
        msg: "Stopping before the other instances confirmed they serve this one's bunkers",
        error,
      });
    }
    this.#handedOverAll = true;
    await this.#apply(new Set());
  }

  /**
   * A heartbeat now, after the one under way; resolves once it ran (exposed for tests; the timers
   * call it by themselves).
   */
  async beat(): Promise<void> {
    while (this.#running) await this.#running;
    if (this.#stopped || !this.#joined) return;
    await this.#run();
  }

  /** Schedules a heartbeat after `delayMs`, unless one is due sooner. */
  #soon(delayMs = NOTICE_DELAY_MS): void {
    if (this.#stopped || !this.#joined) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#o.timers.clearTimeout(this.#timer);
    this.#timer = this.#o.timers.setTimeout(() => void this.#run(), delayMs);
  }

  /** Runs a heartbeat unless one is under way (then one more follows it); one at a time. */
  #run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#beat().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.#soon(0);
      }
    });
    return this.#running;
  }

  async #beat(): Promise<void> {
    if (this.#stopped) return;
    const { store, self, leaseMs, log } = this.#o;
    const sentAt = this.#o.now();
    let beat: Heartbeat;
    try {
      beat = await deadline(store.heartbeat(self, leaseMs), Math.max(1_000, leaseMs / 3));
    } catch (error: unknown) {
      this.#failingSince ??= sentAt;
      log({
        level: "warn",
        ns: "cluster",
        msg: "Cannot renew the cluster lease",
        failingMs: sentAt - this.#failingSince,
        error,
      });
      this.#schedule(leaseMs / RETRY_FRACTION);
      return;
    }
    this.#failingSince = undefined;
    this.#renewed(sentAt);
    if (beat.rejoined && this.#generation >= 0) {
      log({
        level: "warn",
        ns: "cluster",
        msg: "Registered again: the other instances had taken this one's lease as passed",
      });
    }
    for (const id of beat.expired) {
      this.#expiries++;
      log({ level: "warn", ns: "cluster", msg: "An instance's lease passed: taking over", id });
    }
    if (beat.generation !== this.#generation) this.#changes++;
    this.#generation = beat.generation;
    this.#instances = beat.instances.length;
    const me = beat.instances.find((i) => i.id === self.id);
    // Handing over starts once this instance's row says it leaves: a heartbeat that read the rows
    // before `markLeaving` committed must not drop slots the others do not know to take.
    const handingOver = this.#leaving && (me?.leaving === true || this.#handedOverAll);
    const owners = beat.instances.filter((i) => !i.leaving).map((i) => i.id);
    const mine = handingOver || this.#fenced ? new Set<number>() : slotsOf(self.id, owners);
    // Slots this one loses are served until every other owner serves the new assignment.
    const settled = beat.instances.every((i) =>
      i.leaving || i.id === self.id || i.view >= beat.generation
    );
    this.#o.onHeartbeat(beat);
    const subscribed = await this.#apply(settled ? mine : new Set([...this.#served, ...mine]));
    // Acknowledged only once subscribed: the others let go of these slots on the acknowledgement.
    if (subscribed && !this.#leaving && me && me.view < beat.generation) {
      await deadline(store.acknowledge(self.id, beat.generation), leaseMs / 3).catch(
        (error: unknown) =>
          log({ level: "warn", ns: "cluster", msg: "Cannot acknowledge the assignment", error }),
      );
    }
    if (handingOver && this.#served.size === 0) this.#handedOver.resolve();
    // The next heartbeat: a third of the lease after this one was sent (waiting for relays above
    // must not push it past the fence), or just after another instance's lease ends.
    const heartbeatAt = me?.heartbeatAt.getTime() ?? 0;
    const ends = beat.instances.filter((i) => i.id !== self.id)
      .map((i) => i.leaseUntil.getTime() - heartbeatAt + 50);
    const next = leaseMs / 3 - (this.#o.now() - sentAt);
    this.#schedule(Math.min(next, ...ends.filter((ms) => ms > 0)));
  }

  async #apply(slots: ReadonlySet<number>): Promise<boolean> {
    this.#served = slots;
    return await this.#o.serve(slots);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#o.timers.clearTimeout(this.#timer);
    this.#timer = this.#o.timers.setTimeout(() => this.#soon(0), Math.max(0, delayMs));
  }

  /** The lease was renewed by a heartbeat sent at `sentAt`: re-arms the fence. */
  #renewed(sentAt: number): void {
    const { leaseMs, log } = this.#o;
    // A margin for timers firing late: the fence must fall before the database's lease_until.
    this.#validUntil = sentAt + leaseMs - leaseMs * FENCE_MARGIN;
    if (this.#fenced) {
      this.#fenced = false;
      log({ level: "info", ns: "cluster", msg: "The cluster lease is renewed: serving again" });
    }
    this.#o.timers.clearTimeout(this.#fenceTimer);
    this.#fenceTimer = this.#o.timers.setTimeout(
      () => this.#fence(),
      this.#validUntil - this.#o.now(),
    );
  }

  #fence(): void {
    if (this.#stopped || this.#validUntil === undefined) return;
    const early = this.#validUntil - this.#o.now();
    if (early > 0) {
      // A timer that fired before the clock got there (the wall clock was set back): the fence
      // still falls, later — nothing else would arm it again while heartbeats fail.
      this.#fenceTimer = this.#o.timers.setTimeout(() => this.#fence(), early);
      return;
    }
    this.#fenced = true;
    this.#o.log({
      level: "error",
      ns: "cluster",
      msg: "The cluster lease ran out without renewal (the database does not answer): serving " +
        "none of this instance's bunkers until it does, so that none is served twice",
    });
    void this.#apply(new Set());
  }

  /** Stops the timers and deletes this instance's row (bounded). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stopped = true;
    this.#o.timers.clearTimeout(this.#timer);
    this.#o.timers.clearTimeout(this.#fenceTimer);
    await this.#running?.catch(() => {});
    await deadline(this.#o.store.leave(this.#o.self.id), 2_000).catch((error: unknown) =>
      this.#o.log({ level: "warn", ns: "cluster", msg: "Cannot deregister", error })
    );
  }
}

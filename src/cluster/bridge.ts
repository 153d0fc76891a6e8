/**
 * The authorization channel across instances. Every change an instance sends its own listener
 * after a committed write is also announced to the others with `pg_notify`: the payload is the
 * sender's id, the notice's number and what changed — a bunker pubkey, an authorization id (a
 * client connected or logged out), a policy name or an account id — never anything secret. Each
 * receiver re-reads what changed from the database and sends its own channel the result, through
 * an {@link AuthorizationChanges} of its own that tells no one else. Reading the rows instead of
 * trusting the notice makes the order of notices irrelevant.
 *
 * Notices can be lost: a send that fails is kept and sent again (a backlog over
 * {@link MAX_UNSENT} collapses into one "re-read everything"); a receiver whose listening
 * connection dropped reloads everything when it is back; and every heartbeat reads how many
 * notices were ever sent (`cluster_state.changes`) — a number that a whole heartbeat later has
 * still not arrived means a notice was lost in between, and the receiver reloads.
 */
import type { AuthorizationChannel } from "../channel/channel.ts";
import type { AuthorizationsRepo } from "../db/repos/authorizations.ts";
import type { ClientsRepo } from "../db/repos/clients.ts";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { Log } from "../log.ts";
import { AuthorizationChanges } from "../service/changes.ts";
import { realTimers, type Timers } from "../util/async.ts";
import { AUTHORIZATIONS_CHANNEL, type ClusterStore } from "./store.ts";

/** Most notices waiting to be applied; past it they collapse into one reload. */
const MAX_QUEUED = 10_000;
/** Most notices waiting to be sent again; past it they collapse into one "re-read everything". */
export const MAX_UNSENT = 1_000;
/** Time between attempts to send the notices that failed, in ms. */
export const RESEND_INTERVAL_MS = 1_000;

const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * What changed: a bunker (`b`), an authorization (`a`), every live authorization of a policy
 * (`p`) or of an account (`u`), or everything (`*`).
 */
type Notice =
  | { kind: "b" | "a" | "u"; value: string }
  | { kind: "p"; value: string }
  | { kind: "*" };

/** The repository reads a receiver needs. */
type Reads = Pick<
  AuthorizationsRepo,
  "loadActiveByBunker" | "loadActiveById" | "loadActiveByPolicy" | "unrevokedOfAccount" | "get"
>;

/** Sends changes to this instance's channel and announces them to every other instance. */
export class ClusterChanges extends AuthorizationChanges {
  readonly #announce: (what: string) => void;

  constructor(
    authorizations: ConstructorParameters<typeof AuthorizationChanges>[0],
    channel: AuthorizationChannel,
    /** Announces one notice (`b <bunker>`, `a <id>`, `p <policy>`, `u <account>`). */
    announce: (what: string) => void,
  ) {
    super(authorizations, channel);
    this.#announce = announce;
  }

  override async upserted(id: string): Promise<ActiveAuthorization | undefined> {
    const active = await super.upserted(id);
    this.#announce(`a ${id}`);
    return active;
  }

  override removed(bunkerPubkey: string): void {
    super.removed(bunkerPubkey);
    this.#announce(`b ${bunkerPubkey}`);
  }

  /** One notice for the whole policy, not one per authorization: a bulk change stays one row. */
  override async policyChanged(name: string): Promise<number> {
    const sent = await super.policyChanged(name);
    this.#announce(`p ${name}`);
    return sent;
  }

  override async accountChanged(accountId: string): Promise<number> {
    const sent = await super.accountChanged(accountId);
    this.#announce(`u ${accountId}`);
    return sent;
  }
}

/** Counters for `/metrics`. */
export interface BridgeStats {
  /** Notices sent to the other instances. */
  sent: number;
  /** Notices from other instances applied. */
  received: number;
  /** Reloads: after the listening connection came back, a lost notice, a full queue. */
  reloads: number;
  /** Notices that could not be sent (then sent again) or applied (then a reload). */
  failed: number;
}

/** Both directions of the bridge for one instance. */
export class ChangeBridge implements Disposable {
  readonly #store: Pick<ClusterStore, "announce" | "listen">;
  readonly #self: string;
  readonly #channel: AuthorizationChannel;
  readonly #reads: Reads;
  /** Applies notices to this instance's channel only. */
  readonly #local: AuthorizationChanges;
  readonly #log: Log;
  readonly #timers: Timers;
  readonly #queue: Notice[] = [];
  #draining = false;
  #connections = 0;
  /** Notices whose send failed, in order, to send again. */
  readonly #unsent: string[] = [];
  #resendTimer: unknown;
  #sending = false;
  /** The highest notice number received (own notices included). */
  #highest = 0;
  /** The count of notices sent as the previous heartbeat read it. */
  #lastCount: number | undefined;
  readonly stats: BridgeStats = { sent: 0, received: 0, reloads: 0, failed: 0 };

  constructor(deps: {
    store: Pick<ClusterStore, "announce" | "listen">;
    /** This instance's id: its own notices are not applied twice. */
    self: string;
    channel: AuthorizationChannel;
    authorizations: Reads;
    log: Log;
    /** Timers of the resends. Default the global ones. */
    timers?: Timers;
  }) {
    this.#store = deps.store;
    this.#self = deps.self;
    this.#channel = deps.channel;
    this.#reads = deps.authorizations;
    this.#local = new AuthorizationChanges(deps.authorizations, deps.channel);
    this.#log = deps.log;
    this.#timers = deps.timers ?? realTimers;
  }

  /** Starts receiving the other instances' notices. */
  async start(): Promise<void> {
    await this.#store.listen(AUTHORIZATIONS_CHANNEL, (payload) => this.#received(payload), () => {
      // Every connection after the first follows a drop: notices may have been lost meanwhile.
      if (this.#connections++ > 0) this.#enqueue({ kind: "*" });
    });
  }

  /** Announces a notice to the other instances (see {@link ClusterChanges}). */
  announce = (what: string): void => {
    this.stats.sent++;
    this.#unsent.push(what);
    if (this.#unsent.length > MAX_UNSENT) this.#unsent.splice(0, this.#unsent.length, "*");
    void this.#send();
  };

  /**
   * Wraps the listener's client writes (connect, logout) so the other instances hear of them:
   * an own-relay or HTTP request they answer needs the current client list.
   */
  clients(clients: Pick<ClientsRepo, "redeem" | "logout">): Pick<ClientsRepo, "redeem" | "logout"> {
    return {
      redeem: async (input) => {
        const result = await clients.redeem(input);
        if (result.status === "redeemed") this.announce(`a ${input.authorizationId}`);
        return result;
      },
      logout: async (authorizationId, clientPubkey) => {
        const result = await clients.logout(authorizationId, clientPubkey);
        if (result) this.announce(`a ${authorizationId}`);
        return result;
      },
    };
  }

  /**
   * A heartbeat read `count` notices sent in all. One counted by the previous heartbeat that has
   * still not arrived was lost on the way: everything is read again.
   */
  observe(count: number): void {
    if (this.#lastCount !== undefined && this.#lastCount > this.#highest) {
      this.#log({
        level: "warn",
        ns: "cluster",
        msg: "A change notice from another instance was lost: reading every authorization again",
        missing: this.#lastCount - this.#highest,
      });
      this.#highest = this.#lastCount;
      this.#enqueue({ kind: "*" });
    }
    this.#lastCount = count;
  }

  /** Sends the unsent notices in order; a failure keeps them and tries again a second later. */
  async #send(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      while (this.#unsent.length > 0) {
        await this.#store.announce(this.#self, this.#unsent[0]!);
        this.#unsent.shift();
      }
    } catch (error: unknown) {
      this.stats.failed++;
      this.#log({
        level: "warn",
        ns: "cluster",
        msg: "Cannot tell the other instances of a change yet: trying again",
        unsent: this.#unsent.length,
        error,
      });
      this.#timers.clearTimeout(this.#resendTimer);
      this.#resendTimer = this.#timers.setTimeout(() => void this.#send(), RESEND_INTERVAL_MS);
    } finally {
      this.#sending = false;
    }
  }

  #received(payload: string): void {
    const [from, number, kind] = payload.split(" ", 3);
    const value = payload.slice(`${from} ${number} ${kind} `.length);
    const count = Number(number);
    if (Number.isSafeInteger(count)) this.#highest = Math.max(this.#highest, count);
    if (from === this.#self) return;
    if (kind === "*") this.#enqueue({ kind });
    else if (kind === "b" && HEX64.test(value)) this.#enqueue({ kind, value });
    else if ((kind === "a" || kind === "u") && UUID.test(value)) this.#enqueue({ kind, value });
    else if (kind === "p" && value.length > 0) this.#enqueue({ kind, value });
  }

  /** Queues a notice, applied one at a time in order; a full queue collapses into one reload. */
  #enqueue(notice: Notice): void {
    if (this.#queue.length < MAX_QUEUED) this.#queue.push(notice);
    else this.#queue.splice(0, this.#queue.length, { kind: "*" });
    if (!this.#draining) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const notice = this.#queue.shift()!;
        try {
          await this.#apply(notice);
        } catch (error: unknown) {
          // The database is the truth: a reload heals what this notice could not.
          this.stats.failed++;
          this.#log({ level: "warn", ns: "cluster", msg: "Cannot apply a change", error });
          this.#channel.send({ type: "reload" });
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async #apply(notice: Notice): Promise<void> {
    if (notice.kind === "*") {
      this.stats.reloads++;
      this.#channel.send({ type: "reload" });
      return;
    }
    this.stats.received++;
    switch (notice.kind) {
      case "b": {
        const active = await this.#reads.loadActiveByBunker(notice.value);
        this.#channel.send(
          active
            ? { type: "upsert", authorization: active }
            : { type: "remove", bunkerPubkey: notice.value },
        );
        return;
      }
      case "a": {
        // Created, changed, a client connected or logged out: live → upsert, else no longer live.
        if (await this.#local.upserted(notice.value)) return;
        const record = await this.#reads.get(notice.value);
        if (record) this.#local.removed(record.bunkerPubkey);
        return;
      }
      case "p":
        await this.#local.policyChanged(notice.value);
        return;
      case "u":
        await this.#local.accountChanged(notice.value);
        return;
    }
  }

  /** Stops sending again. */
  [Symbol.dispose](): void {
    this.#timers.clearTimeout(this.#resendTimer);
  }
}

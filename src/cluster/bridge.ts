/**
 * The authorization channel across instances. Every command an instance sends its own listener
 * after a committed write is also sent to the others with `pg_notify` — the payload is the
 * sender's id and a bunker pubkey (or, for a client's connect or logout, an authorization id),
 * never anything secret — and each receiver re-reads that bunker's authorization from the database and sends its own channel an `upsert` (live) or a
 * `remove` (revoked, expired, disabled). Reading the row instead of trusting the notice makes
 * the order of notices irrelevant: the last one read always carries the current state.
 *
 * Notifications are lost while a receiver's listening connection is down; when it comes back, the
 * receiver sends its channel a `reload`, which re-reads every live authorization.
 */
import type { AuthorizationChannel } from "../channel/channel.ts";
import type { AuthorizationCommand } from "../channel/command.ts";
import type { AuthorizationsRepo } from "../db/repos/authorizations.ts";
import type { ClientsRepo } from "../db/repos/clients.ts";
import type { Log } from "../log.ts";
import { AuthorizationChanges } from "../service/changes.ts";
import { AUTHORIZATIONS_CHANNEL, type ClusterStore } from "./store.ts";

/** Most notices waiting to be applied; past it they collapse into one reload. */
const MAX_QUEUED = 10_000;

const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** One notice from another instance: a bunker, an authorization's clients, or everything. */
type Notice = { kind: "b" | "a"; value: string } | { kind: "reload" };

/** Sends changes to this instance's channel and, by notification, to every other instance. */
export class ClusterChanges extends AuthorizationChanges {
  readonly #announce: (bunkerPubkey: string | undefined) => void;

  constructor(
    authorizations: ConstructorParameters<typeof AuthorizationChanges>[0],
    channel: AuthorizationChannel,
    announce: (bunkerPubkey: string | undefined) => void,
  ) {
    super(authorizations, channel);
    this.#announce = announce;
  }

  protected override send(command: AuthorizationCommand): void {
    super.send(command);
    this.#announce(
      command.type === "upsert"
        ? command.authorization.bunkerPubkey
        : command.type === "remove"
        ? command.bunkerPubkey
        : undefined,
    );
  }
}

/** Counters for `/metrics`. */
export interface BridgeStats {
  /** Notices sent to the other instances. */
  sent: number;
  /** Notices from other instances applied. */
  received: number;
  /** Reloads after the listening connection came back (or the queue overflowed). */
  reloads: number;
  /** Notices that could not be sent or applied. */
  failed: number;
}

/** Both directions of the bridge for one instance. */
export class ChangeBridge {
  readonly #store: Pick<ClusterStore, "notify" | "listen">;
  readonly #self: string;
  readonly #channel: AuthorizationChannel;
  readonly #authorizations: Pick<AuthorizationsRepo, "loadActiveByBunker" | "loadActiveById">;
  readonly #log: Log;
  readonly #queue: Notice[] = [];
  #draining = false;
  #connections = 0;
  readonly stats: BridgeStats = { sent: 0, received: 0, reloads: 0, failed: 0 };

  constructor(deps: {
    store: Pick<ClusterStore, "notify" | "listen">;
    /** This instance's id: its own notices are not applied twice. */
    self: string;
    channel: AuthorizationChannel;
    authorizations: Pick<AuthorizationsRepo, "loadActiveByBunker" | "loadActiveById">;
    log: Log;
  }) {
    this.#store = deps.store;
    this.#self = deps.self;
    this.#channel = deps.channel;
    this.#authorizations = deps.authorizations;
    this.#log = deps.log;
  }

  /** Starts receiving the other instances' notices. */
  async start(): Promise<void> {
    await this.#store.listen(AUTHORIZATIONS_CHANNEL, (payload) => this.#received(payload), () => {
      // Every connection after the first follows a drop: notices may have been lost meanwhile.
      if (this.#connections++ > 0) this.#enqueue({ kind: "reload" });
    });
  }

  /** Tells the other instances that `bunkerPubkey` changed (undefined: re-read everything). */
  announce = (bunkerPubkey: string | undefined): void => {
    this.#send(bunkerPubkey === undefined ? "*" : `b ${bunkerPubkey}`);
  };

  /**
   * Wraps the listener's client writes (connect, logout) so the other instances hear of them:
   * an own-relay or HTTP request they answer needs the current client list.
   */
  clients(clients: Pick<ClientsRepo, "redeem" | "logout">): Pick<ClientsRepo, "redeem" | "logout"> {
    return {
      redeem: async (input) => {
        const result = await clients.redeem(input);
        this.#send(`a ${input.authorizationId}`);
        return result;
      },
      logout: async (authorizationId, clientPubkey) => {
        const result = await clients.logout(authorizationId, clientPubkey);
        this.#send(`a ${authorizationId}`);
        return result;
      },
    };
  }

  #send(what: string): void {
    this.stats.sent++;
    this.#store.notify(AUTHORIZATIONS_CHANNEL, `${this.#self} ${what}`).catch((error: unknown) => {
      this.stats.failed++;
      this.#log({
        level: "error",
        ns: "cluster",
        msg: "Cannot tell the other instances of a change: they see it at their next reload",
        error,
      });
    });
  }

  #received(payload: string): void {
    const [from, kind, value] = payload.split(" ");
    if (from === this.#self) return;
    if (kind === "*") this.#enqueue({ kind: "reload" });
    else if (kind === "b" && HEX64.test(value ?? "")) this.#enqueue({ kind, value: value! });
    else if (kind === "a" && UUID.test(value ?? "")) this.#enqueue({ kind, value: value! });
  }

  /** Queues a notice, applied one at a time in order; a full queue collapses into one reload. */
  #enqueue(notice: Notice): void {
    if (this.#queue.length < MAX_QUEUED) this.#queue.push(notice);
    else this.#queue.splice(0, this.#queue.length, { kind: "reload" });
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
    if (notice.kind === "reload") {
      this.stats.reloads++;
      this.#channel.send({ type: "reload" });
      return;
    }
    this.stats.received++;
    if (notice.kind === "a") {
      // A client connected or logged out: a live authorization's client list changed.
      const active = await this.#authorizations.loadActiveById(notice.value);
      if (active) this.#channel.send({ type: "upsert", authorization: active });
      return;
    }
    const active = await this.#authorizations.loadActiveByBunker(notice.value);
    this.#channel.send(
      active
        ? { type: "upsert", authorization: active }
        : { type: "remove", bunkerPubkey: notice.value },
    );
  }
}

/**
 * The test relay's state and its NIP-01 / NIP-42 message handling, independent of the network
 * server. Fault switches (drop, refuse, delay, auth) are plain methods; server.ts exposes them.
 */
import type { NostrEvent } from "nostr-tools/pure";
import { AUTH_KIND, authProblem } from "./auth.ts";
import { type ClientSocket, Connection } from "./connection.ts";
import { idProblem, isEphemeralKind, isHex64, parseEvent, signatureProblem } from "./event.ts";
import { type Filter, FilterError, matchesAny, parseFilter } from "./filters.ts";
import type { RelayOptions, RelayStats } from "./options.ts";
import { EventStore } from "./store.ts";

type Limits = Required<
  Pick<RelayOptions, "maxMessageBytes" | "maxFilters" | "maxSubscriptions" | "maxFilterValues">
>;

/** A NIP-01 relay over any set of client sockets. */
export class Relay {
  readonly #connections = new Set<Connection>();
  readonly #authedPubkeys = new Set<string>();
  readonly #store: EventStore;
  readonly #limits: Limits;
  readonly #verifySignatures: boolean;
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });
  #authRequired: boolean;
  #delayMs = 0;
  #refuseUntil = 0;
  #connectionsTotal = 0;
  #eventsReceived = 0;
  #eventsAccepted = 0;

  constructor(options: RelayOptions = {}) {
    this.#authRequired = options.authRequired ?? false;
    this.#verifySignatures = options.verifySignatures ?? true;
    this.#store = new EventStore(options.maxStoredEvents ?? 100_000);
    this.#limits = {
      maxMessageBytes: options.maxMessageBytes ?? 262_144,
      maxFilters: options.maxFilters ?? 50,
      maxSubscriptions: options.maxSubscriptions ?? 50,
      maxFilterValues: options.maxFilterValues ?? 2_000,
    };
  }

  /** Largest accepted client message, in bytes. */
  get maxMessageBytes(): number {
    return this.#limits.maxMessageBytes;
  }

  /** Registers a new client socket; call {@link disconnect} when it closes. */
  connect(socket: ClientSocket, host: string): Connection {
    const connection = new Connection(socket, host, () => this.#delayMs);
    this.#connections.add(connection);
    this.#connectionsTotal++;
    if (this.#authRequired) connection.send(["AUTH", connection.challenge]);
    return connection;
  }

  /** Forgets a closed socket and its subscriptions. */
  disconnect(connection: Connection): void {
    connection.dispose();
    this.#connections.delete(connection);
  }

  /** Handles one client message; `data` is `null` for a binary frame. */
  handleMessage(connection: Connection, data: Uint8Array | null): void {
    if (data === null) return notice(connection, "binary messages are not supported");
    if (data.byteLength > this.#limits.maxMessageBytes) {
      const limit = this.#limits.maxMessageBytes;
      return notice(
        connection,
        `message of ${data.byteLength} bytes exceeds the limit of ${limit}`,
      );
    }
    let message: unknown;
    try {
      message = JSON.parse(this.#decoder.decode(data));
    } catch (_error: unknown) {
      return notice(connection, "message is not valid UTF-8 JSON");
    }
    if (!Array.isArray(message) || typeof message[0] !== "string") {
      return notice(connection, "message must be a JSON array starting with a type string");
    }
    const [type, first, ...rest] = message;
    if (type === "EVENT") return this.#onEvent(connection, first);
    if (type === "REQ") return this.#onReq(connection, first, rest);
    if (type === "CLOSE") return this.#onClose(connection, first);
    if (type === "AUTH") return this.#onAuth(connection, first);
    notice(connection, `unknown message type "${type}"`);
  }

  /** Closes every client socket abruptly. Returns how many were open. */
  drop(): number {
    const count = this.#connections.size;
    for (const connection of [...this.#connections]) {
      connection.terminate();
      this.#connections.delete(connection);
    }
    return count;
  }

  /** Refuses new connections for the next `ms` milliseconds (0 ends a refusal). */
  refuse(ms: number): void {
    this.#refuseUntil = performance.now() + ms;
  }

  /** True while new connections are refused. */
  get refusing(): boolean {
    return performance.now() < this.#refuseUntil;
  }

  /** Delays every outgoing message by `ms` milliseconds; 0 turns the delay off. */
  delay(ms: number): void {
    this.#delayMs = ms;
  }

  /** Turns the NIP-42 requirement on or off; turning it on challenges every unauthenticated socket. */
  setAuthRequired(required: boolean): void {
    this.#authRequired = required;
    if (!required) return;
    for (const connection of this.#connections) {
      if (connection.authedPubkeys.size === 0) connection.send(["AUTH", connection.challenge]);
    }
  }

  /** Current counters. */
  stats(): RelayStats {
    let subscriptions = 0;
    for (const connection of this.#connections) subscriptions += connection.subscriptions.size;
    return {
      connections: this.#connections.size,
      connectionsTotal: this.#connectionsTotal,
      subscriptions,
      eventsReceived: this.#eventsReceived,
      eventsAccepted: this.#eventsAccepted,
      stored: this.#store.size,
      authedPubkeys: [...this.#authedPubkeys],
      authRequired: this.#authRequired,
      delayMs: this.#delayMs,
      refusing: this.refusing,
    };
  }

  #onEvent(connection: Connection, raw: unknown): void {
    this.#eventsReceived++;
    const parsed = parseEvent(raw);
    if (!parsed.ok) return rejectMalformed(connection, raw, parsed.reason);
    const { event } = parsed;
    const answer = (ok: boolean, reason: string) => connection.send(["OK", event.id, ok, reason]);
    if (this.#needsAuth(connection)) {
      return answer(false, "auth-required: authenticate with NIP-42 AUTH before publishing");
    }
    if (event.kind === AUTH_KIND) {
      return answer(false, `invalid: kind ${AUTH_KIND} is only accepted in AUTH messages`);
    }
    const problem = this.#verifySignatures ? signatureProblem(event) : idProblem(event);
    if (problem) return answer(false, `invalid: ${problem}`);
    if (this.#store.has(event.id)) return answer(true, "duplicate: already have this event");
    if (isEphemeralKind(event.kind)) this.#store.remember(event.id);
    else this.#store.add(event);
    this.#eventsAccepted++;
    answer(true, "");
    this.#broadcast(event);
  }

  #onReq(connection: Connection, subscriptionId: unknown, rawFilters: unknown[]): void {
    if (typeof subscriptionId !== "string" || !subscriptionId || subscriptionId.length > 64) {
      return notice(connection, "REQ subscription id must be a string of 1 to 64 characters");
    }
    const refuse = (reason: string) => {
      connection.subscriptions.delete(subscriptionId);
      connection.send(["CLOSED", subscriptionId, reason]);
    };
    const { maxFilters, maxSubscriptions, maxFilterValues } = this.#limits;
    if (this.#needsAuth(connection)) {
      return refuse("auth-required: authenticate with NIP-42 AUTH before subscribing");
    }
    if (rawFilters.length === 0) return refuse("invalid: REQ needs at least one filter");
    if (rawFilters.length > maxFilters) {
      return refuse(`invalid: REQ has ${rawFilters.length} filters, the limit is ${maxFilters}`);
    }
    const open = connection.subscriptions;
    if (!open.has(subscriptionId) && open.size >= maxSubscriptions) {
      return refuse(`error: too many open subscriptions, the limit is ${maxSubscriptions}`);
    }
    let filters: Filter[];
    try {
      filters = rawFilters.map((raw) => parseFilter(raw, maxFilterValues));
    } catch (error: unknown) {
      if (error instanceof FilterError) return refuse(`invalid: ${error.message}`);
      throw error;
    }
    open.set(subscriptionId, filters);
    const prefix = `["EVENT",${JSON.stringify(subscriptionId)},`;
    for (const event of this.#store.query(filters)) {
      connection.sendText(`${prefix}${JSON.stringify(event)}]`);
    }
    connection.send(["EOSE", subscriptionId]);
  }

  #onClose(connection: Connection, subscriptionId: unknown): void {
    if (typeof subscriptionId !== "string") {
      return notice(connection, "CLOSE subscription id must be a string");
    }
    connection.subscriptions.delete(subscriptionId);
  }

  #onAuth(connection: Connection, raw: unknown): void {
    const parsed = parseEvent(raw);
    if (!parsed.ok) return rejectMalformed(connection, raw, parsed.reason);
    const { event } = parsed;
    const nowSeconds = Math.floor(Date.now() / 1000);
    const problem = authProblem(event, connection.challenge, connection.host, nowSeconds);
    if (problem) return connection.send(["OK", event.id, false, `invalid: ${problem}`]);
    connection.authedPubkeys.add(event.pubkey);
    this.#authedPubkeys.add(event.pubkey);
    connection.send(["OK", event.id, true, ""]);
  }

  #needsAuth(connection: Connection): boolean {
    return this.#authRequired && connection.authedPubkeys.size === 0;
  }

  #broadcast(event: NostrEvent): void {
    const eventJson = JSON.stringify(event);
    for (const connection of this.#connections) {
      for (const [subscriptionId, filters] of connection.subscriptions) {
        if (!matchesAny(filters, event)) continue;
        connection.sendText(`["EVENT",${JSON.stringify(subscriptionId)},${eventJson}]`);
      }
    }
  }
}

function notice(connection: Connection, message: string): void {
  connection.send(["NOTICE", `error: ${message}`]);
}

/** Answers a malformed event with OK false when it carries a usable id, else with a NOTICE. */
function rejectMalformed(connection: Connection, raw: unknown, reason: string): void {
  const id = typeof raw === "object" && raw !== null ? (raw as { id?: unknown }).id : undefined;
  if (isHex64(id)) connection.send(["OK", id, false, `invalid: ${reason}`]);
  else connection.send(["NOTICE", `invalid: ${reason}`]);
}

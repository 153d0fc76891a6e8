/**
 * NIP-42 for one relay: signs `AUTH` events for bunker pubkeys (through the injected `signAuth`),
 * sends them and waits for the relay's OK. Each pubkey is tried at most once per challenge, and at
 * most `maxAuthPerChallenge` pubkeys per challenge, so a relay that keeps asking cannot make us sign
 * without bound. Runs on one connection are serialized.
 */
import type { Log } from "../log.ts";
import { isHex64 } from "../util/hex.ts";
import { deadline as withDeadline } from "../util/async.ts";
import type { RelayConnection } from "./connection.ts";
import { Notifier } from "./notify.ts";
import type { NostrEvent, SignAuth } from "./types.ts";
import { redactRelayUrl } from "../nostr/relay_url.ts";

/** Settings of an {@link Authenticator}. */
export interface AuthOptions {
  /** Normalized relay URL. */
  url: string;
  /** Structured logger. */
  log: Log;
  /** Signs AUTH events; without it nothing is signed. */
  signAuth?: SignAuth;
  /** Most pubkeys signed for per challenge on one connection. */
  maxAuthPerChallenge: number;
}

/** Most challenges honoured on one socket; later ones are ignored (a relay cannot make us sign forever). */
const MAX_CHALLENGES_PER_SOCKET = 5;
/** Longest challenge accepted, in characters. */
const MAX_CHALLENGE_LENGTH = 1_024;

interface State {
  session: number;
  challenge?: string;
  challenges: number;
  arrived: Notifier;
  attempted: Set<string>;
  authed: Set<string>;
  epoch: number;
  chain: Promise<unknown>;
}

/** NIP-42 bookkeeping for the connections of one relay. */
export class Authenticator {
  readonly #opts: AuthOptions;
  readonly #states = new WeakMap<RelayConnection, State>();

  /** Nothing is signed until {@link authenticate}. */
  constructor(opts: AuthOptions) {
    this.#opts = opts;
  }

  /** Grows each time a pubkey is newly accepted on `conn`; a REQ sent before may now succeed. */
  epoch(conn: RelayConnection): number {
    return this.#state(conn).epoch;
  }

  /**
   * Records a relay's `["AUTH", challenge]` for the current socket of `conn`; false (ignored) when
   * it is malformed or the socket already sent too many.
   */
  setChallenge(conn: RelayConnection, challenge: unknown): boolean {
    if (typeof challenge !== "string" || challenge.length === 0) return false;
    if (challenge.length > MAX_CHALLENGE_LENGTH) return false;
    const state = this.#state(conn);
    if (state.challenges >= MAX_CHALLENGES_PER_SOCKET) return false;
    state.challenges++;
    state.challenge = challenge;
    state.attempted.clear();
    state.authed.clear();
    state.arrived.notifyAll();
    return true;
  }

  /** True when `bunkerPubkey` is authenticated on the current socket of `conn`. */
  isAuthed(conn: RelayConnection, bunkerPubkey: string): boolean {
    return this.#state(conn).authed.has(bunkerPubkey);
  }

  /**
   * Authenticates `pubkeys` (in order, skipping ones already tried for this challenge) on `conn`,
   * waiting for a challenge until `deadline` (ms since the epoch) if none arrived yet. Resolves
   * with the number of pubkeys newly accepted; never rejects.
   */
  authenticate(
    conn: RelayConnection,
    pubkeys: Iterable<string>,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<number> {
    const state = this.#state(conn);
    const run = () => this.#run(conn, [...pubkeys], deadline, signal);
    const next = state.chain.then(run, run);
    state.chain = next.catch(() => 0);
    return next;
  }

  #state(conn: RelayConnection): State {
    let state = this.#states.get(conn);
    if (!state) {
      state = {
        session: conn.session,
        challenges: 0,
        arrived: new Notifier(),
        attempted: new Set(),
        authed: new Set(),
        epoch: 0,
        chain: Promise.resolve(),
      };
      this.#states.set(conn, state);
    }
    if (state.session !== conn.session) {
      state.session = conn.session;
      state.challenge = undefined;
      state.challenges = 0;
      state.attempted.clear();
      state.authed.clear();
    }
    return state;
  }

  async #run(
    conn: RelayConnection,
    pubkeys: string[],
    deadline: number,
    signal?: AbortSignal,
  ): Promise<number> {
    const { signAuth, log, maxAuthPerChallenge } = this.#opts;
    const url = redactRelayUrl(this.#opts.url);
    if (!signAuth) return 0;
    const session = conn.session;
    if (this.#state(conn).challenge === undefined && conn.isOpen) {
      await this.#state(conn).arrived.wait(deadline, signal);
    }
    const state = this.#state(conn);
    const challenge = state.challenge;
    if (challenge === undefined || !conn.isOpen || conn.session !== session) return 0;
    const budget = maxAuthPerChallenge - state.attempted.size;
    const wanted = [...new Set(pubkeys)].filter((pk) => !state.attempted.has(pk)).slice(
      0,
      Math.max(0, budget),
    );
    if (wanted.length === 0) return 0;
    for (const pk of wanted) state.attempted.add(pk);
    let events: NostrEvent[];
    try {
      events = await withDeadline(
        signAuth(challenge, this.#opts.url, wanted),
        Math.max(0, deadline - Date.now()),
        { signal },
      );
    } catch (error: unknown) {
      log({ level: "warn", ns: "relay.auth", msg: "Cannot sign NIP-42 AUTH", url, error });
      return 0;
    }
    if (conn.session !== session || state.challenge !== challenge || !Array.isArray(events)) {
      return 0;
    }
    const valid = events.slice(0, wanted.length).filter((ev) =>
      typeof ev === "object" && ev !== null && isHex64(ev.id) && wanted.includes(ev.pubkey)
    );
    const outcomes = await Promise.all(valid.map(async (ev) => {
      const ok = conn.okWaiters.wait(ev.id, deadline, signal);
      conn.send(JSON.stringify(["AUTH", ev]));
      return { ev, outcome: await ok };
    }));
    let accepted = 0;
    for (const { ev, outcome } of outcomes) {
      if (outcome.kind === "ok" && outcome.ok && conn.session === session) {
        state.authed.add(ev.pubkey);
        accepted++;
      } else {
        const reason = outcome.kind === "ok" ? outcome.message.slice(0, 200) : outcome.kind;
        log({
          level: "warn",
          ns: "relay.auth",
          msg: "Relay rejected NIP-42 AUTH",
          url,
          bunkerPubkey: ev.pubkey,
          reason,
        });
      }
    }
    if (accepted > 0) {
      state.epoch++;
      log({ level: "info", ns: "relay.auth", msg: "Authenticated to relay", url, accepted });
    }
    return accepted;
  }
}

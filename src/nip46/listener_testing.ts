/**
 * A {@link Listener} over fakes, for its unit tests: a signer that opens only the events it was
 * told about, a directory holding one authorization, a publisher, a clients repository and a log
 * that record everything. No workers, relays or database; the clock starts at {@link T0} and moves
 * only when a test sets `clock.ms`.
 */
import assert from "node:assert/strict";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { LogRecord } from "../log.ts";
import type { NostrEvent } from "../nostr/event.ts";
import { DecryptError, InvalidEventError } from "../signer/errors.ts";
import type {
  KeyRef,
  RejectResult,
  RespondInput,
  RespondResult,
  UnwrapResult,
} from "../signer/protocol.ts";
import {
  type Decision,
  Listener,
  type ListenerDirectory,
  type ListenerOptions,
  type ListenerPublisher,
  type ListenerSigner,
} from "./listener.ts";
import { PolicyGate } from "./policy_gate.ts";
import {
  BUNKER_PUBKEY,
  CLIENT_PUBKEY,
  FakeClients,
  recordingLog,
  requestEvent,
  T0,
  testAuthorization,
} from "./testing.ts";

/** The relay every event comes in on. */
export const RELAY_IN = "wss://in.test";
/** The event every fake reply is published as. */
export const REPLY: NostrEvent = requestEvent({ pubkey: BUNKER_PUBKEY, content: "reply" });

/** A signer that opens only the events in {@link opened}, and answers every action at once. */
export class FakeSigner implements ListenerSigner {
  /** What each event it can open holds, by event object. */
  readonly opened = new Map<unknown, UnwrapResult>();
  /** When set, every unwrap throws it. */
  unwrapError: unknown;
  /** Events whose signature is "invalid": their unwrap throws an {@link InvalidEventError}. */
  readonly forged = new Set<unknown>();
  /**
   * What the reserved lane answers for `event`. Default a reply carrying `error` and the request id
   * of the event (as {@link opened} holds it; `"r1"` for an event it does not hold), or undefined
   * when that has none.
   */
  reject: (error: string, event: unknown) => Promise<RejectResult | undefined> = (error, event) => {
    const plaintext = this.opened.get(event)?.plaintext;
    const requestId = plaintext === undefined ? "r1" : requestIdIn(plaintext);
    return Promise.resolve(
      requestId === undefined ? undefined : { event: REPLY, result: "", error, requestId },
    );
  };
  /** Every event given to `unwrapRequest`, in order. */
  readonly unwraps: unknown[] = [];
  /** Every `respond` input, in order. */
  readonly responds: RespondInput[] = [];
  /** Every `rejectRequest` call, in order. */
  readonly rejects: { bunker: KeyRef; error: string }[] = [];
  /** When set, every `respond` waits for it before answering. */
  respondGate: Promise<void> | undefined;
  /** When set, every `respond` of an action other than an error throws it. */
  respondError: unknown;

  /**
   * Opens a known event; else throws {@link unwrapError}, an {@link InvalidEventError} for a
   * {@link forged} one, or a {@link DecryptError}.
   */
  unwrapRequest(input: { bunker: KeyRef; event: unknown }): Promise<UnwrapResult> {
    this.unwraps.push(input.event);
    const unwrapped = this.opened.get(input.event);
    if (this.unwrapError !== undefined) return Promise.reject(this.unwrapError);
    if (this.forged.has(input.event)) {
      return Promise.reject(new InvalidEventError("the signature is invalid"));
    }
    return unwrapped ? Promise.resolve(unwrapped) : Promise.reject(new DecryptError("bad mac"));
  }

  /**
   * Answers {@link REPLY} with the action's result or error (`"done"` for key operations), after
   * {@link respondGate} when set; throws {@link respondError} instead when set.
   */
  async respond(input: RespondInput): Promise<RespondResult> {
    this.responds.push(input);
    await this.respondGate;
    const { action } = input;
    if (this.respondError !== undefined && action.type !== "error") throw this.respondError;
    return action.type === "error"
      ? { event: REPLY, result: "", error: action.error }
      : { event: REPLY, result: action.type === "result" ? action.result : "done" };
  }

  /** Every `signWithKey` template, in order. */
  readonly signed: unknown[] = [];

  /** Records the template and answers {@link REPLY} with its content and created_at. */
  signWithKey(input: { key: KeyRef; template: unknown }): Promise<NostrEvent> {
    this.signed.push(input.template);
    const { content, created_at: createdAt } = input.template as NostrEvent;
    return Promise.resolve({ ...REPLY, content, created_at: createdAt, id: "f".repeat(64) });
  }

  /** Records the call and answers with {@link reject}. */
  rejectRequest(
    input: { bunker: KeyRef; event: unknown; error: string },
  ): Promise<RejectResult | undefined> {
    this.rejects.push({ bunker: input.bunker, error: input.error });
    return this.reject(input.error, input.event);
  }
}

/** The string `id` of a request's plaintext, as the worker reads it; undefined when it has none. */
function requestIdIn(plaintext: string): string | undefined {
  try {
    const id = (JSON.parse(plaintext) as { id?: unknown } | null)?.id;
    return typeof id === "string" ? id : undefined;
  } catch (_error: unknown) {
    return undefined; // Not JSON: the worker finds no request id either.
  }
}

/** A publisher that records each reply with the number of decisions reported before it. */
export class FakePublisher implements ListenerPublisher {
  /** When true, every publish rejects. */
  failing = false;
  /** Every reply published, in order. */
  readonly published: { event: NostrEvent; relays: string[]; decisions: number }[] = [];

  constructor(private readonly decisions: readonly Decision[]) {}

  /** Records the reply, or rejects when {@link failing}. */
  publish(event: NostrEvent, relays: string[]): Promise<unknown> {
    if (this.failing) return Promise.reject(new Error("Cannot publish: relay closed"));
    this.published.push({ event, relays, decisions: this.decisions.length });
    return Promise.resolve([]);
  }
}

/** A listener over fakes, and everything it touched. */
export interface FakeListener {
  listener: Listener;
  signer: FakeSigner;
  clients: FakeClients;
  publisher: FakePublisher;
  /** Every log record. */
  records: LogRecord[];
  /** Every decision reported. */
  decisions: Decision[];
  /**
   * What the directory holds: a live authorization on {@link BUNKER_PUBKEY} (default) and/or a
   * tombstone, and live authorizations on other bunker pubkeys, by bunker pubkey.
   */
  state: {
    live?: ActiveAuthorization;
    tombstone?: ActiveAuthorization;
    others: Map<string, ActiveAuthorization>;
  };
  /** The listener's clock, in ms; starts at {@link T0}. */
  clock: { ms: number };
  /**
   * A request event carrying `message` (JSON unless a string) to `bunkerPubkey` (default
   * {@link BUNKER_PUBKEY}), openable by the fake signer, created at the clock's time.
   */
  request(
    message: unknown,
    clientPubkey?: string,
    content?: string,
    bunkerPubkey?: string,
  ): NostrEvent;
  /** Delivers `events` from {@link RELAY_IN} and waits until each is answered or dropped. */
  deliver(...events: unknown[]): Promise<void>;
  /** Delivers `events` from `relayUrl` and waits until each is answered or dropped. */
  deliverFrom(relayUrl: string, ...events: unknown[]): Promise<void>;
}

/** Listener options a test may set. */
export type FakeListenerOptions = Pick<
  ListenerOptions,
  "unconnectedLimits" | "replyCache" | "claims"
>;

/** Builds a {@link FakeListener}; its authorization has {@link CLIENT_PUBKEY} connected. */
export function fakeListener(options: FakeListenerOptions = {}): FakeListener {
  const clock = { ms: T0 };
  const signer = new FakeSigner();
  const clients = new FakeClients();
  const { log, records } = recordingLog();
  const decisions: Decision[] = [];
  const publisher = new FakePublisher(decisions);
  const state: FakeListener["state"] = {
    live: testAuthorization({ clients: [{ clientPubkey: CLIENT_PUBKEY, loggedOut: false }] }),
    others: new Map(),
  };
  const directory: ListenerDirectory = {
    get: (bunkerPubkey) =>
      bunkerPubkey === BUNKER_PUBKEY ? state.live : state.others.get(bunkerPubkey),
    removed: (bunkerPubkey) => bunkerPubkey === BUNKER_PUBKEY ? state.tombstone : undefined,
    setClient: (bunkerPubkey, client) => {
      const live = directory.get(bunkerPubkey);
      if (!live) return;
      const others = live.clients.filter((c) => c.clientPubkey !== client.clientPubkey);
      const updated = { ...live, clients: [...others, client] };
      if (bunkerPubkey === BUNKER_PUBKEY) state.live = updated;
      else state.others.set(bunkerPubkey, updated);
    },
  };
  const listener = new Listener({
    directory,
    signer,
    publisher,
    clients,
    policy: new PolicyGate({ now: () => clock.ms }),
    log,
    onDecision: (decision) => void decisions.push(decision),
    now: () => clock.ms,
    ...options,
  });
  return {
    listener,
    signer,
    clients,
    publisher,
    records,
    decisions,
    state,
    clock,
    request: (
      message,
      clientPubkey = CLIENT_PUBKEY,
      content = "request",
      bunker = BUNKER_PUBKEY,
    ) => {
      const createdAt = Math.floor(clock.ms / 1000);
      const tags = [["p", bunker]];
      const event = requestEvent({ pubkey: clientPubkey, content, createdAt, tags });
      signer.opened.set(event, {
        clientPubkey,
        scheme: "nip44",
        plaintext: typeof message === "string" ? message : JSON.stringify(message),
        eventId: event.id,
        createdAt: event.created_at,
      });
      return event;
    },
    deliver: (...events) => deliverFrom(RELAY_IN, ...events),
    deliverFrom,
  };

  async function deliverFrom(relayUrl: string, ...events: unknown[]): Promise<void> {
    for (const event of events) listener.handleEvent(event, relayUrl);
    await listener.drain(5_000);
    assert.equal(listener.inflight, 0, "requests still in flight");
  }
}

/** The log record of an event dropped for `reason`. */
export function droppedLine(reason: string): LogRecord {
  return { level: "debug", ns: "nip46.listener", msg: "Dropped event", reason, relayUrl: RELAY_IN };
}

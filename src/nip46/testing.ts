/**
 * Fixtures for the NIP-46 unit tests: an authorization, request events whose id matches their
 * content (the signature is not checked on the main thread), a clients repository that records
 * its calls, and a log that keeps its records. No keys, relays, workers or database.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { RedeemInput, RedeemResult } from "../db/repos/clients.ts";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { Log, LogRecord } from "../log.ts";
import { eventId, type NostrEvent } from "../nostr/event.ts";
import { NIP46_KIND } from "../nostr/kinds.ts";
import type { ListenerOptions } from "./listener_types.ts";

/** The bunker pubkey of {@link testAuthorization}. */
export const BUNKER_PUBKEY = "b".repeat(64);
/** The user pubkey of {@link testAuthorization}. */
export const USER_PUBKEY = "a".repeat(64);
/** A client pubkey. */
export const CLIENT_PUBKEY = "c".repeat(64);
/** Another client pubkey. */
export const OTHER_CLIENT_PUBKEY = "d".repeat(64);
/** A peer pubkey for encrypt and decrypt. */
export const PEER_PUBKEY = "e".repeat(64);
/** The connection secret of {@link testAuthorization}. */
export const TEST_SECRET = "test-secret";
/** A fixed clock reading, in ms (2023-11-14T22:13:20Z). */
export const T0 = 1_700_000_000_000;

/** An authorization of {@link USER_PUBKEY} on {@link BUNKER_PUBKEY}, with `overrides`. */
export function testAuthorization(
  overrides: Partial<ActiveAuthorization> = {},
): ActiveAuthorization {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    keyId: "00000000-0000-4000-8000-000000000002",
    keyName: "test",
    userPubkey: USER_PUBKEY,
    userSecretSealed: "v1.1.user",
    bunkerPubkey: BUNKER_PUBKEY,
    bunkerSecretSealed: "v1.1.bunker",
    secretHash: bytesToHex(sha256(new TextEncoder().encode(TEST_SECRET))),
    relays: ["wss://relay.test"],
    policyName: null,
    policy: null,
    maxUses: null,
    expiresAt: null,
    clients: [],
    ...overrides,
  };
}

/** Fields of {@link requestEvent}; all optional. */
export interface RequestEventFields {
  /** Author. Default {@link CLIENT_PUBKEY}. */
  pubkey?: string;
  /** `created_at` in Unix seconds. Default {@link T0} in seconds. */
  createdAt?: number;
  /** Default one `p` tag naming {@link BUNKER_PUBKEY}. */
  tags?: string[][];
  /** Default `"request"`. */
  content?: string;
  /** Default {@link NIP46_KIND}. */
  kind?: number;
}

/** A request event whose id is the hash of its content, with a dummy signature. */
export function requestEvent(fields: RequestEventFields = {}): NostrEvent {
  const pubkey = fields.pubkey ?? CLIENT_PUBKEY;
  const template = {
    created_at: fields.createdAt ?? T0 / 1000,
    kind: fields.kind ?? NIP46_KIND,
    tags: fields.tags ?? [["p", BUNKER_PUBKEY]],
    content: fields.content ?? "request",
  };
  return { ...template, pubkey, id: eventId(pubkey, template), sig: "f".repeat(128) };
}

/** A clients repository that records its calls; `down` makes it fail like an unreachable database. */
export class FakeClients implements Pick<ListenerOptions["clients"], "redeem" | "logout"> {
  /** What `redeem` answers. Default `redeemed`. */
  redeemResult: RedeemResult = { status: "redeemed" };
  /** When true, every call rejects. */
  down = false;
  /** Every `redeem` input, in order. */
  readonly redeemed: RedeemInput[] = [];
  /** Every `logout` call as `[authorizationId, clientPubkey]`, in order. */
  readonly loggedOut: [string, string][] = [];

  /** Records `input` and answers {@link redeemResult}. */
  redeem(input: RedeemInput): Promise<RedeemResult> {
    this.redeemed.push(input);
    return this.#answer(this.redeemResult);
  }

  /** Records the call and answers true. */
  logout(authorizationId: string, clientPubkey: string): Promise<boolean> {
    this.loggedOut.push([authorizationId, clientPubkey]);
    return this.#answer(true);
  }

  #answer<T>(value: T): Promise<T> {
    return this.down
      ? Promise.reject(new Error("Cannot reach the database: connection refused"))
      : Promise.resolve(value);
  }
}

/** A log that keeps every record in `records`. */
export function recordingLog(): { log: Log; records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { log: (record) => void records.push(record), records };
}

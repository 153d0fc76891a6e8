/**
 * The crypto a signer worker runs, independent of the `Worker` global so it can be tested and
 * benchmarked on the main thread. One {@link SignerCore} lives in each worker.
 *
 * Caches, both bounded LRUs private to the worker:
 * - opened keys ({@link KeyCache}): scalar and x-only public key precomputed per key.
 * - pair ciphers: `own pubkey + peer pubkey` → {@link PairCipher} (ECDH x and NIP-44 conversation
 *   key). The pool routes each (key, peer) pair to the same worker so these hit.
 * - request signers ({@link SchnorrVerifier}): a client's lifted public key with a window table,
 *   so verifying its later requests skips the square root and most of the multiplication.
 */
import { hexToBytes } from "@noble/hashes/utils.js";
import {
  EventShapeError,
  type EventTemplate,
  type NostrEvent,
  parseEventTemplate,
  parseSignedEvent,
} from "../nostr/event.ts";
import { encrypt as encryptNip49 } from "nostr-tools/nip49";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { isHex64 } from "../util/hex.ts";
import { type Vault, VaultError } from "../vault/vault.ts";
import { detectScheme, isScheme, NIP44_MAX_PLAINTEXT_BYTES, PairCipher } from "./ciphers.ts";
import { InvalidEventError, InvalidJobError, KeyUnavailableError } from "./errors.ts";
import { checkKeyRef, KeyCache } from "./keys.ts";
import { checkEvent, signEvent } from "./events.ts";
import { LruCache } from "./lru.ts";
import { SchnorrVerifier } from "./verifier.ts";
import type {
  KeyRef,
  RejectJob,
  RejectResult,
  RespondJob,
  RespondResult,
  UnwrapJob,
  UnwrapResult,
} from "./protocol.ts";
import type { SchnorrKey } from "./schnorr.ts";
import { type ActionReply, runAction } from "./actions.ts";
import { NIP46_KIND } from "../nostr/kinds.ts";
import { MAX_REQUEST_CONTENT_CHARS } from "../nostr/nip46.ts";

const MAX_REQUEST_TAGS = 256;
/** scrypt cost range of an export: NIP-49 suggests 16 and up; 18 (256 MiB) is the ceiling. */
const MIN_EXPORT_LOG_N = 16;
const MAX_EXPORT_LOG_N = 18;
const MAX_EXPORT_PASSWORD_CHARS = 1_024;
const MAX_REQUEST_ID_LENGTH = 4_096;
const encoder = new TextEncoder();

/** Options of {@link SignerCore}. */
export interface SignerCoreOptions {
  /** Opened keys kept per worker. Default 4096. */
  keyCacheSize?: number;
  /** ECDH pair ciphers kept per worker; 0 disables the cache. Default 8192. */
  pairCacheSize?: number;
  /** Client pubkeys kept with a precomputed verification table (~100 KB each); 0 disables. Default 256. */
  verifierCacheSize?: number;
}

/** Verifies, decrypts, signs and encrypts with sealed keys opened through one {@link Vault}. */
export class SignerCore {
  readonly #vault: Vault;
  readonly #keys: KeyCache;
  readonly #pairs: LruCache<string, PairCipher>;
  readonly #verifier: SchnorrVerifier;

  /** Opens keys with `vault`; cache sizes from `options`. */
  constructor(vault: Vault, options: SignerCoreOptions = {}) {
    this.#vault = vault;
    this.#keys = new KeyCache(vault, options.keyCacheSize ?? 4_096);
    this.#pairs = new LruCache(options.pairCacheSize ?? 8_192);
    this.#verifier = new SchnorrVerifier({ capacity: options.verifierCacheSize ?? 256 });
  }

  /** Validates, verifies and decrypts a NIP-46 request addressed to `job.bunker`. */
  async unwrap(job: Omit<UnwrapJob, "op">): Promise<UnwrapResult> {
    const bunkerRef = checkKeyRef(job.bunker, "bunker");
    let event: NostrEvent;
    try {
      event = parseSignedEvent(job.event, {
        maxContentLength: MAX_REQUEST_CONTENT_CHARS,
        maxTags: MAX_REQUEST_TAGS,
      });
    } catch (error) {
      if (error instanceof EventShapeError) throw new InvalidEventError(error.message);
      throw error;
    }
    if (event.kind !== NIP46_KIND) {
      throw new InvalidEventError(
        `Cannot accept event kind "${event.kind}": expected ${NIP46_KIND}`,
      );
    }
    if (!event.tags.some((tag) => tag[0] === "p" && tag[1] === bunkerRef.pubkey)) {
      throw new InvalidEventError(
        `Cannot accept event "${event.id}": it has no p tag for bunker "${bunkerRef.pubkey}"`,
      );
    }
    const check = checkEvent(event, this.#verifier);
    if (check === "id_mismatch") {
      throw new InvalidEventError(
        `Cannot accept event "${event.id}": the id does not match its content`,
      );
    }
    if (check === "bad_signature") {
      throw new InvalidEventError(`Cannot accept event "${event.id}": the signature is invalid`);
    }
    const bunker = await this.#keys.get(bunkerRef);
    const scheme = detectScheme(event.content);
    const plaintext = this.pair(bunker, event.pubkey).decrypt(scheme, event.content);
    return {
      clientPubkey: event.pubkey,
      scheme,
      plaintext,
      eventId: event.id,
      createdAt: event.created_at,
    };
  }

  /** Runs `job.action` and returns the encrypted, signed NIP-46 reply. */
  async respond(job: Omit<RespondJob, "op">): Promise<RespondResult> {
    const bunkerRef = checkKeyRef(job.bunker, "bunker");
    const { clientPubkey, scheme, requestId, createdAt } = job;
    if (!isHex64(clientPubkey)) {
      throw new InvalidJobError(`Cannot reply to client "${clip(clientPubkey)}"`);
    }
    if (!isScheme(scheme)) throw new InvalidJobError(`Cannot reply with scheme "${clip(scheme)}"`);
    if (typeof requestId !== "string" || requestId.length > MAX_REQUEST_ID_LENGTH) {
      throw new InvalidJobError(`Cannot reply to request id "${clip(requestId)}"`);
    }
    if (!Number.isSafeInteger(createdAt) || createdAt < 0) {
      throw new InvalidJobError(`Cannot use reply created_at "${clip(createdAt)}"`);
    }
    const bunker = await this.#keys.get(bunkerRef);
    let reply = await runAction(job.action, this);
    let payload = replyPayload(requestId, reply);
    const size = encoder.encode(payload).length;
    if (size > NIP44_MAX_PLAINTEXT_BYTES) {
      const error =
        `invalid: reply of ${size} bytes exceeds the ${NIP44_MAX_PLAINTEXT_BYTES}-byte limit`;
      reply = { result: "", error };
      payload = replyPayload(requestId, reply);
    }
    let cipher: PairCipher;
    try {
      cipher = this.pair(bunker, clientPubkey);
    } catch (error) {
      throw new InvalidJobError(
        `Cannot reply to client "${clientPubkey}": ${(error as Error).message}`,
      );
    }
    const event = signEvent(bunker, {
      kind: NIP46_KIND,
      created_at: createdAt,
      tags: [["p", clientPubkey]],
      content: cipher.encrypt(scheme, payload),
    });
    return reply.error === undefined ? { event, result: reply.result } : { event, ...reply };
  }

  /**
   * Verifies and decrypts a request like {@link unwrap}, then answers it with `job.error`; the
   * result names the request id it echoes. `undefined` when the plaintext carries no request id
   * (nothing to answer).
   */
  async reject(job: Omit<RejectJob, "op">): Promise<RejectResult | undefined> {
    const request = await this.unwrap(job);
    const requestId = requestIdOf(request.plaintext);
    if (requestId === undefined) return undefined;
    const reply = await this.respond({
      bunker: job.bunker,
      clientPubkey: request.clientPubkey,
      scheme: request.scheme,
      requestId,
      action: { type: "error", error: job.error },
      createdAt: job.createdAt,
    });
    return { ...reply, requestId };
  }

  /**
   * Runs a key action (sign_event, encrypt, decrypt) with no NIP-46 reply around it, for HTTP
   * signing: its `result`, or `error` (`invalid: …`) when the client's input was at fault.
   */
  async perform(action: unknown): Promise<ActionReply> {
    const type = (action as { type?: unknown } | null)?.type;
    if (type !== "sign_event" && type !== "encrypt" && type !== "decrypt") {
      throw new InvalidJobError(`Cannot perform action "${clip(type)}": it uses no key`);
    }
    return await runAction(action, this);
  }

  /** Signs a template built by keycast itself (AUTH, pairing); a bad template is a caller bug. */
  async signWithKey(keyRef: KeyRef, template: unknown): Promise<NostrEvent> {
    const key = await this.#keys.get(checkKeyRef(keyRef, "signing"));
    let parsed: EventTemplate;
    try {
      parsed = parseEventTemplate(template);
    } catch (error) {
      if (error instanceof EventShapeError) throw new InvalidJobError(error.message);
      throw error;
    }
    return signEvent(key, parsed);
  }

  /** A fresh key: its pubkey and its secret sealed by the vault (the secret is then zeroed). */
  async generateKey(): Promise<{ pubkey: string; sealed: string }> {
    const secret = generateSecretKey();
    try {
      const pubkey = getPublicKey(secret);
      return { pubkey, sealed: await this.#vault.seal(secret, pubkey) };
    } finally {
      secret.fill(0);
    }
  }

  /**
   * The key `ref` encrypted with `password` as NIP-49 `ncryptsec` (scrypt cost 2^`logN`, key
   * security byte 0x02: "not known"). The opened secret is zeroed afterwards.
   */
  async exportKey(ref: KeyRef, password: string, logN: number): Promise<string> {
    const keyRef = checkKeyRef(ref, "exported");
    if (!Number.isSafeInteger(logN) || logN < MIN_EXPORT_LOG_N || logN > MAX_EXPORT_LOG_N) {
      throw new InvalidJobError(
        `Cannot export with scrypt cost 2^${
          clip(logN)
        }: use ${MIN_EXPORT_LOG_N} to ${MAX_EXPORT_LOG_N}`,
      );
    }
    if (password.length === 0 || password.length > MAX_EXPORT_PASSWORD_CHARS) {
      throw new InvalidJobError(
        `Cannot export with a password of ${password.length} characters: use 1 to ${MAX_EXPORT_PASSWORD_CHARS}`,
      );
    }
    let secret: Uint8Array;
    try {
      secret = await this.#vault.open(keyRef.sealed, keyRef.pubkey);
    } catch (error) {
      const reason = error instanceof VaultError ? error.message : "unexpected error";
      throw new KeyUnavailableError(`Cannot open the sealed key of "${keyRef.pubkey}": ${reason}`);
    }
    try {
      if (getPublicKey(secret) !== keyRef.pubkey) {
        throw new KeyUnavailableError(
          `Cannot export the key of "${keyRef.pubkey}": the sealed secret belongs to another key`,
        );
      }
      return encryptNip49(secret, password, logN, 0x02);
    } finally {
      secret.fill(0);
    }
  }

  /** The opened key for `ref` (from the cache when possible); validates `ref` first. */
  key(ref: unknown, role: string): Promise<SchnorrKey> {
    return this.#keys.get(checkKeyRef(ref, role));
  }

  /** The cipher between `own` and the 64-hex `peerPubkey`; throws when the peer is not a curve point. */
  pair(own: SchnorrKey, peerPubkey: string): PairCipher {
    const cacheKey = own.publicKeyHex + peerPubkey;
    let cipher = this.#pairs.get(cacheKey);
    if (!cipher) {
      cipher = new PairCipher(own.sharedSecretX(hexToBytes(peerPubkey)));
      this.#pairs.set(cacheKey, cipher);
    }
    return cipher;
  }
}

function requestIdOf(plaintext: string): string | undefined {
  try {
    const id = (JSON.parse(plaintext) as { id?: unknown } | null)?.id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined; // Not JSON: there is no request id to answer.
  }
}

function replyPayload(requestId: string, reply: { result: string; error?: string }): string {
  return JSON.stringify(
    reply.error === undefined
      ? { id: requestId, result: reply.result }
      : { id: requestId, result: reply.result, error: reply.error },
  );
}

function clip(value: unknown): string {
  const text = String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

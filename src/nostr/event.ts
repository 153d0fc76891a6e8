/**
 * Nostr event shapes (NIP-01): validation of untrusted events and templates, canonical
 * serialization and the event id hash. Pure functions with no I/O, shared by the signer workers and
 * the NIP-46 engine.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { isHex64 } from "../util/hex.ts";
import { isKind } from "./kinds.ts";

/** A signed Nostr event as it travels on relays. */
export interface NostrEvent {
  /** Lowercase hex SHA-256 of the canonical serialization (64 chars). */
  id: string;
  /** Lowercase hex x-only public key of the author (64 chars). */
  pubkey: string;
  /** Unix time in seconds. */
  created_at: number;
  /** Event kind, 0..65535. */
  kind: number;
  /** Tags, each a list of strings. */
  tags: string[][];
  /** Free text content. */
  content: string;
  /** Lowercase hex BIP340 signature of the id (128 chars). */
  sig: string;
}

/** The fields a signer needs to produce an event; `pubkey`, `id` and `sig` are computed. */
export interface EventTemplate {
  /** Unix time in seconds. */
  created_at: number;
  /** Event kind, 0..65535. */
  kind: number;
  /** Tags, each a list of strings. */
  tags: string[][];
  /** Free text content. */
  content: string;
}

/** Limits applied while validating an untrusted event. */
export interface EventLimits {
  /** Longest accepted `content`, in UTF-16 code units. Default: no limit. */
  maxContentLength?: number;
  /** Most tags accepted. Default: no limit. */
  maxTags?: number;
}

/** Raised when a value is not a well-formed event or template; the message says which field. */
export class EventShapeError extends Error {
  override name = "EventShapeError";
}

const HEX_128 = /^[0-9a-f]{128}$/;
const encoder = new TextEncoder();

/** True for a 128-character lowercase hex string (BIP340 signatures). */
export function isHex128(value: unknown): value is string {
  return typeof value === "string" && HEX_128.test(value);
}

/** Checks and copies the template fields of `value`; extra fields (`pubkey`, `id`, `sig`) are dropped. */
export function parseEventTemplate(value: unknown, limits: EventLimits = {}): EventTemplate {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new EventShapeError(`Cannot use event: expected an object, got ${describe(value)}`);
  }
  const record = value as Record<string, unknown>;
  const { kind, created_at: createdAt, content } = record;
  if (!isKind(kind)) {
    throw new EventShapeError(
      `Cannot use event kind "${String(kind)}": expected an integer 0..65535`,
    );
  }
  if (typeof createdAt !== "number" || !Number.isSafeInteger(createdAt) || createdAt < 0) {
    throw new EventShapeError(
      `Cannot use event created_at "${String(createdAt)}": expected a non-negative integer`,
    );
  }
  if (typeof content !== "string") {
    throw new EventShapeError(
      `Cannot use event content: expected a string, got ${describe(content)}`,
    );
  }
  if (limits.maxContentLength !== undefined && content.length > limits.maxContentLength) {
    throw new EventShapeError(
      `Cannot use event content of ${content.length} chars: the limit is ${limits.maxContentLength}`,
    );
  }
  return { kind, created_at: createdAt, tags: parseTags(record.tags, limits.maxTags), content };
}

/** Checks the shape of a signed event (not its id or signature) and returns a clean copy. */
export function parseSignedEvent(value: unknown, limits: EventLimits = {}): NostrEvent {
  const template = parseEventTemplate(value, limits);
  const { id, pubkey, sig } = value as Record<string, unknown>;
  if (!isHex64(id)) {
    throw new EventShapeError(`Cannot use event id "${clip(id)}": expected 64 hex chars`);
  }
  if (!isHex64(pubkey)) {
    throw new EventShapeError(`Cannot use event pubkey "${clip(pubkey)}": expected 64 hex chars`);
  }
  if (!isHex128(sig)) {
    throw new EventShapeError(`Cannot use event sig "${clip(sig)}": expected 128 hex chars`);
  }
  return { id, pubkey, sig, ...template };
}

/** The NIP-01 canonical serialization `[0, pubkey, created_at, kind, tags, content]`. */
export function serializeEvent(pubkey: string, template: EventTemplate): string {
  return JSON.stringify([
    0,
    pubkey,
    template.created_at,
    template.kind,
    template.tags,
    template.content,
  ]);
}

/** The 32-byte event id: SHA-256 of the canonical serialization. */
export function eventIdBytes(pubkey: string, template: EventTemplate): Uint8Array {
  return sha256(encoder.encode(serializeEvent(pubkey, template)));
}

/** The event id as lowercase hex. */
export function eventId(pubkey: string, template: EventTemplate): string {
  return bytesToHex(eventIdBytes(pubkey, template));
}

function parseTags(value: unknown, maxTags: number | undefined): string[][] {
  if (!Array.isArray(value)) {
    throw new EventShapeError(`Cannot use event tags: expected an array, got ${describe(value)}`);
  }
  if (maxTags !== undefined && value.length > maxTags) {
    throw new EventShapeError(`Cannot use ${value.length} event tags: the limit is ${maxTags}`);
  }
  const tags: string[][] = [];
  for (const [index, tag] of value.entries()) {
    if (!Array.isArray(tag) || !tag.every((item) => typeof item === "string")) {
      throw new EventShapeError(`Cannot use event tag ${index}: expected an array of strings`);
    }
    tags.push([...tag]);
  }
  return tags;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : typeof value;
}

function clip(value: unknown): string {
  const text = String(value);
  return text.length > 140 ? `${text.slice(0, 140)}…` : text;
}

/**
 * NIP-46 message shapes and their validation. A request is `{id, method, params}` with string
 * params; a reply is `{id, result, error?}`. Failure replies always carry `result: ""` and an error
 * with a stable prefix (docs/ARCHITECTURE.md, "What clients need"), so clients can tell why
 * they were refused.
 */

/** Largest decrypted request we parse, in UTF-16 units (NIP-44 caps plaintext at 65,535 bytes). */
export const MAX_REQUEST_CHARS = 65_536;
/** Longest request id we accept; ids are opaque strings, unique per client. */
export const MAX_REQUEST_ID_CHARS = 128;
/** Most params a request may carry (connect has at most 4). */
export const MAX_PARAMS = 8;

/** A validated request. */
export interface Nip46Request {
  id: string;
  method: string;
  params: string[];
}

/** Stable error prefixes of failure replies. */
export type ErrorPrefix =
  | "unauthorized"
  | "forbidden"
  | "rate-limited"
  | "unsupported"
  | "invalid"
  | "overloaded"
  | "expired"
  | "revoked";

/** Builds `"<prefix>: <detail>"`. */
export function errorReason(prefix: ErrorPrefix, detail: string): string {
  return `${prefix}: ${detail}`;
}

/** Outcome of {@link parseRequest}: a request, or an error to send back (when the id is known). */
export type ParsedRequest =
  | { ok: true; request: Nip46Request }
  | { ok: false; id: string | undefined; error: string };

/**
 * Parses decrypted request text. Without a usable `id` there is nothing to answer, so `id` is
 * undefined and the caller drops the request; otherwise the error is sent back as `invalid: …`.
 */
export function parseRequest(plaintext: string): ParsedRequest {
  if (plaintext.length > MAX_REQUEST_CHARS) {
    return { ok: false, id: undefined, error: errorReason("invalid", "request too large") };
  }
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    return { ok: false, id: undefined, error: errorReason("invalid", "request is not JSON") };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, id: undefined, error: errorReason("invalid", "request is not an object") };
  }
  const { id, method, params } = value as Record<string, unknown>;
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_REQUEST_ID_CHARS) {
    return { ok: false, id: undefined, error: errorReason("invalid", "request id is missing") };
  }
  if (typeof method !== "string" || method.length === 0 || method.length > 64) {
    return { ok: false, id, error: errorReason("invalid", "method must be a non-empty string") };
  }
  const list = params ?? [];
  if (!Array.isArray(list) || list.length > MAX_PARAMS) {
    return {
      ok: false,
      id,
      error: errorReason("invalid", `params must be an array of at most ${MAX_PARAMS} strings`),
    };
  }
  if (!list.every((param) => typeof param === "string")) {
    return { ok: false, id, error: errorReason("invalid", "every param must be a string") };
  }
  return { ok: true, request: { id, method, params: list as string[] } };
}

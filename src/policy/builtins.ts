/**
 * The built-in policies (documented in `document.ts`). Plain, deeply frozen JSON: the admin API
 * stores them as policy rows and compares them with what is stored.
 */
import type { PolicyDocument } from "./document.ts";
import { KEY_METHODS, READ_ONLY_METHODS } from "../nostr/nip46.ts";

/** Kinds a social client signs: notes, DMs, reposts, reactions, comments, zaps, highlights, articles. */
const SOCIAL_KINDS = [1, 4, 6, 7, 13, 14, 16, 1059, 1111, 9734, 9802, 30023];

/** The built-in policies by name. */
export const BUILTIN_POLICIES: Readonly<Record<"full" | "social" | "read-only", PolicyDocument>> =
  deepFreeze({
    "full": {},
    "social": {
      methods: [...KEY_METHODS],
      kinds: SOCIAL_KINDS,
      rate_limits: { per_client: { per_minute: 600, burst: 120 } },
    },
    "read-only": { methods: [...READ_ONLY_METHODS] },
  });

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

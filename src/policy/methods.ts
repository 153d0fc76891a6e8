/** The NIP-46 methods a policy can name; the table itself lives in `src/nostr/nip46.ts`. */
export {
  isNip46Method as isKnownMethod,
  KEY_METHODS,
  READ_ONLY_METHODS,
  SESSION_METHODS,
} from "../nostr/nip46.ts";

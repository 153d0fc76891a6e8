/**
 * The NIP-46 methods keycast answers, in one table that protocol parsing, policy validation, the
 * built-in policies, dispatch, HTTP signing and metrics labels all read. Adding a method is one
 * entry here; the compiler then asks for its handler in `src/nip46/methods.ts`.
 */

/** Largest request event `content` accepted, in UTF-16 code units (relays cap events at 64 KiB). */
export const MAX_REQUEST_CONTENT_CHARS = 65_536;

/** The shape of a method's string params, checked before dispatch. */
export type ParamsShape =
  /** Anything: the params are ignored. */
  | "none"
  /** `[remote pubkey or "", secret?, perms?, metadata?]`. */
  | "connect"
  /** `[event template as JSON]`. */
  | "event"
  /** `[peer hex pubkey, text]`. */
  | "peer_text";

/** What keycast knows about one method. */
export interface MethodSpec {
  /** The method uses the user's secret key (a policy's `methods` list chooses among these). */
  readonly usesKey: boolean;
  /** Answered before the client has connected (`connect` itself, `ping`). */
  readonly beforeConnect: boolean;
  /** Allowed to read-only sessions: uses no key, or only decrypts. */
  readonly readOnly: boolean;
  /** The params it takes. */
  readonly params: ParamsShape;
  /** Offered over HTTP signing (`POST /api/nostr`) as well as NIP-46. */
  readonly http: boolean;
}

/** Every method keycast answers. */
export const NIP46_METHODS = {
  connect: { usesKey: false, beforeConnect: true, readOnly: true, params: "connect", http: false },
  ping: { usesKey: false, beforeConnect: true, readOnly: true, params: "none", http: true },
  get_public_key: {
    usesKey: false,
    beforeConnect: false,
    readOnly: true,
    params: "none",
    http: true,
  },
  switch_relays: {
    usesKey: false,
    beforeConnect: false,
    readOnly: true,
    params: "none",
    http: false,
  },
  /** Legacy name of `switch_relays`, still sent by some clients. */
  get_relays: { usesKey: false, beforeConnect: false, readOnly: true, params: "none", http: false },
  logout: { usesKey: false, beforeConnect: false, readOnly: true, params: "none", http: false },
  sign_event: { usesKey: true, beforeConnect: false, readOnly: false, params: "event", http: true },
  nip04_encrypt: {
    usesKey: true,
    beforeConnect: false,
    readOnly: false,
    params: "peer_text",
    http: true,
  },
  nip04_decrypt: {
    usesKey: true,
    beforeConnect: false,
    readOnly: true,
    params: "peer_text",
    http: true,
  },
  nip44_encrypt: {
    usesKey: true,
    beforeConnect: false,
    readOnly: false,
    params: "peer_text",
    http: true,
  },
  nip44_decrypt: {
    usesKey: true,
    beforeConnect: false,
    readOnly: true,
    params: "peer_text",
    http: true,
  },
} as const satisfies Record<string, MethodSpec>;

/** A method keycast answers. */
export type Nip46Method = keyof typeof NIP46_METHODS;

/** Every method name, in table order. */
export const METHOD_NAMES: readonly Nip46Method[] = Object.freeze(
  Object.keys(NIP46_METHODS) as Nip46Method[],
);

/** Methods that use no secret key: always allowed, whatever a policy's `methods` says. */
export const SESSION_METHODS: readonly Nip46Method[] = Object.freeze(
  METHOD_NAMES.filter((name) => !NIP46_METHODS[name].usesKey),
);

/** Methods that use the user's secret key. */
export const KEY_METHODS: readonly Nip46Method[] = Object.freeze(
  METHOD_NAMES.filter((name) => NIP46_METHODS[name].usesKey),
);

/** Methods a read-only session may call: the session methods and decrypting. */
export const READ_ONLY_METHODS: readonly Nip46Method[] = Object.freeze(
  METHOD_NAMES.filter((name) => NIP46_METHODS[name].readOnly),
);

/** Whether `method` names a peer pubkey in its params (encrypt and decrypt). */
export function takesPeer(method: string): boolean {
  return isNip46Method(method) && NIP46_METHODS[method].params === "peer_text";
}

/** Whether `method` is one keycast answers. */
export function isNip46Method(method: unknown): method is Nip46Method {
  return typeof method === "string" && Object.hasOwn(NIP46_METHODS, method);
}

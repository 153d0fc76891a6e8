/**
 * Method dispatch: turns a validated request from a live authorization into the reply action the
 * signer runs. The method table (`src/nostr/nip46.ts`) says which methods exist, which may be
 * called before `connect` and what params each takes; {@link HANDLERS} holds one handler per
 * method, and the compiler refuses a table entry without one. Pure apart from the connect/logout
 * database writes, which go through `clients`.
 */
import type { ActiveAuthorization, AuthorizedClient } from "../domain/authorization.ts";
import type { ClientsRepo } from "../db/repos/clients.ts";
import { isKind } from "../nostr/kinds.ts";
import {
  isNip46Method,
  NIP46_METHODS,
  type Nip46Method,
  type ParamsShape,
} from "../nostr/nip46.ts";
import type { KeyRef, ReplyAction } from "../signer/protocol.ts";
import { isHex64 } from "../util/hex.ts";
import { connectClient, isConnected } from "./connect.ts";
import { errorReason, type Nip46Request } from "./protocol.ts";

/** What a handled request produces: the action and, when the authorization changed, its new value. */
export interface Dispatch {
  action: ReplyAction;
  /**
   * Set by connect/logout: this client's new entry. Only the entry travels, so concurrent
   * connects (and policy updates arriving meanwhile) are merged into the newest authorization
   * instead of overwriting each other.
   */
  client?: AuthorizedClient;
  /** Event kind for sign_event (for policy and audit). */
  kind?: number;
}

/** Dependencies of {@link dispatch}. */
export interface DispatchDeps {
  clients: Pick<ClientsRepo, "redeem" | "logout">;
  /**
   * The relays `switch_relays` answers with: keycast's own endpoint first when advertised, then
   * the authorization's. Default the authorization's relays.
   */
  servedRelays?: (authorization: ActiveAuthorization) => string[];
}

/** A request's params, checked against the shape its method takes. */
export type Params =
  | { shape: "none" | "connect"; list: readonly string[] }
  | { shape: "event"; template: string; kind: number }
  | { shape: "peer_text"; peer: string; text: string };

/** One call, as a handler sees it. */
interface Call {
  deps: DispatchDeps;
  authorization: ActiveAuthorization;
  clientPubkey: string;
  method: Nip46Method;
  params: Params;
  /** The user key, sealed. */
  user: KeyRef;
}

type Handler = (call: Call) => Dispatch | Promise<Dispatch>;

const encryptOrDecrypt: Handler = ({ method, params, user }) => {
  if (params.shape !== "peer_text") return fail(errorReason("invalid", `${method} needs a peer`));
  const { peer, text } = params;
  const scheme = method.startsWith("nip04") ? "nip04" : "nip44";
  return method.endsWith("encrypt")
    ? { action: { type: "encrypt", scheme, user, peer, plaintext: text } }
    : { action: { type: "decrypt", scheme, user, peer, ciphertext: text } };
};

const relayList: Handler = ({ deps, authorization }) =>
  ok(JSON.stringify(deps.servedRelays?.(authorization) ?? authorization.relays));

/** The handler of every method in the table. */
const HANDLERS: Record<Nip46Method, Handler> = {
  connect: async ({ deps, authorization, clientPubkey, params }) => {
    const list = params.shape === "connect" ? params.list : [];
    const outcome = await connectClient(deps.clients, authorization, clientPubkey, list);
    return outcome.ok
      ? {
        action: { type: "result", result: outcome.result },
        client: { clientPubkey, loggedOut: false },
      }
      : fail(outcome.error);
  },
  ping: () => ok("pong"),
  get_public_key: ({ authorization }) => ok(authorization.userPubkey),
  switch_relays: relayList,
  get_relays: relayList,
  logout: async ({ deps, authorization, clientPubkey }) => {
    await deps.clients.logout(authorization.id, clientPubkey);
    return {
      action: { type: "result", result: "ack" },
      client: { clientPubkey, loggedOut: true },
    };
  },
  sign_event: ({ params, user }) => {
    if (params.shape !== "event") return fail(errorReason("invalid", "sign_event needs an event"));
    return { action: { type: "sign_event", user, template: params.template }, kind: params.kind };
  },
  nip04_encrypt: encryptOrDecrypt,
  nip04_decrypt: encryptOrDecrypt,
  nip44_encrypt: encryptOrDecrypt,
  nip44_decrypt: encryptOrDecrypt,
};

/** How {@link dispatch} treats the caller. */
export interface DispatchOptions {
  /**
   * The caller is bound to the authorization by other means than `connect` (an HTTP signing
   * grant), so the connection check is skipped. Default false.
   */
  bound?: boolean;
}

/** Chooses the reply for `request` from `clientPubkey` on a live `authorization`. */
export async function dispatch(
  deps: DispatchDeps,
  authorization: ActiveAuthorization,
  clientPubkey: string,
  request: Nip46Request,
  options: DispatchOptions = {},
): Promise<Dispatch> {
  const { method, params } = request;
  if (!isNip46Method(method)) return fail(errorReason("unsupported", method.slice(0, 64)));
  const spec = NIP46_METHODS[method];
  if (!spec.beforeConnect && !options.bound && !isConnected(authorization, clientPubkey)) {
    return fail(errorReason("unauthorized", "connect with the connection secret first"));
  }
  const parsed = parseParams(method, spec.params, params);
  if (!parsed.ok) return fail(errorReason("invalid", parsed.problem));
  const user: KeyRef = { pubkey: authorization.userPubkey, sealed: authorization.userSecretSealed };
  return await HANDLERS[method]({
    deps,
    authorization,
    clientPubkey,
    method,
    params: parsed.params,
    user,
  });
}

/** `params` read as `shape`, or why they do not fit it. */
export function parseParams(
  method: string,
  shape: ParamsShape,
  params: readonly string[],
): { ok: true; params: Params } | { ok: false; problem: string } {
  switch (shape) {
    case "none":
    case "connect":
      return { ok: true, params: { shape, list: params } };
    case "event": {
      const [template] = params;
      if (template === undefined) return { ok: false, problem: `${method} needs an event` };
      const kind = templateKind(template);
      return kind === undefined
        ? { ok: false, problem: "the event template is malformed" }
        : { ok: true, params: { shape, template, kind } };
    }
    case "peer_text": {
      const [peer, text] = params;
      return isHex64(peer) && text !== undefined
        ? { ok: true, params: { shape, peer, text } }
        : { ok: false, problem: `${method} needs [hex pubkey, text]` };
    }
  }
}

/** The `kind` of a JSON event template, or undefined when it does not parse. */
export function templateKind(template: string): number | undefined {
  try {
    const kind = (JSON.parse(template) as { kind?: unknown } | null)?.kind;
    return isKind(kind) ? kind : undefined;
  } catch (_error: unknown) {
    return undefined; // not JSON: the caller answers "malformed"
  }
}

function ok(result: string): Dispatch {
  return { action: { type: "result", result } };
}

function fail(error: string): Dispatch {
  return { action: { type: "error", error } };
}

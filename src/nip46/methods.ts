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
}

/** One call, as a handler sees it. */
interface Call {
  deps: DispatchDeps;
  authorization: ActiveAuthorization;
  clientPubkey: string;
  method: Nip46Method;
  params: readonly string[];
  /** The user key, sealed. */
  user: KeyRef;
}

type Handler = (call: Call) => Dispatch | Promise<Dispatch>;

const encryptOrDecrypt: Handler = ({ method, params, user }) => {
  const [peer, text] = params as [string, string];
  const scheme = method.startsWith("nip04") ? "nip04" : "nip44";
  return method.endsWith("encrypt")
    ? { action: { type: "encrypt", scheme, user, peer, plaintext: text } }
    : { action: { type: "decrypt", scheme, user, peer, ciphertext: text } };
};

const relayList: Handler = ({ authorization }) => ok(JSON.stringify(authorization.relays));

/** The handler of every method in the table. */
const HANDLERS: Record<Nip46Method, Handler> = {
  connect: async ({ deps, authorization, clientPubkey, params }) => {
    const outcome = await connectClient(deps.clients, authorization, clientPubkey, params);
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
    const template = params[0]!;
    return { action: { type: "sign_event", user, template }, kind: templateKind(template) };
  },
  nip04_encrypt: encryptOrDecrypt,
  nip04_decrypt: encryptOrDecrypt,
  nip44_encrypt: encryptOrDecrypt,
  nip44_decrypt: encryptOrDecrypt,
};

/** Chooses the reply for `request` from `clientPubkey` on a live `authorization`. */
export async function dispatch(
  deps: DispatchDeps,
  authorization: ActiveAuthorization,
  clientPubkey: string,
  request: Nip46Request,
): Promise<Dispatch> {
  const { method, params } = request;
  if (!isNip46Method(method)) return fail(errorReason("unsupported", method.slice(0, 64)));
  const spec = NIP46_METHODS[method];
  if (!spec.beforeConnect && !isConnected(authorization, clientPubkey)) {
    return fail(errorReason("unauthorized", "connect with the connection secret first"));
  }
  const problem = paramsProblem(method, spec.params, params);
  if (problem) return fail(errorReason("invalid", problem));
  const user: KeyRef = { pubkey: authorization.userPubkey, sealed: authorization.userSecretSealed };
  return await HANDLERS[method]({ deps, authorization, clientPubkey, method, params, user });
}

/** Why `params` do not fit `shape`, or undefined when they do. */
export function paramsProblem(
  method: string,
  shape: ParamsShape,
  params: readonly string[],
): string | undefined {
  switch (shape) {
    case "none":
    case "connect":
      return undefined;
    case "event":
      if (params.length < 1) return `${method} needs an event`;
      return templateKind(params[0]!) === undefined ? "the event template is malformed" : undefined;
    case "peer_text":
      return isHex64(params[0]) && params[1] !== undefined
        ? undefined
        : `${method} needs [hex pubkey, text]`;
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

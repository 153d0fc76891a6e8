/**
 * `GET /health` (liveness: 200 while the process serves) and `GET /health/ready` (readiness: 503
 * until the listener reports ready and the database answers). Neither needs authentication, and
 * neither reveals anything secret: counts, relay URLs and the version.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { AppEnv, SignerStatus } from "./types.ts";

/** How long `/health` waits for the database to answer, in ms. */
export const HEALTH_DB_TIMEOUT_MS = 1_000;

/** The JSON body of both health routes. */
export interface HealthBody {
  /** `ok` on `/health`; `ok` or `not_ready` on `/health/ready`. */
  status: "ok" | "not_ready";
  /** The keycast version. */
  version: string;
  /** Whether the database answered within {@link HEALTH_DB_TIMEOUT_MS}. */
  database: "ok" | "error";
  /** Listener and signing pool counters. */
  signer: {
    loaded_authorizations: number;
    pending_commands: number;
    workers: number;
    queue_depth: number;
  };
  /** Every relay the listener uses. */
  relays: { url: string; connected: boolean; subscribed: boolean }[];
  /** Audit rows buffered, dropped, refused by the database, and suppressed (see SignerStatus). */
  audit?: { buffered: number; dropped: number; rejected: number; suppressed: number };
  /** keycast's own relay endpoint: whether bunker URLs list it, its NIP-42 mode, connections. */
  embedded_relay?: {
    advertised: boolean;
    auth: string;
    connections: number;
    authenticated_connections: number;
  };
  /** With `--cluster`: this instance's id, the live instances, its share and its lease. */
  cluster?: {
    id: string;
    instances: number;
    served_slots: number;
    watched_bunkers: number;
    fenced: boolean;
    leaving: boolean;
  };
}

/** The health routes, to mount at `/health`. */
export function healthRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get("/", async (c) => {
    const { body } = await collect(c);
    return c.json(body, 200);
  });
  routes.get("/ready", async (c) => {
    const { body, ready } = await collect(c);
    if (!ready) body.status = "not_ready";
    return c.json(body, ready ? 200 : 503);
  });
  return routes;
}

async function collect(c: Context<AppEnv>): Promise<{ body: HealthBody; ready: boolean }> {
  const databaseOk = await c.var.deps.pingDatabase(HEALTH_DB_TIMEOUT_MS).catch(() => false);
  const { signer, relays, audit, embedded_relay, cluster, ready } = readSignerStatus(c);
  const body: HealthBody = {
    status: "ok",
    version: c.var.deps.version,
    database: databaseOk ? "ok" : "error",
    signer,
    relays,
    ...(audit ? { audit } : {}),
    ...(embedded_relay ? { embedded_relay } : {}),
    ...(cluster ? { cluster } : {}),
  };
  return { body, ready: databaseOk && ready };
}

/** A copy of the listener's status; one that cannot be read is logged and reported not ready. */
function readSignerStatus(
  c: Context<AppEnv>,
): Pick<HealthBody, "signer" | "relays" | "audit" | "embedded_relay" | "cluster"> & {
  ready: boolean;
} {
  try {
    const status: SignerStatus = c.var.deps.signerStatus();
    return {
      signer: {
        loaded_authorizations: status.loadedAuthorizations,
        pending_commands: status.pendingCommands,
        workers: status.workers,
        queue_depth: status.queueDepth,
      },
      relays: status.relays.map(({ url, connected, subscribed }) => ({
        url,
        connected,
        subscribed,
      })),
      audit: status.audit && {
        buffered: status.audit.buffered,
        dropped: status.audit.dropped,
        rejected: status.audit.rejected,
        suppressed: status.audit.suppressed,
      },
      embedded_relay: status.ownRelay && {
        advertised: status.ownRelay.advertised,
        auth: status.ownRelay.auth,
        connections: status.ownRelay.connections,
        authenticated_connections: status.ownRelay.authenticatedConnections,
      },
      cluster: status.cluster && {
        id: status.cluster.id,
        instances: status.cluster.instances,
        served_slots: status.cluster.servedSlots,
        watched_bunkers: status.cluster.watched,
        fenced: status.cluster.fenced,
        leaving: status.cluster.leaving,
      },
      ready: status.ready === true,
    };
  } catch (error: unknown) {
    c.var.log({
      level: "error",
      ns: "http.health",
      msg: "Cannot read the signer status",
      error,
    });
    return {
      signer: { loaded_authorizations: 0, pending_commands: 0, workers: 0, queue_depth: 0 },
      relays: [],
      ready: false,
    };
  }
}

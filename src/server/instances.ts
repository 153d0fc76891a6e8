/**
 * What `GET /api/instances` lists (`src/http/instances.ts`), read from the running server. With
 * `--cluster`: the cluster's live instances, from the database (bounded). Without it: this process
 * alone. A keycast without `--cluster` has no row anywhere, so its entry is made at start: an id
 * new at every start (32 hex characters, like a cluster instance's), its address, version and start
 * time, and no heartbeat or lease.
 */
import type { Cluster } from "../cluster/cluster.ts";
import { DatabaseUnavailableError } from "../db/db.ts";
import type { InstanceList } from "../http/types.ts";
import { deadline } from "../util/async.ts";
import { encodeHex } from "../util/hex.ts";

/** Longest wait for the cluster's instance list, in ms. */
export const INSTANCES_TIMEOUT_MS = 5_000;

/** Options of {@link instanceList}. */
export interface InstanceListOptions {
  /** With `--cluster`: this instance's membership. Default: none (a single instance). */
  cluster?: Pick<Cluster, "id" | "instances">;
  /** The keycast version this process runs. */
  version: string;
  /** This instance's `host:port`, read at each request (the port is bound after the app is built). */
  address: () => string;
  /** Clock, in ms, read once for the start time. Default `Date.now`. */
  now?: () => number;
  /** Longest wait for the cluster's list, in ms. Default {@link INSTANCES_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/**
 * The instance list of this server (see the module doc). With a cluster, a list that cannot be
 * read in time is a {@link DatabaseUnavailableError} (503).
 */
export function instanceList(options: InstanceListOptions): () => Promise<InstanceList> {
  const { cluster, version } = options;
  if (cluster) {
    const timeoutMs = options.timeoutMs ?? INSTANCES_TIMEOUT_MS;
    return async () => {
      try {
        const instances = await deadline(cluster.instances(), timeoutMs);
        return { cluster: true, self: cluster.id, instances };
      } catch (error: unknown) {
        throw new DatabaseUnavailableError("cannot read the cluster's instances", { cause: error });
      }
    };
  }
  const id = encodeHex(crypto.getRandomValues(new Uint8Array(16)));
  const startedAt = new Date((options.now ?? Date.now)());
  return () =>
    Promise.resolve({
      cluster: false,
      self: id,
      instances: [{
        id,
        address: options.address(),
        version,
        startedAt,
        heartbeatAt: null,
        leaseUntil: null,
        leaving: false,
      }],
    });
}

/**
 * This machine's name when the process may read it (`--allow-sys=hostname`, which the compiled
 * binary is not granted), else the `HOSTNAME` variable (set by Docker and Kubernetes), else
 * `fallback`. Never prompts for a permission.
 */
export function machineName(fallback: string): string {
  const granted = (descriptor: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(descriptor).state === "granted";
  if (granted({ name: "sys", kind: "hostname" })) return Deno.hostname();
  if (granted({ name: "env", variable: "HOSTNAME" })) {
    const name = Deno.env.get("HOSTNAME")?.trim();
    if (name) return name;
  }
  return fallback;
}

/** `host:port`, with an IPv6 host in brackets (`[::1]:8080`). */
export function hostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * `GET /api/instances`: the keycast instances serving this database, and which one answered.
 * With `--cluster`, the live rows of the cluster's `instances` table (lease not passed), oldest
 * first; without it, `cluster: false` and this process alone, with an id new at every start and
 * no heartbeat or lease (`null`). A database that does not answer is a 503.
 */
import { Hono } from "hono";
import type { AppEnv, InstanceInfo } from "./types.ts";
import { iso } from "./views.ts";

/** One instance as the API shows it. */
export interface InstanceView {
  id: string;
  address: string;
  version: string;
  started_at: string;
  /** Null without `--cluster`. */
  heartbeat_at: string | null;
  /** Null without `--cluster`. */
  lease_until: string | null;
  leaving: boolean;
  /** True for the instance that answered the request. */
  self: boolean;
}

/** The answer to `GET /api/instances`. */
export interface InstancesView {
  /** Whether the answering instance runs with `--cluster`. */
  cluster: boolean;
  /** The id of the instance that answered. */
  self: string;
  instances: InstanceView[];
}

/** The instances route, to mount at `/api/instances`. */
export function instanceRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/", async (c) => {
    const list = await c.var.deps.instances();
    const body: InstancesView = {
      cluster: list.cluster,
      self: list.self,
      instances: list.instances.map((instance) => instanceView(instance, list.self)),
    };
    return c.json(body);
  });
}

function instanceView(instance: InstanceInfo, self: string): InstanceView {
  return {
    id: instance.id,
    address: instance.address,
    version: instance.version,
    started_at: iso(instance.startedAt),
    heartbeat_at: instance.heartbeatAt === null ? null : iso(instance.heartbeatAt),
    lease_until: instance.leaseUntil === null ? null : iso(instance.leaseUntil),
    leaving: instance.leaving,
    self: instance.id === self,
  };
}

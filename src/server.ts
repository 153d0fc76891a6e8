/**
 * `startServer(config)`: the whole of `keycast serve`, in-process. It checks, then builds, in
 * order: the port, the data dir and its lock (`src/server/startup.ts`) → the master key file →
 * database, its instance lock (PostgreSQL), the master key checked against it, then its
 * migrations (`src/server/database.ts`) → signer pool → admin token → channel → registry → relay
 * pool → directory, audit writer, listener and HTTP signer → services → HTTP app → `Deno.serve`,
 * and returns once the listener has loaded every authorization and the port is bound.
 * `shutdown()` stops the HTTP server and new relay requests, lets in-flight requests finish
 * (bounded), then releases everything in reverse order; `finished` resolves after that. Losing
 * the PostgreSQL instance lock shuts the server down by itself, with `exitCode` 1.
 */
import { resolveAccessToken } from "./service/oauth.ts";
import { AuditWriter } from "./audit/writer.ts";
import { AuthorizationChannel } from "./channel/channel.ts";
import type { Config } from "./config/config.ts";
import { createRepos } from "./db/repos/repos.ts";
import { AdminTokenError, ensureAdminToken } from "./http/admin_token.ts";
import { PasswordHasher } from "./accounts/password.ts";
import { LoginThrottle } from "./accounts/throttle.ts";
import { CsrfTokens } from "./accounts/tokens.ts";
import { createApp } from "./http/app.ts";
import { createLogger, type Log } from "./log.ts";
import { Metrics } from "./metrics/metrics.ts";
import { pairingReplySender, relayAuthSigner } from "./nip46/bunker_signing.ts";
import { AuthorizationDirectory } from "./nip46/engine.ts";
import { RelayInbox } from "./nip46/inbox.ts";
import { type HttpGrant, LiveHttpSigner } from "./nip46/http_signer.ts";
import { type Decision, Listener } from "./nip46/listener.ts";
import { PolicyGate } from "./nip46/policy_gate.ts";
import { AuthorizationRegistry } from "./nip46/registry.ts";
import { RelayPool } from "./relay/pool.ts";
import { RelayHub } from "./relay_server/hub.ts";
import { relayEndpoint } from "./relay_server/endpoint.ts";
import { RoutingPublisher } from "./relay_server/publisher.ts";
import { LocalRelayUrls, wsOrigin } from "./relay_server/urls.ts";
import { servedRelays } from "./nip46/bunker_url.ts";
import { BackupSealer } from "./server/backup_seal.ts";
import { Maintenance } from "./server/maintenance.ts";
import { openCheckedDatabase } from "./server/database.ts";
import { boundOrigins } from "./server/origins.ts";
import { hostPort, instanceList, machineName } from "./server/instances.ts";
import { untrustedProxyWarning } from "./server/proxy_warning.ts";
import {
  listenError,
  lockDataDir,
  prepareDataDir,
  probePort,
  StartupError,
} from "./server/startup.ts";
import { renderMetrics, signerStatus, type StatusSources } from "./server/status.ts";
import { removeBackupLeftovers } from "./service/backup.ts";
import { AuthorizationChanges } from "./service/changes.ts";
import type { ServiceDeps } from "./service/deps.ts";
import { syncBuiltinPolicies } from "./service/policies.ts";
import { SignerPool } from "./signer/pool.ts";
import { VERSION } from "./version.ts";
import { ClusterChanges } from "./cluster/bridge.ts";
import { openCluster } from "./cluster/cluster.ts";

/**
 * How long an instance of a cluster also watches a bunker it just created or paired, whatever its
 * owner, in ms: creating an authorization waits for a subscription before it hands out the bunker
 * URL, and that instance cannot see when the owner (told by a notice) has subscribed. The claims
 * keep the overlap to one answer; the owner subscribes within milliseconds.
 */
const NEW_BUNKER_HOLD_MS = 15_000;

/** Default grace period for in-flight work after `shutdown()`, in ms. */
export const SHUTDOWN_GRACE_MS = 10_000;

export { StartupError } from "./server/startup.ts";

/** What a test or the CLI may inject into {@link startServer}. */
export interface ServerDeps {
  /** The logger. Default: one built from the config's level and format, on stderr. */
  log?: Log;
  /** Grace period for in-flight requests at shutdown, in ms. Default {@link SHUTDOWN_GRACE_MS}. */
  shutdownGraceMs?: number;
  /**
   * Resolves an OAuth access token into its grant, for HTTP signing (`POST /api/nostr`).
   * Default: the OAuth grants in the database (tests give a stand-in).
   */
  resolveHttpGrant?: (token: string) => Promise<HttpGrant | undefined>;
  /**
   * Whether to answer the CORS preflight of `/api/nostr` from `origin` (preflights carry no
   * token). Default: every origin (the request that follows is checked against its token).
   */
  allowsHttpOrigin?: (origin: string) => Promise<boolean>;
}

/** A running keycast server. */
export interface Server extends AsyncDisposable {
  /** The bound HTTP port (the OS's choice for `--port 0`). */
  readonly port: number;
  /** The bound address. */
  readonly hostname: string;
  /** Resolves once the server has stopped and released everything. */
  readonly finished: Promise<void>;
  /**
   * The process exit code the stop calls for: 0, or 1 once the server stopped by itself because
   * it lost the PostgreSQL instance lock.
   */
  readonly exitCode: number;
  /** Stops serving, drains in-flight requests (bounded) and releases everything. */
  shutdown(): Promise<void>;
}

/** Starts a full keycast server for `config` (see the module doc). */
export async function startServer(config: Config, deps: ServerDeps = {}): Promise<Server> {
  const log = deps.log ?? createLogger({ level: config.logLevel, format: config.logFormat });
  const stack = new AsyncDisposableStack();
  try {
    // Before anything is created: the port, the data dir, and the right to use them.
    probePort(config.host, config.port);
    await prepareDataDir(config.dataDir, log);
    stack.use(await lockDataDir(config.dataDir));
    // Holding the lock: no backup of another process can be under way.
    await removeBackupLeftovers(config.dataDir, log);

    // Fail closed: without the instance lock another keycast may serve the same database.
    const lockLost = new AbortController();
    const { db, applied, key: masterKey, vault } = stack.use(
      await openCheckedDatabase(config, log, { onLockLost: () => lockLost.abort() }),
    );
    log({ level: "info", ns: "serve", msg: "Database ready", kind: db.kind, applied });
    const signer = stack.use(new SignerPool({ masterKey, workers: config.workers, log }));
    const csrf = new CsrfTokens(masterKey);
    const backupSealer = new BackupSealer(masterKey);
    masterKey.fill(0);
    const adminToken = await openAdminToken(config, log);

    const channel = new AuthorizationChannel();
    stack.defer(() => channel.close());
    const repos = createRepos(db);
    // Workers load their modules on start; a request must not race a cold worker.
    await signer.ready();

    const registry = new AuthorizationRegistry({ source: repos.authorizations, log });
    const inbox = new RelayInbox();
    const relays = stack.use(
      new RelayPool({ log, onEvent: inbox.deliver, signAuth: relayAuthSigner(registry, signer) }),
    );
    // With --cluster: changes reach the other instances, and this one watches only its share.
    const cluster = config.cluster && config.databaseUrl
      ? stack.use(
        await openCluster({
          databaseUrl: config.databaseUrl,
          leaseMs: config.leaseSeconds * 1000,
          version: VERSION,
          channel,
          authorizations: repos.authorizations,
          pool: relays,
          log,
        }),
      )
      : undefined;
    const policy = new PolicyGate();
    const directory = stack.use(
      new AuthorizationDirectory({
        registry,
        relays: cluster?.watch ?? relays,
        defaultRelays: config.relays,
        onRemoved: (authorization) => policy.forget(authorization.id),
      }),
    );
    const audit = stack.use(new AuditWriter({ sink: repos.audit, log }));
    stack.use(
      new Maintenance({
        repos,
        log,
        auditRetentionSeconds: config.auditRetentionSeconds,
        sessionIdleMs: config.sessionIdleSeconds * 1000,
      }),
    ).start();
    const metrics = new Metrics();
    // keycast's own relay endpoint (docs/ARCHITECTURE.md, "The own relay"): requests arriving on
    // it join the relay inbox, replies reach it through the routing publisher.
    let boundPort = 0;
    const ownRelayUrls = new LocalRelayUrls(() =>
      wsOrigin(config.publicUrl ?? boundOrigins(config.host, boundPort)[0]!)
    );
    const advertised = config.publicUrl !== undefined;
    const ownRelay = stack.use(
      new RelayHub({
        settings: config.relayServer,
        urls: ownRelayUrls,
        authorizations: registry,
        submit: inbox.deliver,
        log,
      }),
    );
    registry.observe({
      upserted: () => {},
      removed: (authorization) => ownRelay.revoke(authorization.bunkerPubkey),
    });
    const ownRelayFirst = advertised
      ? (authorization: { bunkerPubkey: string; relays: readonly string[] }) =>
        servedRelays(ownRelayUrls.urlFor(authorization.bunkerPubkey), authorization.relays)
      : undefined;
    // One writer of decisions for both transports: NIP-46 over relays and HTTP signing.
    const onDecision = ({ clientConnected, ...decision }: Decision) => {
      audit.record({ ...decision, at: new Date() }, { connected: clientConnected });
      metrics.observeRequest(decision.method, decision.reason, decision.latencyMs);
    };
    const listener = new Listener({
      directory,
      signer,
      publisher: new RoutingPublisher(ownRelay, ownRelayUrls, relays),
      clients: cluster?.bridge.clients(repos.clients) ?? repos.clients,
      policy,
      log,
      onDecision,
      servedRelays: ownRelayFirst,
      claims: cluster?.claims,
      sharedLimits: cluster?.sharedLimits,
    });
    const httpSigner = new LiveHttpSigner({
      directory,
      policy,
      signer,
      onDecision,
      log,
      sharedLimits: cluster?.sharedLimits,
    });
    inbox.attach(listener);
    stack.use(registry);

    const services: ServiceDeps = {
      repos,
      vault,
      changes: cluster
        ? new ClusterChanges(repos.authorizations, channel, cluster.bridge.announce)
        : new AuthorizationChanges(repos.authorizations, channel),
      log,
      now: Date.now,
      defaultRelays: config.relays,
      localRelayUrl: advertised ? (bunkerPubkey) => ownRelayUrls.urlFor(bunkerPubkey) : undefined,
      listener: {
        // The own relay serves an authorization once the registry holds it; external relays
        // are still waited for (bounded), so they hear the first request too.
        awaitSubscribed: async (bunkerPubkey, signal) =>
          await registry.whenPresent(bunkerPubkey, signal) &&
          ((cluster
            ? await cluster.watch.hold(bunkerPubkey, NEW_BUNKER_HOLD_MS, signal)
            : await relays.ready(bunkerPubkey, { signal })) || advertised),
        sendPairingReply: pairingReplySender(signer, relays),
      },
      snapshots: {
        dir: config.dataDir,
        // Sealed before it is sent, so restore can tell it was not changed since.
        snapshot: async (path) => {
          await db.snapshot(path);
          await backupSealer.seal(path, Date.now());
        },
      },
      accounts: {
        passwords: new PasswordHasher(),
        keyWorker: signer,
        throttle: new LoginThrottle(),
        sharedThrottle: cluster?.loginThrottle,
        settings: {
          registration: config.registration,
          sessionIdleMs: config.sessionIdleSeconds * 1000,
          sessionMaxMs: config.sessionMaxSeconds * 1000,
        },
      },
      oauth: {
        mode: config.oauth,
        accessTtlMs: config.oauthAccessTtlSeconds * 1000,
        refreshTtlMs: config.oauthRefreshTtlSeconds * 1000,
      },
    };
    await syncBuiltinPolicies(services);
    await registry.start(channel);
    const proxyWarning = untrustedProxyWarning(config);
    if (proxyWarning) log({ level: "warn", ns: "serve", msg: proxyWarning });
    if (config.selfContained) {
      log({
        level: "info",
        ns: "serve",
        msg: "No --relay given: serving on keycast's own relay only (self-contained mode)",
      });
    }
    if (config.relaysDefaulted) {
      log({
        level: "info",
        ns: "serve",
        msg: "No --relay given: using the default relays",
        relays: config.relays,
      });
    }

    const sources: StatusSources = {
      signer,
      relays,
      registry,
      audit,
      channel,
      listener,
      relayServer: {
        stats: () => ownRelay.stats(),
        advertised,
        auth: config.relayServer.auth,
      },
      cluster,
    };
    const endpoint = relayEndpoint(ownRelay, config.trustedProxies);
    const app = createApp({
      services,
      pingDatabase: (timeoutMs) => db.ping(timeoutMs),
      version: VERSION,
      adminTokenHash: adminToken,
      adminPubkeys: config.adminPubkeys,
      origins: () => config.publicUrl ? [config.publicUrl] : boundOrigins(config.host, boundPort),
      signerStatus: () => signerStatus(sources),
      metrics: () => renderMetrics(metrics, sources),
      instances: instanceList({
        cluster,
        version: VERSION,
        address: () => hostPort(machineName(config.host), boundPort),
      }),
      csrf,
      trustedProxies: config.trustedProxies,
      httpSigning: {
        resolve: deps.resolveHttpGrant ?? ((token) => resolveAccessToken(services, token)),
        // Every origin's preflight is answered: the request itself must then carry a token issued
        // to that origin. Asking the database here would cost a query per anonymous preflight and
        // tell anyone which app origins hold grants.
        allowsOrigin: deps.allowsHttpOrigin ?? (() => Promise.resolve(true)),
        signer: httpSigner,
      },
    });

    const stopHttp = new AbortController();
    let http: Deno.HttpServer<Deno.NetAddr>;
    try {
      http = Deno.serve({
        hostname: config.host,
        port: config.port,
        signal: stopHttp.signal,
        onListen: ({ hostname, port }) =>
          log({ level: "info", ns: "serve", msg: "Listening", hostname, port, version: VERSION }),
      }, (request, info) => endpoint(request, info) ?? app.fetch(request, info));
    } catch (error: unknown) {
      throw listenError(config.host, config.port, error);
    }
    boundPort = http.addr.port;
    if (cluster) {
      try {
        await cluster.join(hostPort(machineName(config.host), boundPort));
      } catch (error: unknown) {
        stopHttp.abort();
        await http.finished;
        const reason = error instanceof Error ? error.message : String(error);
        throw new StartupError(`Cannot join the cluster: ${reason}`, { cause: error, exitCode: 1 });
      }
    }
    const resources = stack.move();
    const finished = (async () => {
      await http.finished;
      inbox.close();
      await listener.drain(deps.shutdownGraceMs ?? SHUTDOWN_GRACE_MS);
      await resources.disposeAsync();
      log({ level: "info", ns: "serve", msg: "Stopped" });
    })();
    let stopping = false;
    const shutdown = async () => {
      if (!stopHttp.signal.aborted && !stopping) {
        stopping = true;
        log({ level: "info", ns: "serve", msg: "Shutting down" });
        // First the bunkers go to the other instances (they subscribe before this one stops).
        await cluster?.handOver(config.leaseSeconds * 1000);
        stopHttp.abort();
        // Upgraded sockets would hold the HTTP server open: the own relay closes them now.
        ownRelay[Symbol.dispose]();
      }
      await finished;
    };
    if (lockLost.signal.aborted) void shutdown();
    else lockLost.signal.addEventListener("abort", () => void shutdown(), { once: true });
    return {
      port: http.addr.port,
      hostname: http.addr.hostname,
      finished,
      get exitCode() {
        return lockLost.signal.aborted ? 1 : 0;
      },
      shutdown,
      [Symbol.asyncDispose]: shutdown,
    };
  } catch (error) {
    await stack.disposeAsync();
    throw error;
  }
}

async function openAdminToken(config: Config, log: Log): Promise<Uint8Array> {
  try {
    const token = await ensureAdminToken({ dataDir: config.dataDir, envToken: config.adminToken });
    if (token.created) {
      log({ level: "info", ns: "serve", msg: "Wrote the admin token", path: token.path });
    }
    return token.hash;
  } catch (error) {
    if (error instanceof AdminTokenError) throw new StartupError(error.message, { cause: error });
    throw error;
  }
}

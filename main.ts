/**
 * keycast's composition root — the only module with side effects. `serve` builds, in order:
 * Config → Logger → Vault → Db → admin token → channel → signer pool → relay pool → registry and
 * listener → Hono app → Deno.serve. SIGINT/SIGTERM stop the HTTP server and new relay requests,
 * let in-flight requests finish (bounded), then dispose everything in reverse order and exit 0.
 */
import { runCli } from "./src/cli/mod.ts";
import { type CommandContext, EXIT, processIo } from "./src/cli/io.ts";
import { AuthorizationChannel } from "./src/channel/channel.ts";
import type { Config } from "./src/config/config.ts";
import { openDatabase } from "./src/db/open.ts";
import { createRepos } from "./src/db/repos/mod.ts";
import {
  AdminTokenError,
  ensureAdminToken,
  type EnsuredAdminToken,
} from "./src/http/admin_token.ts";
import { createApp, syncBuiltinPolicies } from "./src/http/app.ts";
import { createLogger } from "./src/log.ts";
import { AuditWriter } from "./src/audit/writer.ts";
import { Metrics } from "./src/metrics/metrics.ts";
import { AuthorizationDirectory } from "./src/nip46/engine.ts";
import { Listener } from "./src/nip46/listener.ts";
import { PolicyGate } from "./src/nip46/policy_gate.ts";
import { AuthorizationRegistry } from "./src/nip46/registry.ts";
import { RelayPool } from "./src/relay/mod.ts";
import { SignerPool } from "./src/signer/pool.ts";
import { loadMasterKey, MasterKeyError } from "./src/vault/master_key.ts";
import { Vault } from "./src/vault/vault.ts";
import { VERSION } from "./src/version.ts";

/** Grace period for in-flight work after a shutdown signal, in ms. */
const SHUTDOWN_GRACE_MS = 10_000;

async function serve(config: Config, ctx: CommandContext): Promise<number> {
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  let masterKey: Uint8Array;
  try {
    const loaded = await loadMasterKey({
      fromEnv: config.masterKeyBase64,
      file: config.masterKeyFile,
    });
    masterKey = loaded.key;
    if (loaded.created) {
      log({
        level: "warn",
        ns: "serve",
        msg: "Created a new master key file: back it up, sealed keys cannot be opened without it",
        path: config.masterKeyFile,
      });
    }
  } catch (error) {
    if (!(error instanceof MasterKeyError)) throw error;
    ctx.io.err(`${error.message}\n`);
    return EXIT.usage;
  }
  const vault = await Vault.create(masterKey);

  const { db, applied } = await openDatabase(config);
  await using _db = db;
  log({ level: "info", ns: "serve", msg: "Database ready", kind: db.kind, applied });

  let adminToken: EnsuredAdminToken;
  try {
    adminToken = await ensureAdminToken({ dataDir: config.dataDir, envToken: config.adminToken });
  } catch (error) {
    if (!(error instanceof AdminTokenError)) throw error;
    ctx.io.err(`${error.message}\n`);
    return EXIT.usage;
  }
  if (adminToken.created) {
    log({ level: "info", ns: "serve", msg: "Wrote the admin token", path: adminToken.path });
  }

  const channel = new AuthorizationChannel();
  using _channel = { [Symbol.dispose]: () => channel.close() };
  const repos = createRepos(db);

  await using signer = new SignerPool({ masterKey, workers: config.workers, log });
  masterKey.fill(0);
  // Workers load their modules on start; a request must not race a cold worker.
  await signer.ready();
  const registry = new AuthorizationRegistry({ source: repos.authorizations, log });
  // Relay events reach the listener once it exists, and stop reaching it at shutdown.
  let onRelayEvent = (_event: unknown, _relayUrl: string) => {};
  await using relays = new RelayPool({
    log,
    onEvent: (event, relayUrl) => onRelayEvent(event, relayUrl),
    signAuth: (challenge, relayUrl, bunkerPubkeys) =>
      Promise.all(bunkerPubkeys.flatMap((bunkerPubkey) => {
        const authorization = registry.get(bunkerPubkey);
        if (!authorization) return [];
        return [signer.signWithKey({
          key: { pubkey: bunkerPubkey, sealed: authorization.bunkerSecretSealed },
          template: {
            kind: 22242,
            created_at: Math.floor(Date.now() / 1000),
            tags: [["relay", relayUrl], ["challenge", challenge]],
            content: "",
          },
        })];
      })),
  });
  using directory = new AuthorizationDirectory({
    registry,
    relays,
    defaultRelays: config.relays,
  });
  const policy = new PolicyGate();
  directory.onRemoved = (authorization) => policy.forget(authorization.id);
  await using audit = new AuditWriter({ sink: repos.audit, log });
  const metrics = new Metrics();
  const listener = new Listener({
    directory,
    signer: {
      unwrap: (bunker, event) => signer.unwrapRequest({ bunker, event }),
      respond: (job) => signer.respond(job),
      reject: (bunker, event, error) => signer.rejectRequest({ bunker, event, error }),
    },
    publisher: relays,
    clients: repos.clients,
    policy,
    log,
    onDecision: (decision) => {
      audit.record({ ...decision, at: new Date() });
      metrics.observeRequest(decision.method, decision.reason, decision.latencyMs);
    },
  });
  onRelayEvent = (event, relayUrl) => listener.handleEvent(event, relayUrl);
  await using _registry = registry;
  await syncBuiltinPolicies(repos, channel);
  await registry.start(channel);
  if (config.relaysDefaulted) {
    log({
      level: "info",
      ns: "serve",
      msg: "No --relay given: using the default relays",
      relays: config.relays,
    });
  }

  const app = createApp({
    db,
    repos,
    vault,
    channel,
    log,
    version: VERSION,
    defaultRelays: config.relays,
    adminTokenHash: adminToken.hash,
    adminPubkeys: config.adminPubkeys,
    signerStatus: () => {
      const pool = signer.stats();
      const relayStates = relays.status();
      return {
        loadedAuthorizations: registry.size,
        pendingCommands: registry.pending,
        workers: pool.workers,
        queueDepth: pool.queueDepth,
        // With nothing to serve there is nothing to subscribe: ready once loaded.
        ready: registry.loaded &&
          (registry.size === 0 || relayStates.some((relay) => relay.subscribed)),
        relays: relayStates.map(({ url, connected, subscribed }) => ({
          url,
          connected,
          subscribed,
        })),
        audit: audit.stats,
      };
    },
    awaitSubscribed: async (bunkerPubkey, signal) =>
      await registry.whenPresent(bunkerPubkey, signal) &&
      await relays.ready(bunkerPubkey, { signal }),
    metrics: () => {
      const pool = signer.stats();
      return metrics.render({
        queueDepth: pool.queueDepth,
        queueDropped: pool.dropped + pool.reservedDropped,
        workers: pool.workers,
        workersBusy: pool.busy,
        workerCrashes: pool.crashes,
        authorizationsLoaded: registry.size,
        channelBacklog: channel.stats.backlog,
        channelOverflows: channel.stats.overflows,
        auditBuffered: audit.stats.buffered,
        auditDropped: audit.stats.dropped,
        relays: relays.status(),
        eventsReceived: listener.stats.received,
        eventsDropped: listener.stats.dropped,
      });
    },
    sendPairingReply: async (pairing) => {
      const reply = await signer.respond({
        bunker: { pubkey: pairing.bunkerPubkey, sealed: pairing.bunkerSecretSealed },
        clientPubkey: pairing.clientPubkey,
        scheme: "nip44",
        requestId: crypto.randomUUID(),
        action: { type: "result", result: pairing.secret },
      });
      const results = await relays.publish(reply.event, pairing.relays);
      return results.some((result) => result.ok);
    },
  });

  const shutdown = new AbortController();
  const onSignal = () => {
    log({ level: "info", ns: "serve", msg: "Shutting down" });
    shutdown.abort();
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  try {
    const server = Deno.serve({
      hostname: config.host,
      port: config.port,
      signal: shutdown.signal,
      onListen: ({ hostname, port }) =>
        log({ level: "info", ns: "serve", msg: "Listening", hostname, port, version: VERSION }),
    }, app.fetch);
    await server.finished;
    onRelayEvent = () => {};
    await listener.drain(SHUTDOWN_GRACE_MS);
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  }
  log({ level: "info", ns: "serve", msg: "Stopped" });
  return EXIT.ok;
}

if (import.meta.main) {
  const env = new Map(Object.entries(Deno.env.toObject()));
  const code = await runCli({ args: Deno.args, env, io: processIo(), fetch }, serve);
  Deno.exit(code);
}

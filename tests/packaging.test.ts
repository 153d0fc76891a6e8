/**
 * Packaging checks that run offline. `deno compile` needs a `denort` base binary these machines
 * cannot download, so: (1) the compile task's `--include` list must cover every worker module,
 * every migration and every `import.meta.url`-relative asset in src/, and its permissions must be
 * explicit; (2) the same entry points, built with `deno bundle`, must start, answer `/health` and
 * sign a request from nostr-tools' BunkerSigner through the test relay, with explicit permissions;
 * (3) the deployment files in deploy/ must set only variables keycast reads, probe health routes
 * that exist, run one instance and leave the SIGTERM drain time to finish.
 */
import assert from "node:assert/strict";
import { BunkerSigner, parseBunkerInput } from "nostr-tools/nip46";
import { SimplePool } from "nostr-tools/pool";
import { generateSecretKey, verifyEvent } from "nostr-tools/pure";
import { buildBundle } from "./helpers/bundle.ts";
import {
  compileIncludes,
  findAssetReferences,
  listFiles,
  readCompileTask,
  referencesIn,
  REPO_ROOT,
  uncovered,
} from "./helpers/compile_task.ts";
import { within } from "./helpers/keycast.ts";
import { startTestRelay } from "./helpers/relay.ts";
import { startServe } from "./helpers/serve.ts";
import { TestApp } from "./helpers/app.ts";
import { sqliteTestDb } from "./helpers/db.ts";
import { Config, DEFAULT_LEASE_SECONDS, ENV_TWINS } from "../src/config/config.ts";
import { parseDuration } from "../src/domain/fields.ts";
import { SHUTDOWN_GRACE_MS } from "../src/server.ts";

Deno.test("deno task compile includes every worker module, migration and URL-relative asset", async () => {
  const includes = compileIncludes(await readCompileTask());
  const workers = (await listFiles("src")).filter((path) => path.endsWith(".worker.ts"));
  const migrations = await listFiles("migrations");
  assert.ok(workers.length > 0, "no *.worker.ts found under src/");
  assert.ok(migrations.length > 0, "no file found under migrations/");
  assert.deepEqual(uncovered(workers, includes), [], "worker modules missing from --include");
  assert.deepEqual(uncovered(migrations, includes), [], "migrations missing from --include");

  const references = await findAssetReferences();
  const spawned = references.filter((reference) => reference.worker);
  assert.ok(spawned.length > 0, "no new Worker(new URL(…, import.meta.url)) found in src/");
  for (const reference of references) {
    await Deno.stat(new URL(reference.target, REPO_ROOT));
  }
  const missing = references.filter((reference) => uncovered([reference.target], includes).length);
  assert.deepEqual(missing, [], "import.meta.url targets missing from --include");
});

Deno.test("compileIncludes() and uncovered() report a worker or migration left out", () => {
  const task = "deno compile --include=src/signer/a.worker.ts,extra --include migrations main.ts";
  const includes = compileIncludes(task);
  assert.deepEqual(includes, ["src/signer/a.worker.ts", "extra", "migrations"]);
  assert.deepEqual(
    uncovered(
      ["src/signer/a.worker.ts", "src/new/b.worker.ts", "migrations/0002_x.sql", "migrations"],
      includes,
    ),
    ["src/new/b.worker.ts"],
  );
  assert.deepEqual(uncovered(["migrations2/0001_a.sql", "extras/x"], includes), [
    "migrations2/0001_a.sql",
    "extras/x",
  ]);
  assert.deepEqual(compileIncludes("deno compile main.ts"), []);
});

Deno.test("referencesIn() finds Worker and asset URLs in code, not in comments", () => {
  const source = [
    '// new Worker(new URL("./commented.worker.ts", import.meta.url))',
    "const dir = new URL('../../seeds/', import.meta.url);",
    "const w = new Worker(",
    '  new URL("./x.worker.ts", import.meta.url), { type: "module" });',
  ].join("\n");
  const found = referencesIn("src/a/b.ts", source);
  assert.deepEqual(found.map(({ target, worker }) => ({ target, worker })), [
    { target: "seeds", worker: false },
    { target: "src/a/x.worker.ts", worker: true },
  ]);
});

Deno.test("deno task compile grants explicit permissions, never -A", async () => {
  const words = (await readCompileTask()).split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "compile"]);
  for (const forbidden of ["-A", "--allow-all", "--allow-run", "--allow-ffi", "--allow-sys"]) {
    assert.ok(!words.some((word) => word.split("=")[0] === forbidden), `${forbidden} is granted`);
  }
  for (const required of ["--no-prompt", "--allow-net", "--unstable-worker-options"]) {
    assert.ok(words.includes(required), `${required} is missing`);
  }
  assert.deepEqual(words.slice(-3), ["--output", "dist/keycast", "main.ts"]);
});

Deno.test({
  name: "deno task compile type-checks and embeds the workers and the migrations",
  async fn() {
    // denort cannot be downloaded here; DENORT_BIN set to this deno makes compile write a binary
    // that is not runnable, but it runs every step before that and prints what it embedded.
    const words = (await readCompileTask()).split(/\s+/);
    const dir = await Deno.makeTempDir({ prefix: "keycast-compile-" });
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 180_000);
    try {
      const output = words.indexOf("--output") + 1;
      assert.ok(output > 0, "the compile task has no --output");
      const args = words.slice(1).map((word, i) => i + 1 === output ? `${dir}/keycast` : word);
      const result = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: REPO_ROOT.pathname,
        env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: abort.signal,
      }).output();
      const log = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
      assert.ok(result.success, log);
      for (const embedded of ["migrations/*", "signer.worker.ts", "sqlite.worker.ts"]) {
        assert.ok(log.includes(embedded), `${embedded} is not listed as embedded`);
      }
    } finally {
      clearTimeout(timer);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the deno bundle of main.ts and its worker serves /health and signs through the test relay",
  async fn() {
    await using relay = await startTestRelay();
    await using bundle = await buildBundle();
    await using server = await startServe({
      command: bundle.command,
      cwd: bundle.root,
      args: ["--relay", relay.url, "--data-dir", bundle.dataDir],
      env: { RPC_WORKER_COUNT: "2" },
      timeoutMs: 60_000,
    });

    const health = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(health.status, 200);
    const body = await health.json();
    assert.equal(body.status, "ok");
    assert.equal(body.database, "ok");
    assert.equal(body.signer.workers, 2);

    const token = (await Deno.readTextFile(`${bundle.dataDir}/admin.token`)).trim();
    const api = async (path: string, payload: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(10_000),
      });
      return { status: response.status, body: await response.json() };
    };
    const key = await api("/api/keys", { name: "smoke" });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const created = await api("/api/authorizations", { key: "smoke" });
    assert.equal(created.status, 201, JSON.stringify(created.body));

    const pointer = await parseBunkerInput(created.body.bunker_url);
    assert.ok(pointer, "the bunker URL does not parse");
    const pool = new SimplePool();
    const signer = BunkerSigner.fromBunker(generateSecretKey(), pointer, { pool });
    try {
      await within(signer.connect());
      const template = { kind: 1, created_at: 1_700_000_000, tags: [], content: "bundled" };
      const signed = await within(signer.signEvent(template));
      assert.ok(verifyEvent(signed), "the signature does not verify");
      assert.deepEqual(signed.pubkey, created.body.user_pubkey);
      assert.equal(signed.content, "bundled");
    } finally {
      await signer.close();
      pool.destroy();
    }

    assert.equal(await server.stop("SIGTERM"), 0, server.lines.join("\n"));
    const crashed = server.lines.filter((line) => line.includes("Replacing signer worker"));
    assert.deepEqual(crashed, [], "a bundled signer worker crashed");
  },
});

// Deployment files against the code: the environment variables they set are ones keycast (or the
// Deno runtime) reads, their probes call health routes that exist, and their stop timeouts leave
// room for the SIGTERM drain. Read as text: no YAML parser is a dependency of the project.

/** Files whose every KEYCAST_* name (comments included) and every variable set must be known. */
const DEPLOY_ENV_FILES = [
  "deploy/kubernetes.yaml",
  "deploy/cloudrun.yaml",
  "deploy/supervisor.conf",
  "deploy/keycast.service",
  "deploy/keycast.env.example",
];
/** Read by the Deno runtime, not by keycast's code (set by the Dockerfile and the units). */
const RUNTIME_ENV = ["DENO_DIR", "DENO_TLS_CA_STORE"];
/** Read by Config from the environment only (no flag twin). */
const ENV_ONLY = ["KEYCAST_MASTER_KEY", "KEYCAST_ADMIN_TOKEN"];

function readDeployFile(path: string): Promise<string> {
  return Deno.readTextFile(new URL(path, REPO_ROOT));
}

/** The variables a deployment file sets or names, by the file's syntax. */
function deployEnvNames(path: string, text: string): string[] {
  const names = new Set<string>();
  const NAME = "[A-Z][A-Z0-9_]*";
  // Anywhere, comments included: a misspelt KEYCAST_ variable in advice is a bug too.
  for (const match of text.matchAll(/\bKEYCAST_[A-Z0-9_]*[A-Z0-9]\b/g)) names.add(match[0]);
  for (const raw of text.split("\n")) {
    // Commented-out settings count: they are meant to be switched on.
    const line = raw.trim().replace(/^[#;]\s*/, "");
    let match: RegExpMatchArray | null;
    if (path.endsWith(".yaml")) {
      // `- name: X` (env entries), `key: X` (Secret keys) and `X: value` (the Secret's data).
      match = line.match(new RegExp(`^(?:-\\s*name|key):\\s*"?(${NAME})"?$`)) ??
        line.match(new RegExp(`^(${NAME}):`));
    } else if (path.endsWith(".conf")) {
      if (line.startsWith("environment=")) {
        for (const pair of line.matchAll(new RegExp(`(${NAME})="[^"]*"`, "g"))) names.add(pair[1]!);
      }
      match = null;
    } else if (path.endsWith(".service")) {
      match = line.match(new RegExp(`^Environment=(${NAME})=`));
    } else {
      match = line.match(new RegExp(`^(${NAME})=`));
    }
    if (match) names.add(match[1]!);
  }
  return [...names].sort();
}

/** Each probe's path, by probe kind (`startupProbe`, `livenessProbe`, `readinessProbe`). */
function probePaths(text: string): Record<string, string> {
  const probes: Record<string, string> = {};
  let current: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#")) continue;
    const kind = line.match(/^(startupProbe|livenessProbe|readinessProbe):/)?.[1];
    if (kind) current = kind;
    const path = line.match(/^path:\s*"?([^"\s]+)"?$/)?.[1];
    if (path && current) {
      probes[current] = path;
      current = undefined;
    }
  }
  return probes;
}

/** The value of the environment variable `name` in a Kubernetes or Knative container list. */
function envValue(text: string, name: string): string | undefined {
  const pattern = new RegExp(`-\\s*name:\\s*${name}\\s*\\n\\s*value:\\s*"?([^"\\n]*)"?`);
  return text.match(pattern)?.[1];
}

/** The integer value of `key:` or `key=` in `text` (the first one). */
function numberSetting(text: string, key: string): number {
  const name = key.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const match = text.match(new RegExp(`^\\s*${name}\\s*[:=]\\s*"?(\\d+)"?\\s*$`, "m"));
  assert.ok(match, `${key} is not set`);
  return Number(match[1]);
}

Deno.test("deployment files set only environment variables keycast or Deno reads", async () => {
  const config = new Config(new Map(ENV_ONLY.map((name) => [name, `value of ${name}`])));
  assert.equal(config.masterKeyBase64, "value of KEYCAST_MASTER_KEY");
  assert.equal(config.adminToken, "value of KEYCAST_ADMIN_TOKEN");
  const known = new Set<string>([...Object.values(ENV_TWINS), ...ENV_ONLY, ...RUNTIME_ENV]);
  for (const path of DEPLOY_ENV_FILES) {
    const names = deployEnvNames(path, await readDeployFile(path));
    assert.ok(names.length > 0, `${path}: no variable found`);
    assert.deepEqual(names.filter((name) => !known.has(name)), [], `${path}: unknown variables`);
  }
});

Deno.test("deployEnvNames() reads each file syntax, and commented-out settings", () => {
  const yaml = [
    "env:",
    "  - name: DATABASE_URL",
    "    valueFrom: {secretKeyRef: {name: keycast, key: KEYCAST_MASTER_KEY}}",
    "  # - name: KEYCAST_TRUST_PROXY",
    "  - name: keycast",
    "stringData:",
    '  KEYCAST_ADMIN_TOKEN: "x"',
    "# see KEYCAST_RELAYS, not KEYCAST_-prefixed ones",
  ].join("\n");
  assert.deepEqual(deployEnvNames("a.yaml", yaml), [
    "DATABASE_URL",
    "KEYCAST_ADMIN_TOKEN",
    "KEYCAST_MASTER_KEY",
    "KEYCAST_RELAYS",
    "KEYCAST_TRUST_PROXY",
  ]);
  assert.deepEqual(
    deployEnvNames("a.conf", 'environment=PORT="8080",KEYCAST_RELAYS="wss://a,wss://b",X_Y="a=b"'),
    ["KEYCAST_RELAYS", "PORT", "X_Y"],
  );
  assert.deepEqual(deployEnvNames("a.service", "Environment=DENO_DIR=/x\nUser=keycast"), [
    "DENO_DIR",
  ]);
  assert.deepEqual(deployEnvNames("a.env.example", "LOG_LEVEL=info\n#RPC_WORKER_COUNT=2"), [
    "LOG_LEVEL",
    "RPC_WORKER_COUNT",
  ]);
});

Deno.test("deployment probes use /health (startup, liveness) and /health/ready, which answer", async () => {
  const kubernetes = await readDeployFile("deploy/kubernetes.yaml");
  const cloudRun = await readDeployFile("deploy/cloudrun.yaml");
  assert.deepEqual(probePaths(kubernetes), {
    startupProbe: "/health",
    livenessProbe: "/health",
    readinessProbe: "/health/ready",
  });
  assert.deepEqual(probePaths(cloudRun), { startupProbe: "/health", livenessProbe: "/health" });

  await using db = await sqliteTestDb();
  await using app = await TestApp.create(db);
  for (const path of ["/health", "/health/ready"]) {
    const response = await app.json("GET", path, undefined, {});
    assert.equal(response.status, 200, `GET ${path}`);
    assert.equal(response.body.status, "ok", `GET ${path}`);
  }
});

Deno.test("deployment files run a cluster and wait out the hand-over and the SIGTERM drain", async () => {
  const drainSeconds = SHUTDOWN_GRACE_MS / 1000;
  const kubernetes = await readDeployFile("deploy/kubernetes.yaml");
  assert.equal(numberSetting(kubernetes, "replicas"), 3);
  assert.match(kubernetes, /^\s*type:\s*RollingUpdate\s*$/m);
  assert.equal(numberSetting(kubernetes, "maxUnavailable"), 0);
  assert.equal(envValue(kubernetes, "KEYCAST_CLUSTER"), "true");
  const lease = parseDuration(envValue(kubernetes, "KEYCAST_LEASE") ?? "")!;
  assert.ok(lease >= 2, "no lease");
  const preStop = Number(kubernetes.match(/command:\s*\["\/bin\/sleep",\s*"(\d+)"\]/)?.[1]);
  assert.ok(preStop >= 0, "no preStop sleep");
  const grace = numberSetting(kubernetes, "terminationGracePeriodSeconds");
  assert.ok(
    grace >= preStop + lease + drainSeconds + 5,
    `terminationGracePeriodSeconds ${grace} is short for the hand-over and the drain`,
  );
  // The budget lets one of the three pods go at a time.
  assert.match(kubernetes, /kind: PodDisruptionBudget[\s\S]*maxUnavailable: 1/);
  const secretKeys = [...kubernetes.matchAll(/^\s+([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]);
  const referenced = [...kubernetes.matchAll(/^\s*key:\s*([A-Z][A-Z0-9_]*)\s*$/gm)].map((m) =>
    m[1]
  );
  assert.deepEqual([...new Set(referenced)].sort(), [...new Set(secretKeys)].sort());

  const cloudRun = await readDeployFile("deploy/cloudrun.yaml");
  assert.ok(numberSetting(cloudRun, "autoscaling.knative.dev/minScale") >= 2);
  assert.equal(envValue(cloudRun, "KEYCAST_CLUSTER"), "true");
  // Cloud Run kills an instance 10 s after SIGTERM: the hand-over (at most the lease) must fit.
  assert.ok(parseDuration(envValue(cloudRun, "KEYCAST_LEASE") ?? "")! < 10);
  assert.match(cloudRun, /^\s*run\.googleapis\.com\/cpu-throttling:\s*"false"\s*$/m);
  // Cloud Run sets PORT itself and refuses a revision that sets it.
  assert.doesNotMatch(cloudRun, /^\s*-\s*name:\s*PORT\s*$/m);

  const supervisor = await readDeployFile("deploy/supervisor.conf");
  assert.match(supervisor, /^command=\/usr\/local\/bin\/keycast serve$/m);
  assert.match(supervisor, /^stopsignal=TERM$/m);
  assert.ok(
    numberSetting(supervisor, "stopwaitsecs") >= DEFAULT_LEASE_SECONDS + drainSeconds + 10,
  );
  assert.equal(numberSetting(supervisor, "numprocs"), 1);
});

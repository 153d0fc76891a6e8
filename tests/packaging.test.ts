/**
 * Packaging checks that run offline. `deno compile` needs a `denort` base binary these machines
 * cannot download, so: (1) the compile task's `--include` list must cover every worker module,
 * every migration and every `import.meta.url`-relative asset in src/, and its permissions must be
 * explicit; (2) the same entry points, built with `deno bundle`, must start, answer `/health` and
 * sign a request from nostr-tools' BunkerSigner through the test relay, with explicit permissions.
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

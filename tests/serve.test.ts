/** End to end: `keycast serve` as a real process on the embedded database. */
import { assertEquals, assertOk, assertStringIncludes } from "./helpers/assert.ts";
import { runKeycast, startServe } from "./helpers/serve.ts";

// A dead loopback port: serve needs a relay list, and tests never reach outside 127.0.0.1.
const RELAY_ARGS = ["--relay", "ws://127.0.0.1:9"];

Deno.test("serve starts on a fresh data dir, answers /health, stops on SIGTERM and restarts", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "keycast-serve-" });
  try {
    const env = { KEYCAST_DATA_DIR: dataDir };
    {
      await using server = await startServe({ args: RELAY_ARGS, env });
      const response = await fetch(`${server.url}/health`);
      assertEquals(response.status, 200);
      const body = await response.json();
      assertEquals(body.status, "ok");
      assertEquals(body.database, "ok");
      assertEquals(typeof body.version, "string");
      assertEquals((await Deno.stat(`${dataDir}/master.key`)).mode! & 0o777, 0o600);
      assertEquals((await Deno.stat(`${dataDir}/admin.token`)).mode! & 0o777, 0o600);
      assertOk((await Deno.stat(`${dataDir}/pgdata`)).isDirectory);
      assertEquals(await server.stop("SIGTERM"), 0);
      assertOk(server.lines.some((line) => line.includes('"Stopped"')));
    }
    const key = await Deno.readTextFile(`${dataDir}/master.key`);
    await using again = await startServe({ args: RELAY_ARGS, env });
    assertEquals((await fetch(`${again.url}/health`).then((r) => r.json())).database, "ok");
    assertEquals(await Deno.readTextFile(`${dataDir}/master.key`), key);
    assertEquals(await again.stop("SIGINT"), 0);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("serve reports every bad flag on its own line and exits 2", async () => {
  const result = await runKeycast([
    "serve",
    "--relay",
    "htp://x",
    "--port",
    "99999",
    "--workers",
    "0",
    "--bogus",
  ]);
  assertEquals(result.code, 2);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 4, result.stderr);
  assertStringIncludes(result.stderr, '--relay: cannot use relay URL "htp://x"');
  assertStringIncludes(result.stderr, '--port: cannot use "99999"');
  assertStringIncludes(result.stderr, '--workers: cannot use "0"');
  assertStringIncludes(result.stderr, 'Unknown flag "--bogus"');
});

Deno.test("serve refuses a master key that is readable by others or has the wrong length", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "keycast-serve-" });
  try {
    const file = `${dataDir}/master.key`;
    await Deno.writeTextFile(file, `${btoa("x".repeat(32))}\n`, { mode: 0o600 });
    await Deno.chmod(file, 0o644);
    const loose = await runKeycast(["serve", ...RELAY_ARGS, "--data-dir", dataDir]);
    assertEquals(loose.code, 2);
    assertStringIncludes(loose.stderr, "chmod 600");

    const short = await runKeycast(["serve", ...RELAY_ARGS, "--data-dir", dataDir], {
      env: { KEYCAST_MASTER_KEY: btoa("too short") },
    });
    assertEquals(short.code, 2);
    assertStringIncludes(short.stderr, "KEYCAST_MASTER_KEY");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("version prints keycast, Deno and target; help lists commands", async () => {
  const version = await runKeycast(["version"]);
  assertEquals(version.code, 0);
  assertStringIncludes(version.stdout, "keycast ");
  assertStringIncludes(version.stdout, `deno ${Deno.version.deno}`);
  const help = await runKeycast(["help"]);
  assertEquals(help.code, 0);
  for (const command of ["serve", "migrate", "version"]) assertStringIncludes(help.stdout, command);
  const serveHelp = await runKeycast(["serve", "--help"]);
  assertStringIncludes(serveHelp.stdout, "--relay URL");
  assertStringIncludes(serveHelp.stdout, "KEYCAST_RELAYS");
});

/** End to end: `keycast serve` as a real process on the embedded SQLite database. */
import assert from "node:assert/strict";
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
      assert.equal(response.status, 200);
      const body = await response.json();
      assert.equal(body.status, "ok");
      assert.equal(body.database, "ok");
      assert.equal(typeof body.version, "string");
      assert.deepEqual((await Deno.stat(`${dataDir}/master.key`)).mode! & 0o777, 0o600);
      assert.deepEqual((await Deno.stat(`${dataDir}/admin.token`)).mode! & 0o777, 0o600);
      assert.ok((await Deno.stat(`${dataDir}/keycast.db`)).isFile);
      const ready = await fetch(`${server.url}/health/ready`);
      await ready.body?.cancel();
      assert.equal(ready.status, 200);
      assert.equal(await server.stop("SIGTERM"), 0);
      assert.ok(server.lines.some((line) => line.includes('"Stopped"')));
    }
    const key = await Deno.readTextFile(`${dataDir}/master.key`);
    await using again = await startServe({ args: RELAY_ARGS, env });
    assert.equal((await fetch(`${again.url}/health`).then((r) => r.json())).database, "ok");
    assert.deepEqual(await Deno.readTextFile(`${dataDir}/master.key`), key);
    assert.equal(await again.stop("SIGINT"), 0);
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
  assert.equal(result.code, 2);
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 4, result.stderr);
  assert.match(result.stderr, /--relay: cannot use relay URL "htp:\/\/x"/);
  assert.match(result.stderr, /--port: cannot use "99999"/);
  assert.match(result.stderr, /--workers: cannot use "0"/);
  assert.match(result.stderr, /Unknown flag "--bogus"/);
});

Deno.test("serve refuses a master key that is readable by others or has the wrong length", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "keycast-serve-" });
  try {
    const file = `${dataDir}/master.key`;
    await Deno.writeTextFile(file, `${btoa("x".repeat(32))}\n`, { mode: 0o600 });
    await Deno.chmod(file, 0o644);
    const loose = await runKeycast(["serve", ...RELAY_ARGS, "--data-dir", dataDir]);
    assert.equal(loose.code, 2);
    assert.match(loose.stderr, /chmod 600/);
    // Refused before the database was created.
    await assert.rejects(Deno.stat(`${dataDir}/keycast.db`), Deno.errors.NotFound);

    const short = await runKeycast(["serve", ...RELAY_ARGS, "--data-dir", dataDir], {
      env: { KEYCAST_MASTER_KEY: btoa("too short") },
    });
    assert.equal(short.code, 2);
    assert.match(short.stderr, /KEYCAST_MASTER_KEY/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("version prints keycast, Deno and target; help lists commands", async () => {
  const version = await runKeycast(["version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /keycast /);
  assert.ok(version.stdout.includes(`deno ${Deno.version.deno}`), version.stdout);
  const help = await runKeycast(["help"]);
  assert.equal(help.code, 0);
  for (const command of ["serve", "migrate", "version"]) {
    assert.ok(help.stdout.includes(command), `help does not list ${command}`);
  }
  const serveHelp = await runKeycast(["serve", "--help"]);
  assert.match(serveHelp.stdout, /--relay URL/);
  assert.match(serveHelp.stdout, /KEYCAST_RELAYS/);
});

Deno.test("deno task start stops serve when the command that ran the task is killed", async () => {
  if (Deno.build.os !== "linux") return; // the watch reads /proc
  const dataDir = await Deno.makeTempDir({ prefix: "keycast-task-" });
  const config = new URL("../deno.json", import.meta.url).pathname;
  const logFile = `${dataDir}.log`;
  // sh stands in for a terminal or npx: it runs the task and is then killed without warning.
  const shell = new Deno.Command("sh", {
    args: [
      "-c",
      `"${Deno.execPath()}" task --config "${config}" start ${RELAY_ARGS.join(" ")} ` +
      `--port 0 --data-dir "${dataDir}" > "${logFile}" 2>&1`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const serving = () => serveProcesses(dataDir).length > 0;
    const listening = async () =>
      (await Deno.readTextFile(logFile).catch(() => "")).includes('"Listening"');
    for (let i = 0; i < 300 && !await listening(); i++) await delay(100);
    assert.ok(await listening(), "serve did not start");
    assert.ok(serving());
    shell.kill("SIGKILL");
    await shell.status;
    for (let i = 0; i < 100 && serving(); i++) await delay(100);
    assert.ok(!serving(), "serve kept running after the task's starter was killed");
    assert.match(await Deno.readTextFile(logFile), /"Stopped"/);
  } finally {
    for (const pid of serveProcesses(dataDir)) Deno.kill(pid, "SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(logFile).catch(() => {});
  }
});

/** Pids of `deno … serve` processes using `dataDir`, from /proc. */
function serveProcesses(dataDir: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes("serve") && cmdline.includes(dataDir)) pids.push(Number(entry.name));
    } catch (_error: unknown) {
      // gone meanwhile
    }
  }
  return pids;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

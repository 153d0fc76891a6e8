import assert from "node:assert/strict";
import { join } from "node:path";
import type { LogRecord } from "../log.ts";
import { prepareDataDir, StartupError } from "./startup.ts";
import { tempDir } from "../../tests/helpers/temp_dir.ts";

async function modeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

const posix = Deno.build.os !== "windows";

Deno.test({
  name: "prepareDataDir() creates a missing data dir with mode 0700, without a warning",
  ignore: !posix,
  fn: async () => {
    await using dir = await tempDir("keycast-startup-test-");
    const dataDir = join(dir.path, "data");
    const logs: LogRecord[] = [];
    await prepareDataDir(dataDir, (record) => void logs.push(record));
    assert.equal(await modeOf(dataDir), 0o700);
    assert.deepEqual(logs, []);
  },
});

Deno.test({
  name: "prepareDataDir() makes a data dir open to its group or others private, with one warning",
  ignore: !posix,
  fn: async () => {
    for (const mode of [0o755, 0o750, 0o707, 0o777]) {
      await using dir = await tempDir("keycast-startup-test-");
      const dataDir = join(dir.path, "data");
      await Deno.mkdir(dataDir);
      await Deno.chmod(dataDir, mode);
      const logs: LogRecord[] = [];
      await prepareDataDir(dataDir, (record) => void logs.push(record));
      assert.equal(await modeOf(dataDir), 0o700, mode.toString(8));
      assert.equal(logs.length, 1);
      assert.equal(logs[0]!.level, "warn");
      assert.match(logs[0]!.msg, /open to other users; made it private \(mode 0700\)/);
      assert.equal(logs[0]!.path, dataDir);
      assert.equal(logs[0]!.mode, `0${mode.toString(8)}`);
    }
  },
});

Deno.test({
  name: "prepareDataDir() leaves a private data dir alone (0700 or stricter)",
  ignore: !posix,
  fn: async () => {
    await using dir = await tempDir("keycast-startup-test-");
    const logs: LogRecord[] = [];
    await Deno.chmod(dir.path, 0o700);
    await prepareDataDir(dir.path, (record) => void logs.push(record));
    assert.equal(await modeOf(dir.path), 0o700);
    assert.deepEqual(logs, []);
  },
});

Deno.test("prepareDataDir() names a data dir that is not a directory", async () => {
  await using dir = await tempDir("keycast-startup-test-");
  const file = join(dir.path, "file");
  await Deno.writeTextFile(file, "");
  await assert.rejects(
    prepareDataDir(file),
    (error: unknown) =>
      error instanceof StartupError &&
      error.message.startsWith(`Cannot use the data directory "${file}": `) &&
      error.message.endsWith("; choose another --data-dir or fix its permissions"),
  );
});

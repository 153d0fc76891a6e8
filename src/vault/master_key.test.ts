import assert from "node:assert/strict";
import { base64, base64urlnopad } from "@scure/base";
import { loadMasterKey, MasterKeyError } from "./master_key.ts";
import { tempDir } from "../../tests/helpers/temp_dir.ts";

async function rejectsWith(
  promise: Promise<unknown>,
  pattern: RegExp,
  secrets: string[] = [],
): Promise<string> {
  const err = await promise.then(
    () => assert.fail("expected a MasterKeyError"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof MasterKeyError, `not a MasterKeyError: ${err}`);
  assert.match(err.message, pattern);
  for (const secret of secrets) {
    assert.ok(!err.message.includes(secret), "key material in the message");
  }
  return err.message;
}

const KEY = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);

Deno.test("loadMasterKey() creates a missing key file with mode 0600 in a 0700 directory", async () => {
  await using dir = await tempDir("keycast-master-key-");
  const file = `${dir.path}/data/master.key`;
  const loaded = await loadMasterKey({ file });
  assert.equal(loaded.source, "file");
  assert.equal(loaded.created, true);
  assert.equal(loaded.key.length, 32);
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(`${dir.path}/data`)).mode! & 0o777, 0o700);
  const text = await Deno.readTextFile(file);
  assert.match(text, /^[A-Za-z0-9+/]{43}=\n$/);
  assert.deepEqual(base64.decode(text.trim()), loaded.key);
});

Deno.test("loadMasterKey() reuses an existing key file", async () => {
  await using dir = await tempDir("keycast-master-key-");
  const file = `${dir.path}/master.key`;
  const first = await loadMasterKey({ file });
  const second = await loadMasterKey({ file });
  assert.equal(second.created, false);
  assert.equal(second.source, "file");
  assert.deepEqual(second.key, first.key);
});

Deno.test("loadMasterKey() gives concurrent first starts the same key", async () => {
  await using dir = await tempDir("keycast-master-key-");
  const file = `${dir.path}/master.key`;
  const results = await Promise.all([1, 2, 3].map(() => loadMasterKey({ file })));
  assert.equal(results.filter((r) => r.created).length, 1);
  for (const r of results) assert.deepEqual(r.key, results[0]!.key);
});

Deno.test("loadMasterKey() refuses a key file group or others can access", async () => {
  await using dir = await tempDir("keycast-master-key-");
  const file = `${dir.path}/master.key`;
  await loadMasterKey({ file });
  const encoded = (await Deno.readTextFile(file)).trim();
  for (const mode of [0o640, 0o604, 0o620]) {
    await Deno.chmod(file, mode);
    const message = await rejectsWith(loadMasterKey({ file }), /group or others can access it/, [
      encoded,
    ]);
    assert.ok(message.includes(`chmod 600 ${file}`), message);
    assert.ok(message.includes(`mode 0${mode.toString(8)}`), message);
  }
});

Deno.test("loadMasterKey() refuses a key file of the wrong length or encoding", async () => {
  await using dir = await tempDir("keycast-master-key-");
  const file = `${dir.path}/master.key`;
  const short = base64.encode(KEY.subarray(0, 16));
  await Deno.writeTextFile(file, `${short}\n`, { mode: 0o600 });
  await rejectsWith(loadMasterKey({ file }), /decodes to 16 bytes, expected 32/, [short]);
  await Deno.writeTextFile(file, "not base64 at all!\n");
  await rejectsWith(loadMasterKey({ file }), /is not valid base64/, ["base64 at all"]);
  await Deno.writeTextFile(file, "");
  await rejectsWith(loadMasterKey({ file }), /content is empty/);
  await Deno.writeTextFile(file, "A".repeat(5000));
  await rejectsWith(loadMasterKey({ file }), /it is 5000 bytes/);
});

Deno.test("loadMasterKey() refuses a key path that is a directory", async () => {
  await using dir = await tempDir("keycast-master-key-");
  await rejectsWith(loadMasterKey({ file: dir.path }), /not a regular file/);
});

Deno.test("loadMasterKey() takes a valid KEYCAST_MASTER_KEY and leaves the file alone", async () => {
  await using dir = await tempDir("keycast-master-key-");
  const file = `${dir.path}/master.key`;
  for (
    const value of [
      base64.encode(KEY),
      ` ${base64urlnopad.encode(KEY)}\n`,
      base64.encode(KEY).replace(/=$/, ""),
    ]
  ) {
    const loaded = await loadMasterKey({ fromEnv: value, file });
    assert.deepEqual(loaded, { key: KEY, source: "env", created: false });
  }
  await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
});

Deno.test("loadMasterKey() refuses a bad KEYCAST_MASTER_KEY without echoing it", async () => {
  await using dir = await tempDir("keycast-master-key-");
  const file = `${dir.path}/master.key`;
  const hint = /openssl rand -base64 32/;
  const short = base64.encode(KEY.subarray(0, 31));
  let message = await rejectsWith(
    loadMasterKey({ fromEnv: short, file }),
    /decodes to 31 bytes, expected 32/,
    [short],
  );
  assert.match(message, hint);
  message = await rejectsWith(
    loadMasterKey({ fromEnv: "s3cr3t-p@ssw0rd!", file }),
    /not valid base64/,
    ["s3cr3t"],
  );
  assert.match(message, hint);
  message = await rejectsWith(
    loadMasterKey({ fromEnv: "  ", file }),
    /KEYCAST_MASTER_KEY: the value is empty/,
  );
  assert.match(message, hint);
  await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
});

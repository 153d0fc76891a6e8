// Child process of pool.test.ts: runs one job on a pool whose worker module cannot load and prints
// what happened as JSON. It runs apart so the runtime's report of the load error stays off the
// test output.
import { Vault } from "../../vault/vault.ts";
import { SignerPool } from "../pool.ts";
import { sealedKey, TEST_MASTER_KEY } from "../testing.ts";

const key = await sealedKey(await Vault.create(TEST_MASTER_KEY));
const reasons: string[] = [];
const pool = new SignerPool({
  masterKey: TEST_MASTER_KEY,
  workers: 1,
  workerUrl: new URL("./unloadable_worker.ts", import.meta.url),
  log: (record) => {
    if (typeof record.reason === "string") reasons.push(record.reason);
  },
});
const template = { kind: 1, created_at: 1_700_000_000, tags: [], content: "hi" };
const error = await pool.signWithKey({ key: key.ref, template })
  .then(() => "none", (error: Error) => error.name);
const { crashes } = pool.stats();
await pool.close();
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify({ error, crashes, reasons })));

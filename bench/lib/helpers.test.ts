import assert from "node:assert/strict";
import { parseBenchArgs } from "./args.ts";
import { cpuMs, machineBusyMs, memory, threadCpuMs } from "./proc.ts";
import { fixed, percentile, percentiles } from "./report.ts";

Deno.test("percentiles() and percentile() use nearest rank and are NaN without samples", () => {
  const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
  const stats = percentiles(samples);
  assert.deepEqual(stats, { count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
  assert.deepEqual(percentiles([7]).p99, 7);
  assert.ok(Number.isNaN(percentiles([]).p50));
  assert.deepEqual(percentile(samples, 0.9), 90);
  assert.ok(Number.isNaN(percentile([], 0.9)));
});

Deno.test("fixed() prints n/a for undefined and non-finite values", () => {
  assert.deepEqual(fixed(1.234, 2), "1.23");
  assert.deepEqual(fixed(undefined), "n/a");
  assert.deepEqual(fixed(NaN), "n/a");
  assert.deepEqual(fixed(Infinity), "n/a");
});

Deno.test("parseBenchArgs() reads both flag forms and rejects unknown flags and bad numbers", () => {
  const defaults = { clients: 16, database: "sqlite" };
  assert.deepEqual(parseBenchArgs(["--clients", "4", "--database=postgres"], defaults), {
    clients: 4,
    database: "postgres",
  });
  assert.deepEqual(parseBenchArgs([], defaults), defaults);
  assert.throws(() => parseBenchArgs(["--client", "4"], defaults), /known flags are clients/);
  assert.throws(() => parseBenchArgs(["--clients", "0"], defaults), /positive integer/);
  assert.throws(() => parseBenchArgs(["--clients", "1.5"], defaults), /positive integer/);
  assert.throws(() => parseBenchArgs(["--clients"], defaults), /needs a value/);
  assert.throws(() => parseBenchArgs(["clients"], defaults), /expected --name/);
});

Deno.test({
  name: "cpuMs(), threadCpuMs() and memory() read this process from /proc",
  ignore: Deno.build.os !== "linux",
  fn() {
    const before = cpuMs(Deno.pid)!;
    // Burn CPU until the counter moves by 20 ms (clock ticks are 10 ms), at most 2 s of wall time.
    let after = before;
    const until = performance.now() + 2_000;
    while (after < before + 20 && performance.now() < until) after = cpuMs(Deno.pid)!;
    assert.ok(after >= before + 20, `CPU went ${before} → ${after} ms in 2 s of spinning`);
    const main = threadCpuMs(Deno.pid).get(Deno.pid);
    assert.ok(main !== undefined && main.ms > 0 && main.ms <= after);
    const mem = memory(Deno.pid)!;
    assert.ok(mem.rssMiB > 10 && mem.peakMiB >= mem.rssMiB);
    assert.ok(machineBusyMs()! > 0);
    assert.deepEqual(cpuMs(2 ** 22 + 12345), undefined); // no such pid
  },
});

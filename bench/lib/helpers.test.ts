import assert from "node:assert/strict";
import { parseBenchArgs } from "./args.ts";
import { commandLine } from "./machine.ts";
import { aroundSignal } from "./steady.ts";
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
    // Burn CPU on this thread until its own counter moves by 20 ms (clock ticks are 10 ms), at
    // most 2 s of wall time. The process total alone is no measure of this thread: the runtime's
    // other threads (compilers, GC) may move it first. Under `deno test` the JavaScript thread
    // is not the process's first (tid = pid): /proc/thread-self names it.
    const tid = Number(Deno.readLinkSync("/proc/thread-self").split("/task/")[1]);
    const mainMs = () => threadCpuMs(Deno.pid).get(tid)?.ms ?? NaN;
    const mainBefore = mainMs();
    let main = mainBefore;
    const until = performance.now() + 2_000;
    while (!(main >= mainBefore + 20) && performance.now() < until) main = mainMs();
    assert.ok(main >= mainBefore + 20, `This thread's CPU went ${mainBefore} → ${main} ms in 2 s`);
    // The process total, read after the thread's, holds what the thread spent; the kernel
    // rounds thread and process times apart, so each may be a tick (10 ms) off the other.
    const after = cpuMs(Deno.pid)!;
    assert.ok(
      after >= before + 10 && main <= after + 10,
      `CPU ${before} → ${after}, this thread ${main} ms`,
    );
    const mem = memory(Deno.pid)!;
    assert.ok(mem.rssMiB > 10 && mem.peakMiB >= mem.rssMiB);
    assert.ok(machineBusyMs()! > 0);
    assert.deepEqual(cpuMs(2 ** 22 + 12345), undefined); // no such pid
  },
});

Deno.test("aroundSignal() reads first answer, longest gap and losses after the signal", () => {
  const records = [
    { sentAt: 0, answeredAt: 10 },
    { sentAt: 100 },
    { sentAt: 200, answeredAt: 450 },
    { sentAt: 300, answeredAt: 320 },
  ];
  assert.deepEqual(aroundSignal(records, 50), {
    firstAnswerMs: 270,
    longestGapMs: 270,
    sent: 3,
    lost: 1,
  });
  // Nothing answered after the signal: the whole window up to the last request went without.
  assert.deepEqual(aroundSignal([{ sentAt: 60 }, { sentAt: 160 }], 50), {
    firstAnswerMs: undefined,
    longestGapMs: 110,
    sent: 2,
    lost: 2,
  });
});

Deno.test("commandLine() names the script from the repository root and quotes arguments", () => {
  const script = new URL("../scale.ts", import.meta.url).href;
  assert.deepEqual(
    commandLine(script, ["--cluster", "--lease", "10s", "--label", "it's"]),
    `deno run -A bench/scale.ts --cluster --lease 10s --label 'it'\\''s'`,
  );
});

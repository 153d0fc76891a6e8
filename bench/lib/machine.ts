/**
 * What a benchmark report says about how it was run: the command line, and a one-line note on
 * the machine (cores, CPU model, memory, OS, Deno), so figures from different runs can be told
 * apart. Linux details come from `/proc`; elsewhere they read "n/a".
 */
import { readProc } from "./proc.ts";

/** The command that ran this script: `deno run -A <script> <args>`, relative to the repository. */
export function commandLine(scriptUrl: string, args: readonly string[]): string {
  const root = new URL("../../", import.meta.url).pathname;
  const script = new URL(scriptUrl).pathname;
  const relative = script.startsWith(root) ? script.slice(root.length) : script;
  return ["deno run -A", relative, ...args.map(quote)].join(" ");
}

/**
 * One line on the machine: cores, CPU model, memory, kernel, Deno and V8, and the load average
 * before the run (well above 0: something else was running, and the figures show it).
 */
export function machineNote(): string {
  const model = readProc("/proc/cpuinfo")?.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim();
  const load = readProc("/proc/loadavg")?.split(" ", 1)[0];
  const memory = Deno.systemMemoryInfo();
  return [
    `${navigator.hardwareConcurrency} cores (${model ?? "n/a"})`,
    `${(memory.total / 2 ** 30).toFixed(1)} GiB RAM`,
    `${Deno.build.os} ${Deno.osRelease()}`,
    `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}`,
    `load average ${load ?? "n/a"} (1 min)`,
  ].join(", ");
}

function quote(arg: string): string {
  return /^[\w./=:@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

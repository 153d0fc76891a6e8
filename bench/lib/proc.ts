/**
 * Process figures from Linux `/proc` for the benchmarks: CPU time (user + system, all threads) and
 * resident memory of a process by pid. Elsewhere than Linux the readers return `undefined` and the
 * benchmarks print "n/a".
 */

/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time a process has used so far (all its threads, user + system), in ms. */
export function cpuMs(pid: number): number | undefined {
  return statCpuMs(`/proc/${pid}/stat`);
}

function statCpuMs(path: string): number | undefined {
  const stat = readProc(path);
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields after the name start at field 3 (state); utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** CPU time (ms) of each thread of `pid`, by thread id, with the thread's name (`comm`). */
export function threadCpuMs(pid: number): Map<number, { name: string; ms: number }> {
  const threads = new Map<number, { name: string; ms: number }>();
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync(`/proc/${pid}/task`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return threads;
    throw error;
  }
  for (const entry of entries) {
    const tid = Number(entry.name);
    const ms = statCpuMs(`/proc/${pid}/task/${tid}/stat`);
    const name = readProc(`/proc/${pid}/task/${tid}/comm`)?.trim();
    if (ms !== undefined && name !== undefined) threads.set(tid, { name, ms });
  }
  return threads;
}

/** CPU time the whole machine spent outside idle and iowait so far, in ms summed over cores. */
export function machineBusyMs(): number | undefined {
  const line = readProc("/proc/stat")?.split("\n", 1)[0];
  if (!line?.startsWith("cpu ")) return undefined;
  // Fields: user nice system idle iowait irq softirq steal …
  const ticks = line.slice(4).trim().split(/\s+/).map(Number);
  let busy = 0;
  for (const index of [0, 1, 2, 5, 6, 7]) busy += ticks[index] ?? NaN;
  return Number.isFinite(busy) ? (busy * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
}

/** Resident memory of a process: current (`VmRSS`) and peak (`VmHWM`), in MiB. */
export interface Memory {
  /** Resident set size now, in MiB. */
  rssMiB: number;
  /** Highest resident set size since the process started, in MiB. */
  peakMiB: number;
}

/** Current and peak resident memory of `pid`. */
export function memory(pid: number): Memory | undefined {
  const status = readProc(`/proc/${pid}/status`);
  if (status === undefined) return undefined;
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  const rss = kib("VmRSS");
  const peak = kib("VmHWM");
  if (!Number.isFinite(rss) || !Number.isFinite(peak)) return undefined;
  return { rssMiB: rss / 1024, peakMiB: peak / 1024 };
}

/** Pids of the direct children of `parentPid` whose command line contains `needle`. */
export function childPids(parentPid: number, needle: string): number[] {
  const found: number[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return found;
    throw error;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = readProc(`/proc/${entry.name}/stat`);
    const ppid = stat && Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid !== parentPid) continue;
    const cmdline = readProc(`/proc/${entry.name}/cmdline`);
    if (cmdline?.includes(needle)) found.push(Number(entry.name));
  }
  return found;
}

/** A /proc file's text, or undefined when it is gone (the process exited) or not here. */
export function readProc(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    // The process exited, or this is not Linux.
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Stops `serve` when the command that started it is gone. `deno task start` runs serve as the
 * child of a task runner; when the runner's own parent (a terminal, `npx`) is killed, the runner
 * is re-parented and serve would keep running with its port bound. With
 * `KEYCAST_EXIT_WITH_PARENT=1` (the `start` task sets it), serve checks every second that its
 * parent and its parent's parent are the processes they were at start, and shuts down when one
 * changed. Linux only (it reads `/proc`); elsewhere it does nothing. Services should run the
 * compiled binary or `deno run` directly under their supervisor instead.
 */

/** Reads a process's parent pid; undefined when the process is gone. */
export type ParentOf = (pid: number) => number | undefined;

/** The parent pid of `pid` from `/proc/<pid>/stat`, or undefined (gone, or not Linux). */
export function procParentOf(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; the last ")" ends it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ppid = Number(fields[1]);
    return Number.isSafeInteger(ppid) ? ppid : undefined;
  } catch (_error: unknown) {
    return undefined;
  }
}

/** Options of {@link watchParent}. */
export interface ParentWatchOptions {
  /** Called once when the parent chain changed. */
  onGone: () => void;
  /** This process's parent pid, read live. Default `() => Deno.ppid`. */
  ppid?: () => number;
  /** Reads a process's parent. Default {@link procParentOf}. */
  parentOf?: ParentOf;
  /** Time between checks, in ms. Default 1_000. */
  intervalMs?: number;
}

/** Starts watching; dispose to stop. Does nothing when the parent chain cannot be read. */
export function watchParent(options: ParentWatchOptions): Disposable {
  const ppid = options.ppid ?? (() => Deno.ppid);
  const parentOf = options.parentOf ?? procParentOf;
  const parent = ppid();
  const grandparent = parentOf(parent);
  if (grandparent === undefined) return { [Symbol.dispose]: () => {} };
  const timer = setInterval(() => {
    if (ppid() === parent && parentOf(parent) === grandparent) return;
    clearInterval(timer);
    options.onGone();
  }, options.intervalMs ?? 1_000);
  return { [Symbol.dispose]: () => clearInterval(timer) };
}

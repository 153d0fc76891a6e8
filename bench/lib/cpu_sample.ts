/**
 * CPU accounting of one benchmark phase: keycast (total and by thread group), the relay, this
 * process (the clients) and the rest of the machine, from `/proc` snapshots taken before and after.
 */
import { cpuMs, machineBusyMs, threadCpuMs } from "./proc.ts";

/** Pids whose CPU a phase accounts for. */
export interface Pids {
  /** The `keycast serve` process. */
  keycast: number;
  /** The relay process, when found. */
  relay?: number;
}

/** A snapshot of every counter. */
export interface CpuSnapshot {
  /** keycast's threads by tid. */
  threads: Map<number, { name: string; ms: number }>;
  keycast?: number;
  relay?: number;
  clients?: number;
  machine?: number;
}

/** CPU used during a phase, in ms (undefined where `/proc` was not readable). */
export interface CpuUsage {
  keycast?: number;
  relay?: number;
  clients?: number;
  /** Every other process on the machine (other users' work makes a run noisy). */
  others?: number;
  /** keycast's CPU by thread group: main, signer workers, V8 helpers (GC, compiler), tokio (I/O). */
  keycastThreads: Map<string, number>;
}

/** Reads every counter now. */
export function snapshot(pids: Pids): CpuSnapshot {
  return {
    threads: threadCpuMs(pids.keycast),
    keycast: cpuMs(pids.keycast),
    relay: pids.relay === undefined ? undefined : cpuMs(pids.relay),
    clients: cpuMs(Deno.pid),
    machine: machineBusyMs(),
  };
}

/** The CPU used between two snapshots of the same processes. */
export function usage(pids: Pids, before: CpuSnapshot, after: CpuSnapshot): CpuUsage {
  const delta = (key: "keycast" | "relay" | "clients" | "machine") => {
    const start = before[key];
    const end = after[key];
    return start === undefined || end === undefined ? undefined : end - start;
  };
  const keycast = delta("keycast");
  const relay = delta("relay");
  const clients = delta("clients");
  const machine = delta("machine");
  const others = machine === undefined || keycast === undefined || clients === undefined
    ? undefined
    : Math.max(0, machine - keycast - clients - (relay ?? 0));
  const keycastThreads = new Map<string, number>();
  for (const [tid, thread] of after.threads) {
    const group = threadGroup(pids.keycast, tid, thread.name);
    const used = thread.ms - (before.threads.get(tid)?.ms ?? 0);
    keycastThreads.set(group, (keycastThreads.get(group) ?? 0) + used);
  }
  return { keycast, relay, clients, others, keycastThreads };
}

/** Names a thread of a Deno process: main, web workers (`worker-N`), V8 helpers or tokio. */
function threadGroup(pid: number, tid: number, name: string): string {
  if (tid === pid) return "main";
  if (name.startsWith("V8 ")) return "V8 helpers";
  if (name.startsWith("tokio")) return "tokio";
  if (name.startsWith("worker")) return "signer workers";
  return "other";
}

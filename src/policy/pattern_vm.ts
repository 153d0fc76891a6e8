/**
 * A Pike VM over the programs of `pattern_program.ts`: all threads advance together, one input
 * code point at a time, and a program counter is live at most once per position — so a search
 * costs at most O(input length × program size) character tests, and counts them against a budget.
 */
import { isWordChar } from "./pattern_chars.ts";
import type { Instruction } from "./pattern_program.ts";

/** Character tests left for one request's content checks; shared by all its patterns. */
export interface StepBudget {
  /** Tests left; a search that would go below zero stops. */
  remaining: number;
}

/** Search outcome: found, not found, or stopped because the budget ran out. */
export type SearchResult = boolean | "exhausted";

/** A program ready to search. */
export class PatternVm {
  readonly #program: readonly Instruction[];
  /** Character steps of the start closure, when it holds no assertion (the fast path). */
  readonly #startChars: number[] | undefined;
  readonly #matchesEmpty: boolean;

  constructor(program: readonly Instruction[]) {
    this.#program = program;
    const start = startClosure(program);
    this.#startChars = start.chars;
    this.#matchesEmpty = start.matches;
  }

  /** Whether the program matches somewhere in `input`, spending `budget`. */
  search(input: readonly number[], budget: StepBudget): SearchResult {
    if (this.#matchesEmpty) return true;
    const program = this.#program;
    const marks = new Uint32Array(program.length);
    const stack = new Int32Array(program.length * 2 + 2);
    let current = new Int32Array(program.length);
    let next = new Int32Array(program.length);
    let generation = 1;
    const add = (list: Int32Array, count: number, pc: number, pos: number): number =>
      addThread(program, marks, generation, stack, list, count, pc, input, pos);
    let count = this.#startChars ? 0 : add(current, 0, 0, 0);
    if (count < 0) return true;
    for (let pos = 0; pos < input.length; pos++) {
      const cp = input[pos]!;
      generation++;
      let nextCount = 0;
      let steps = count;
      for (let i = 0; i < count && nextCount >= 0; i++) {
        const pc = current[i]!;
        if ((program[pc] as { test(cp: number): boolean }).test(cp)) {
          nextCount = add(next, nextCount, pc + 1, pos + 1);
        }
      }
      if (this.#startChars) {
        steps += this.#startChars.length;
        for (const pc of this.#startChars) {
          if (nextCount < 0) break;
          if ((program[pc] as { test(cp: number): boolean }).test(cp)) {
            nextCount = add(next, nextCount, pc + 1, pos + 1);
          }
        }
      } else if (nextCount >= 0) {
        steps++;
        nextCount = add(next, nextCount, 0, pos + 1);
      }
      if (nextCount < 0) return true;
      budget.remaining -= steps;
      if (budget.remaining < 0) return "exhausted";
      [current, next, count] = [next, current, nextCount];
    }
    return false;
  }
}

/**
 * Adds `start` and every step it reaches without reading input to `list` (from `count` on).
 * Returns the new count, or -1 on reaching `match`.
 */
function addThread(
  program: readonly Instruction[],
  marks: Uint32Array,
  generation: number,
  stack: Int32Array,
  list: Int32Array,
  count: number,
  start: number,
  input: readonly number[],
  pos: number,
): number {
  let top = 0;
  stack[top++] = start;
  while (top > 0) {
    const pc = stack[--top]!;
    if (marks[pc] === generation) continue;
    marks[pc] = generation;
    const instruction = program[pc]!;
    switch (instruction.op) {
      case "match":
        return -1;
      case "char":
        list[count++] = pc;
        break;
      case "jump":
        stack[top++] = instruction.next;
        break;
      case "split":
        stack[top++] = instruction.alt;
        stack[top++] = instruction.next;
        break;
      case "assert":
        if (holds(instruction.kind, input, pos)) stack[top++] = pc + 1;
    }
  }
  return count;
}

function holds(kind: string, input: readonly number[], pos: number): boolean {
  if (kind === "start") return pos === 0;
  if (kind === "end") return pos === input.length;
  const before = pos > 0 && isWordChar(input[pos - 1]!);
  const after = pos < input.length && isWordChar(input[pos]!);
  return (before !== after) === (kind === "word");
}

/** The character steps reachable from pc 0 without input; undefined chars if an assertion is. */
function startClosure(program: readonly Instruction[]): { chars?: number[]; matches: boolean } {
  const seen = new Set<number>();
  const chars: number[] = [];
  const stack = [0];
  let matches = false;
  let asserts = false;
  while (stack.length > 0) {
    const pc = stack.pop()!;
    if (seen.has(pc)) continue;
    seen.add(pc);
    const instruction = program[pc]!;
    if (instruction.op === "match") matches = true;
    else if (instruction.op === "char") chars.push(pc);
    else if (instruction.op === "jump") stack.push(instruction.next);
    else if (instruction.op === "split") stack.push(instruction.alt, instruction.next);
    else asserts = true;
  }
  return { chars: asserts ? undefined : chars, matches: matches && !asserts };
}

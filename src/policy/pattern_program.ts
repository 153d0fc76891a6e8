/**
 * Compiles a parsed pattern to a small program for the Pike VM in `pattern.ts`: character steps,
 * assertions, jumps and two-way splits. Counted repeats are unrolled; the program size is capped.
 */
import type { PatternNode } from "./pattern_parse.ts";
import { PatternSyntaxError } from "./pattern_parse.ts";

/** One instruction. `next`/`alt` are instruction indexes. */
export type Instruction =
  | { op: "char"; test: (cp: number) => boolean }
  | { op: "assert"; kind: "start" | "end" | "word" | "not-word" }
  | { op: "jump"; next: number }
  | { op: "split"; next: number; alt: number }
  | { op: "match" };

/** Largest program one pattern may compile to, in instructions. */
export const MAX_PROGRAM = 2000;

/** The program for `node`, ending in `match`; throws {@link PatternSyntaxError} when too large. */
export function compileProgram(node: PatternNode): Instruction[] {
  const program: Instruction[] = [];
  emit(node, program);
  program.push({ op: "match" });
  return program;
}

function push(program: Instruction[], instruction: Instruction): number {
  if (program.length >= MAX_PROGRAM) {
    throw new PatternSyntaxError(
      `the pattern is too large once its repeats are unrolled (over ${MAX_PROGRAM} steps)`,
    );
  }
  return program.push(instruction) - 1;
}

function emit(node: PatternNode, program: Instruction[]): void {
  switch (node.type) {
    case "char":
      push(program, { op: "char", test: node.test });
      return;
    case "assert":
      push(program, { op: "assert", kind: node.kind });
      return;
    case "seq":
      for (const item of node.items) emit(item, program);
      return;
    case "alt": {
      const jumps: number[] = [];
      node.options.forEach((option, i) => {
        const last = i === node.options.length - 1;
        const split = last ? -1 : push(program, { op: "split", next: 0, alt: 0 });
        const start = program.length;
        emit(option, program);
        if (!last) {
          jumps.push(push(program, { op: "jump", next: 0 }));
          program[split] = { op: "split", next: start, alt: program.length };
        }
      });
      for (const at of jumps) program[at] = { op: "jump", next: program.length };
      return;
    }
    case "repeat":
      emitRepeat(node.node, node.min, node.max, program);
  }
}

function emitRepeat(node: PatternNode, min: number, max: number, program: Instruction[]): void {
  for (let i = 0; i < min; i++) emit(node, program);
  if (max === Infinity) {
    // loop: split(body, out); body; jump loop
    const loop = push(program, { op: "split", next: 0, alt: 0 });
    emit(node, program);
    push(program, { op: "jump", next: loop });
    program[loop] = { op: "split", next: loop + 1, alt: program.length };
    return;
  }
  const splits: number[] = [];
  for (let i = min; i < max; i++) {
    splits.push(push(program, { op: "split", next: 0, alt: 0 }));
    emit(node, program);
  }
  for (const at of splits) program[at] = { op: "split", next: at + 1, alt: program.length };
}

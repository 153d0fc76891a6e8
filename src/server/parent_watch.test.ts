import assert from "node:assert/strict";
import { procParentOf, watchParent } from "./parent_watch.ts";

Deno.test("procParentOf() reads this process's parent from /proc", () => {
  if (Deno.build.os !== "linux") return;
  assert.equal(procParentOf(Deno.pid), Deno.ppid);
  assert.equal(procParentOf(2 ** 30), undefined);
});

Deno.test("watchParent() calls onGone once the parent's parent changed", async () => {
  const parents = new Map([[100, 50]]);
  let gone = 0;
  using _watch = watchParent({
    onGone: () => gone++,
    ppid: () => 100,
    parentOf: (pid) => parents.get(pid),
    intervalMs: 1,
  });
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(gone, 0);
  parents.set(100, 1); // the task runner was re-parented: its starter is gone
  for (let i = 0; i < 100 && gone === 0; i++) await new Promise((r) => setTimeout(r, 1));
  assert.equal(gone, 1);
});

Deno.test("watchParent() calls onGone when this process was re-parented", async () => {
  let parent = 100;
  let gone = 0;
  using _watch = watchParent({
    onGone: () => gone++,
    ppid: () => parent,
    parentOf: () => 50,
    intervalMs: 1,
  });
  parent = 1;
  for (let i = 0; i < 100 && gone === 0; i++) await new Promise((r) => setTimeout(r, 1));
  assert.equal(gone, 1);
});

Deno.test("watchParent() does nothing when the parent chain cannot be read", () => {
  using watch = watchParent({ onGone: () => assert.fail("called"), parentOf: () => undefined });
  assert.ok(watch);
});

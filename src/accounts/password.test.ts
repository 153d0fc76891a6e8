import assert from "node:assert/strict";
import { PasswordBusyError, PasswordHasher, PasswordHashFormatError } from "./password.ts";

// Cheap parameters keep the tests fast; the format and the logic are the same.
const FAST = { ln: 10, r: 8, p: 1 };

Deno.test("PasswordHasher hashes in PHC format with a fresh salt and verifies", async () => {
  const hasher = new PasswordHasher({ params: FAST });
  const first = await hasher.hash("correct horse battery");
  const second = await hasher.hash("correct horse battery");
  assert.match(first, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.notEqual(first, second, "each hash has its own salt");
  assert.deepEqual(await hasher.verify("correct horse battery", first), {
    ok: true,
    needsRehash: false,
  });
  assert.deepEqual(await hasher.verify("correct horse batterY", first), {
    ok: false,
    needsRehash: false,
  });
});

Deno.test("PasswordHasher.verify() asks for a rehash of a hash made with weaker parameters", async () => {
  const old = await new PasswordHasher({ params: { ln: 9, r: 8, p: 1 } }).hash("pw pw pw pw pw");
  const hasher = new PasswordHasher({ params: FAST });
  assert.deepEqual(await hasher.verify("pw pw pw pw pw", old), { ok: true, needsRehash: true });
  assert.deepEqual(await hasher.verify("wrong", old), { ok: false, needsRehash: false });
});

Deno.test("PasswordHasher normalizes Unicode, so composed and decomposed input match", async () => {
  const hasher = new PasswordHasher({ params: FAST });
  const stored = await hasher.hash("caf\u00e9 au lait!!");
  assert.equal((await hasher.verify("cafe\u0301 au lait!!", stored)).ok, true);
});

Deno.test("PasswordHasher refuses stored hashes it cannot read or that ask too much", async () => {
  const hasher = new PasswordHasher({ params: FAST });
  for (
    const stored of [
      "",
      "$2b$10$abcdefghijklmnopqrstuv",
      "$scrypt$ln=10,r=8,p=1$c2FsdA$",
      "$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
      "$scrypt$ln=10,r=8,p=99$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
    ]
  ) {
    await assert.rejects(hasher.verify("x", stored), PasswordHashFormatError, stored);
  }
});

Deno.test("PasswordHasher refuses work beyond its queue with PasswordBusyError", async () => {
  const hasher = new PasswordHasher({ params: FAST, concurrency: 1, maxWaiting: 1 });
  const running = hasher.hash("one one one one");
  const waiting = hasher.hash("two two two two");
  await assert.rejects(hasher.hash("three three three"), PasswordBusyError);
  await Promise.all([running, waiting]);
});

Deno.test("PasswordHasher.verifyNobody() is always false and costs a real verification", async () => {
  const hasher = new PasswordHasher({ params: FAST });
  assert.equal(await hasher.verifyNobody("anything at all"), false);
});

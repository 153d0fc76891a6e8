import assert from "node:assert/strict";
import { base64url } from "@scure/base";
import { bytesToHex } from "@noble/hashes/utils.js";
import { Vault, VaultError } from "./vault.ts";

const MASTER_KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
const OTHER_MASTER_KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 11);
const SECRET = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
const ROW_PUBKEY = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d";
const OTHER_ROW_PUBKEY = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e";
const AUTH_FAILED = /authentication failed \(wrong master key, wrong row, or tampered data\)/;
const NOT_V1 = /the value is not in the v1 format/;

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const err = await promise.then(() => assert.fail("expected a VaultError"), (e: unknown) => e);
  assert.ok(err instanceof VaultError, `not a VaultError: ${err}`);
  assert.match(err.message, pattern);
  assert.ok(!err.message.includes(bytesToHex(SECRET)), "the secret is in the message");
}

/** Flips one bit of the decoded body at `index` (negative counts from the end). */
function flipBit(sealed: string, index: number): string {
  const [version, keyId, encoded] = sealed.split(".");
  const body = base64url.decode(encoded!);
  body[index < 0 ? body.length + index : index]! ^= 0x01;
  return `${version}.${keyId}.${base64url.encode(body)}`;
}

Deno.test("Vault.open() returns what Vault.seal() sealed for the same row", async () => {
  const vault = await Vault.create(MASTER_KEY);
  const sealed = await vault.seal(SECRET, ROW_PUBKEY);
  assert.match(sealed, /^v1\.1\.[A-Za-z0-9_-]+=*$/);
  assert.ok(!sealed.includes(bytesToHex(SECRET)));
  assert.deepEqual(await vault.open(sealed, ROW_PUBKEY), SECRET);
  assert.deepEqual(
    await vault.open(sealed, ROW_PUBKEY.toUpperCase()),
    SECRET,
    "hex case does not matter",
  );
  const reopened = await Vault.create(new Uint8Array(MASTER_KEY));
  assert.deepEqual(
    await reopened.open(sealed, ROW_PUBKEY),
    SECRET,
    "a new vault with the same key opens it",
  );
});

Deno.test("Vault.seal() uses a fresh nonce, so two seals of one secret differ", async () => {
  const vault = await Vault.create(MASTER_KEY);
  const first = await vault.seal(SECRET, ROW_PUBKEY);
  const second = await vault.seal(SECRET, ROW_PUBKEY);
  assert.notEqual(first, second);
  const nonce = (s: string) => base64url.decode(s.split(".")[2]!).subarray(0, 12);
  assert.notDeepEqual(nonce(first), nonce(second));
  assert.deepEqual(await vault.open(second, ROW_PUBKEY), SECRET);
});

Deno.test("Vault.open() fails closed on a tampered nonce, ciphertext or tag", async () => {
  const vault = await Vault.create(MASTER_KEY);
  const sealed = await vault.seal(SECRET, ROW_PUBKEY);
  for (const index of [0, 11, 12, 30, -16, -1]) {
    await rejectsWith(vault.open(flipBit(sealed, index), ROW_PUBKEY), AUTH_FAILED);
  }
});

Deno.test("Vault.open() fails closed when the value is moved to another row", async () => {
  const vault = await Vault.create(MASTER_KEY);
  const sealed = await vault.seal(SECRET, ROW_PUBKEY);
  await rejectsWith(vault.open(sealed, OTHER_ROW_PUBKEY), AUTH_FAILED);
  await rejectsWith(vault.open(sealed, ""), AUTH_FAILED);
});

Deno.test("Vault.open() fails closed with another master key or key id", async () => {
  const sealed = await (await Vault.create(MASTER_KEY)).seal(SECRET, ROW_PUBKEY);
  const otherKey = await Vault.create(OTHER_MASTER_KEY);
  await rejectsWith(otherKey.open(sealed, ROW_PUBKEY), AUTH_FAILED);
  const otherId = await Vault.create(MASTER_KEY, 2);
  await rejectsWith(otherId.open(sealed, ROW_PUBKEY), /sealed with master key id 1, this is id 2/);
  const sealedBy2 = await otherId.seal(SECRET, ROW_PUBKEY);
  assert.match(sealedBy2, /^v1\.2\./);
  await rejectsWith(
    (await Vault.create(MASTER_KEY)).open(sealedBy2, ROW_PUBKEY),
    /master key id 2, this is id 1/,
  );
});

Deno.test("Vault.open() rejects malformed values with a clear message", async () => {
  const vault = await Vault.create(MASTER_KEY);
  const sealed = await vault.seal(SECRET, ROW_PUBKEY);
  const body = sealed.split(".")[2]!;
  const cases: [string, RegExp][] = [
    ["", NOT_V1],
    ["v1", NOT_V1],
    ["v1.1", NOT_V1],
    ["v1.1.", NOT_V1],
    [`v2.1.${body}`, NOT_V1],
    [`v1.1.${body}.x`, NOT_V1],
    [`v1.abc.${body}`, NOT_V1],
    [`v1.01.${body}`, NOT_V1],
    [`v1.0.${body}`, NOT_V1],
    ["v1.1.!!!!", /not valid base64url/],
    [`v1.1.+${body.slice(1)}`, /not valid base64url/],
    [`v1.1.${body.slice(1)}`, /not valid base64url/],
    [`v1.1.${base64url.encode(new Uint8Array(27))}`, /too short/],
  ];
  for (const [value, pattern] of cases) await rejectsWith(vault.open(value, ROW_PUBKEY), pattern);
});

Deno.test("Vault round-trips an empty secret (seal and open agree on the minimum length)", async () => {
  const vault = await Vault.create(MASTER_KEY);
  const sealed = await vault.seal(new Uint8Array(0), ROW_PUBKEY);
  assert.deepEqual(await vault.open(sealed, ROW_PUBKEY), new Uint8Array(0));
});

Deno.test("Vault.create() rejects a master key of the wrong length or a bad key id", async () => {
  await rejectsWith(Vault.create(new Uint8Array(16)), /it is 16 bytes, expected 32/);
  await rejectsWith(Vault.create(new Uint8Array(33)), /it is 33 bytes, expected 32/);
  for (const keyId of [0, -1, 1.5, Number.NaN]) {
    await rejectsWith(Vault.create(MASTER_KEY, keyId), /must be a positive integer/);
  }
});

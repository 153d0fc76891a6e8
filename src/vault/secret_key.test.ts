import assert from "node:assert/strict";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { bech32 } from "@scure/base";
import { nsecEncode } from "nostr-tools/nip19";
import { encrypt as nip49Encrypt } from "nostr-tools/nip49";
import { parseSecretKey, SecretKeyError } from "./secret_key.ts";

// Published test vectors: NIP-49 ("Test Data") and NIP-19 ("Examples").
const NIP49_NCRYPTSEC =
  "ncryptsec1qgg9947rlpvqu76pj5ecreduf9jxhselq2nae2kghhvd5g7dgjtcxfqtd67p9m0w57lspw8gsq6yphnm8623nsl8xn9j4jdzz84zm3frztj3z7s35vpzmqf6ksu8r89qk5z2zxfmu5gv8th8wclt0h4p";
const NIP49_HEX = "3501454135014541350145413501453fefb02227e449e57cf4d3a3ce05378683";
const NIP19_NSEC = "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5";
const NIP19_HEX = "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa";
const CURVE_ORDER_HEX = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
const CURVE_ORDER_MINUS_1_HEX = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140";

async function rejectsWith(
  promise: Promise<unknown>,
  pattern: RegExp,
  input?: string,
): Promise<void> {
  const err = await promise.then(() => assert.fail("expected a SecretKeyError"), (e: unknown) => e);
  assert.ok(err instanceof SecretKeyError, `not a SecretKeyError: ${err}`);
  assert.match(err.message, pattern);
  if (input) assert.ok(!err.message.includes(input.trim().slice(4, 24)), "the input is echoed");
}

/** Re-encodes an ncryptsec after `edit` changed its payload bytes. */
function tamper(ncryptsec: string, edit: (payload: Uint8Array) => void): string {
  const { words } = bech32.decode(ncryptsec as `ncryptsec1${string}`, 5000);
  const payload = bech32.fromWords(words);
  edit(payload);
  return bech32.encode("ncryptsec", bech32.toWords(payload), 5000);
}

Deno.test("parseSecretKey() decrypts the NIP-49 test vector with password nostr", async () => {
  const secretKey = await parseSecretKey(NIP49_NCRYPTSEC, "nostr");
  assert.equal(bytesToHex(secretKey), NIP49_HEX);
});

Deno.test("parseSecretKey() decodes the NIP-19 nsec vector, in either case, with whitespace", async () => {
  assert.equal(bytesToHex(await parseSecretKey(NIP19_NSEC)), NIP19_HEX);
  assert.equal(bytesToHex(await parseSecretKey(`  ${NIP19_NSEC.toUpperCase()}\n`)), NIP19_HEX);
});

Deno.test("parseSecretKey() accepts 64 hex characters in either case", async () => {
  assert.equal(bytesToHex(await parseSecretKey(`${NIP19_HEX}\n`)), NIP19_HEX);
  assert.equal(bytesToHex(await parseSecretKey(NIP19_HEX.toUpperCase())), NIP19_HEX);
  assert.equal(bytesToHex(await parseSecretKey(CURVE_ORDER_MINUS_1_HEX)), CURVE_ORDER_MINUS_1_HEX);
});

Deno.test("parseSecretKey() opens what nostr-tools nip49.encrypt seals, normalizing the password", async () => {
  const secretKey = hexToBytes(NIP19_HEX);
  const ncryptsec = nip49Encrypt(secretKey, "\u00c5ngstr\u00f6m", 4, 0);
  assert.deepEqual(await parseSecretKey(ncryptsec, "A\u030angstro\u0308m"), secretKey);
});

Deno.test("parseSecretKey() rejects a wrong or missing ncryptsec password", async () => {
  const ncryptsec = nip49Encrypt(hexToBytes(NIP19_HEX), "right", 4);
  await rejectsWith(
    parseSecretKey(ncryptsec, "wrong"),
    /wrong password, or the ncryptsec is corrupted/,
  );
  await rejectsWith(parseSecretKey(ncryptsec), /a password is required/);
});

Deno.test("parseSecretKey() rejects a hostile or unknown ncryptsec payload before running scrypt", async () => {
  const ncryptsec = nip49Encrypt(hexToBytes(NIP19_HEX), "pw", 4);
  await rejectsWith(
    parseSecretKey(tamper(ncryptsec, (p) => (p[1] = 21)), "pw"),
    /log_n 21 is outside 1\.\.20/,
  );
  await rejectsWith(parseSecretKey(tamper(ncryptsec, (p) => (p[1] = 255)), "pw"), /log_n 255/);
  await rejectsWith(parseSecretKey(tamper(ncryptsec, (p) => (p[1] = 0)), "pw"), /log_n 0/);
  await rejectsWith(
    parseSecretKey(tamper(ncryptsec, (p) => (p[0] = 1)), "pw"),
    /version 1 is not supported/,
  );
  await rejectsWith(parseSecretKey(tamper(ncryptsec, (p) => (p[42] = 7)), "pw"), /security byte 7/);
  await rejectsWith(
    parseSecretKey(tamper(ncryptsec, (p) => (p[60]! ^= 1)), "pw"),
    /wrong password/,
  );
  const short = bech32.encode("ncryptsec", bech32.toWords(new Uint8Array(90)), 5000);
  await rejectsWith(parseSecretKey(short, "pw"), /not valid bech32 holding 91 bytes/);
});

Deno.test("parseSecretKey() rejects garbage without echoing it", async () => {
  const expected = /expected an nsec1… key, 64 hex characters, or an ncryptsec1…/;
  for (
    const input of ["", "hello world secret", NIP19_HEX.slice(1), `${NIP19_HEX}0`, `0x${NIP19_HEX}`]
  ) {
    await rejectsWith(parseSecretKey(input), expected, input);
  }
  await rejectsWith(
    parseSecretKey(NIP19_NSEC.replace(/.$/, "6")),
    /Cannot parse nsec key: it is not valid bech32/,
  );
  await rejectsWith(parseSecretKey(`npub${NIP19_NSEC.slice(4)}`), expected);
  await rejectsWith(
    parseSecretKey(NIP49_NCRYPTSEC.slice(0, 100), "nostr"),
    /Cannot parse ncryptsec key/,
  );
  await rejectsWith(parseSecretKey("a".repeat(10_000)), /input is 10000 characters/);
});

Deno.test("parseSecretKey() rejects the zero key and scalars not below the curve order", async () => {
  const zero = new Uint8Array(32);
  const outOfRange = /zero or not below the secp256k1 curve order/;
  await rejectsWith(parseSecretKey("0".repeat(64)), outOfRange);
  await rejectsWith(parseSecretKey(nsecEncode(zero)), outOfRange);
  await rejectsWith(parseSecretKey(nip49Encrypt(zero, "pw", 4), "pw"), outOfRange);
  await rejectsWith(parseSecretKey(CURVE_ORDER_HEX), outOfRange);
  await rejectsWith(parseSecretKey("f".repeat(64)), outOfRange);
});

import assert from "node:assert/strict";
import { schnorr, secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { prng } from "../../tests/helpers/prng.ts";
import { SchnorrKey, SchnorrKeyError, verifySchnorr } from "./schnorr.ts";
import { SchnorrVerifier } from "./verifier.ts";

/** `length` bytes drawn from `random` (a seeded generator, so a failure can be replayed). */
function seededBytes(random: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

interface Vector {
  index: string;
  secretKey: string;
  publicKey: string;
  auxRand: string;
  message: string;
  signature: string;
  valid: boolean;
}

/** BIP340's official vectors (bitcoin/bips bip-0340/test-vectors.csv, commit 7e8b5df). */
async function loadVectors(): Promise<Vector[]> {
  const text = await Deno.readTextFile(
    new URL("./testdata/bip340-test-vectors.csv", import.meta.url),
  );
  const [header, ...rows] = text.trim().split("\n");
  assert.equal(
    header,
    "index,secret key,public key,aux_rand,message,signature,verification result,comment",
  );
  return rows.map((row) => {
    const [index, secretKey, publicKey, auxRand, message, signature, result] = row.split(",");
    assert.ok(
      index !== undefined && signature !== undefined && (result === "TRUE" || result === "FALSE"),
    );
    return {
      index,
      secretKey: secretKey ?? "",
      publicKey: publicKey ?? "",
      auxRand: auxRand ?? "",
      message: message ?? "",
      signature,
      valid: result === "TRUE",
    };
  });
}

Deno.test("SchnorrKey.sign() reproduces every BIP340 signing vector", async () => {
  const signing = (await loadVectors()).filter((vector) => vector.secretKey !== "");
  assert.equal(signing.length, 4);
  for (const vector of signing) {
    const key = SchnorrKey.fromSecret(hexToBytes(vector.secretKey));
    assert.equal(
      key.publicKeyHex,
      vector.publicKey.toLowerCase(),
      `vector ${vector.index} public key`,
    );
    const signature = key.sign(hexToBytes(vector.message), hexToBytes(vector.auxRand));
    assert.equal(
      bytesToHex(signature),
      vector.signature.toLowerCase(),
      `vector ${vector.index} signature`,
    );
  }
});

Deno.test("verifySchnorr() gives the expected result for every BIP340 vector", async () => {
  const vectors = await loadVectors();
  assert.equal(vectors.length, 15);
  for (const vector of vectors) {
    const actual = verifySchnorr(
      hexToBytes(vector.signature),
      hexToBytes(vector.message),
      hexToBytes(vector.publicKey),
    );
    assert.equal(actual, vector.valid, `vector ${vector.index}`);
  }
});

Deno.test("SchnorrVerifier.verify() gives the expected result for every BIP340 vector, cached or not", async () => {
  const vectors = await loadVectors();
  const validKeys = new Set(vectors.filter((v) => v.valid).map((v) => v.publicKey));
  const verifier = new SchnorrVerifier();
  // Pass 1 marks each validly signing key as seen, pass 2 builds its table on the second valid
  // signature (so the later negative vectors of that key already take the cached path), pass 3
  // runs every vector of those keys through the cached path again.
  for (let pass = 1; pass <= 3; pass++) {
    for (const vector of vectors) {
      const actual = verifier.verify(
        hexToBytes(vector.signature),
        hexToBytes(vector.message),
        hexToBytes(vector.publicKey),
      );
      assert.equal(actual, vector.valid, `pass ${pass}, vector ${vector.index}`);
    }
    assert.equal(verifier.cachedKeys, pass === 1 ? 0 : validKeys.size, `after pass ${pass}`);
  }
  assert.equal(validKeys.size, 5);
});

Deno.test("SchnorrKey.isOwnSignature() agrees with the BIP340 vectors made for its key", async () => {
  const vectors = await loadVectors();
  const key = SchnorrKey.fromSecret(
    hexToBytes("B7E151628AED2A6ABF7158809CF4F3C762E7160F38B4DA56A784D9045190CFEF"),
  );
  const ownVectors = vectors.filter((vector) =>
    vector.publicKey.toLowerCase() === key.publicKeyHex
  );
  assert.ok(
    ownVectors.some((vector) => !vector.valid),
    "negative vectors for this key are present",
  );
  for (const vector of ownVectors) {
    const actual = key.isOwnSignature(hexToBytes(vector.signature), hexToBytes(vector.message));
    assert.equal(actual, vector.valid, `vector ${vector.index}`);
  }
});

Deno.test("SchnorrKey signatures match noble and verify for random keys of both y parities", () => {
  const random = prng(0x5eed);
  const parities = new Set<number>();
  for (let round = 0; round < 24; round++) {
    const secret = seededBytes(random, 32);
    parities.add(secp256k1.getPublicKey(secret, true)[0] as number);
    const key = SchnorrKey.fromSecret(secret);
    assert.deepEqual(key.publicKey, schnorr.getPublicKey(secret));
    const message = seededBytes(random, 32);
    const auxRand = seededBytes(random, 32);
    const signature = key.sign(message, auxRand);
    assert.deepEqual(signature, schnorr.sign(message, secret, auxRand));
    assert.ok(schnorr.verify(signature, message, key.publicKey));
    assert.ok(key.isOwnSignature(signature, message));
  }
  assert.deepEqual([...parities].sort(), [2, 3], "both even and odd public points were exercised");
});

Deno.test("SchnorrKey.isOwnSignature() rejects tampered signatures and other messages", () => {
  const key = SchnorrKey.fromSecret(schnorr.utils.randomSecretKey());
  const message = crypto.getRandomValues(new Uint8Array(32));
  const signature = key.sign(message);
  for (const byte of [0, 17, 31, 32, 50, 63]) {
    const tampered = signature.slice();
    tampered[byte] = (tampered[byte] as number) ^ 0x01;
    assert.equal(key.isOwnSignature(tampered, message), false, `flipped byte ${byte}`);
    assert.equal(verifySchnorr(tampered, message, key.publicKey), false, `flipped byte ${byte}`);
  }
  const other = message.slice();
  other[0] = (other[0] as number) ^ 0x80;
  assert.equal(key.isOwnSignature(signature, other), false);
  assert.equal(key.isOwnSignature(signature.subarray(0, 63), message), false);
  const stranger = SchnorrKey.fromSecret(schnorr.utils.randomSecretKey());
  assert.equal(stranger.isOwnSignature(signature, message), false);
});

Deno.test("SchnorrKey.fromSecret() rejects zero, out-of-range and short secrets", () => {
  const order = hexToBytes("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
  for (const secret of [new Uint8Array(32), order, new Uint8Array(31).fill(1)]) {
    assert.throws(() => SchnorrKey.fromSecret(secret), SchnorrKeyError);
  }
});

Deno.test("SchnorrKey.sharedSecretX() matches noble's ECDH x coordinate", () => {
  for (let round = 0; round < 4; round++) {
    const ours = schnorr.utils.randomSecretKey();
    const theirs = schnorr.utils.randomSecretKey();
    const expected = secp256k1.getSharedSecret(
      ours,
      Uint8Array.of(2, ...schnorr.getPublicKey(theirs)),
    );
    const actual = SchnorrKey.fromSecret(ours).sharedSecretX(schnorr.getPublicKey(theirs));
    assert.deepEqual(actual, expected.subarray(1, 33));
  }
  const key = SchnorrKey.fromSecret(schnorr.utils.randomSecretKey());
  const notOnCurve = hexToBytes("EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34");
  assert.throws(() => key.sharedSecretX(notOnCurve), SchnorrKeyError);
});

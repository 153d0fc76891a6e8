/**
 * BIP340 Schnorr signing over secp256k1 for keys that sign many times, built on `@noble/curves`.
 *
 * Why not `schnorr.sign` (or nostr-tools `finalizeEvent`)? Per call they derive the public key from
 * the secret (one fixed-base multiplication), sign (a second one) and then run the full BIP340
 * verification (a variable-base multiplication, about 4–5 fixed-base ones). A {@link SchnorrKey}
 * does the key derivation once, when the key is loaded, keeping the scalar `d` (already negated
 * when `d·G` has an odd y) and the x-only public key bytes. Each signature then costs one
 * fixed-base multiplication `k·G` plus three tagged SHA-256 hashes whose tag prefix state is
 * precomputed.
 *
 * Self-check. BIP340 recommends verifying a signature before releasing it (against computation
 * faults and bugs), and keycast's rule 6 requires it for `sign_event`. Full verification computes
 * `R' = s·G − e·P` with `P = lift_x(pk)`. For our own key we know `P = d·G`, so
 * `s·G − e·P = (s − e·d)·G`: the same point from one constant-time fixed-base multiplication
 * instead of a variable-base one. {@link SchnorrKey.sign} recomputes `e` from the output bytes
 * (`r`, the public key bytes and the message), checks `r < p` and `s < n`, and requires
 * `(s − e·d)·G` to be finite with an even y and `x = r` — exactly BIP340's Verify conditions, so a
 * fault in `k`, `R`, `e` or `s` is caught. The equality rests on the invariant `P = d·G` with
 * `pk = x(P)`, which {@link SchnorrKey.fromSecret} establishes once per key by deriving `P` from
 * `d` and verifying a probe signature with noble's independent `schnorr.verify`. Because
 * `s − e·d` is the secret nonce, the check uses the constant-time `multiply`, never
 * `multiplyUnsafe`. Signatures from other keys (relay events, NIP-46 requests) are verified with
 * noble's `schnorr.verify` ({@link verifySchnorr}).
 *
 * `src/signer/signer.bench.ts` compares `signEvent` with nostr-tools' `finalizeEvent` and noble's
 * `schnorr.sign`: preparing the key once and the cheap self-check make it several times faster
 * than either (figures in the README's Performance section).
 */
import { schnorr } from "@noble/curves/secp256k1.js";
import { bytesToNumberBE } from "@noble/curves/utils.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

const Point = schnorr.Point;
const { Fn, Fp } = Point;

/** Raised when a secret key cannot be used or a signature fails its own check. Never carries key material. */
export class SchnorrKeyError extends Error {
  override name = "SchnorrKeyError";
}

/** Returns `hash_tag(parts…)` from BIP340, with the `sha256(tag) ‖ sha256(tag)` block hashed once. */
function taggedHasher(tag: string): (...parts: Uint8Array[]) => Uint8Array {
  const tagHash = sha256(utf8ToBytes(tag));
  const prefixed = sha256.create().update(tagHash).update(tagHash);
  return (...parts) => {
    const hash = prefixed.clone();
    for (const part of parts) hash.update(part);
    return hash.digest();
  };
}

const hashAux = taggedHasher("BIP0340/aux");
const hashNonce = taggedHasher("BIP0340/nonce");
const hashChallenge = taggedHasher("BIP0340/challenge");

/** BIP340's challenge `e = int(hash_BIP0340/challenge(r ‖ pk ‖ m)) mod n` for 32-byte `r` and `pk`. */
export function challengeScalar(r: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  return Fn.create(bytesToNumberBE(hashChallenge(r, publicKey, message)));
}

/** A secp256k1 secret key prepared for repeated BIP340 signing and x-only ECDH. */
export class SchnorrKey {
  /** Secret scalar, negated so that `d·G` has an even y. */
  readonly #d: bigint;
  readonly #dBytes: Uint8Array;
  /** x-only public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** x-only public key as lowercase hex. */
  readonly publicKeyHex: string;

  private constructor(d: bigint, publicKey: Uint8Array) {
    this.#d = d;
    this.#dBytes = Fn.toBytes(d);
    this.publicKey = publicKey;
    this.publicKeyHex = bytesToHex(publicKey);
  }

  /** Prepares a 32-byte secret key (BIP340 `sk`); throws {@link SchnorrKeyError} when it is invalid. */
  static fromSecret(secret: Uint8Array): SchnorrKey {
    if (secret.length !== 32) {
      throw new SchnorrKeyError(`Cannot use secret key: it is ${secret.length} bytes, expected 32`);
    }
    const raw = bytesToNumberBE(secret);
    if (!Fn.isValidNot0(raw)) {
      throw new SchnorrKeyError("Cannot use secret key: it is zero or not below the curve order");
    }
    const { x, y } = Point.BASE.multiply(raw).toAffine();
    const key = new SchnorrKey(isEven(y) ? raw : Fn.neg(raw), Fp.toBytes(x));
    const probe = crypto.getRandomValues(new Uint8Array(32));
    if (!schnorr.verify(key.sign(probe), probe, key.publicKey)) {
      throw new SchnorrKeyError("Cannot use secret key: its probe signature does not verify");
    }
    return key;
  }

  /**
   * Signs `message` (any length; Nostr uses the 32-byte event id) and checks the signature before
   * returning it (see the module doc). `auxRand` defaults to 32 fresh random bytes.
   */
  sign(
    message: Uint8Array,
    auxRand: Uint8Array = crypto.getRandomValues(new Uint8Array(32)),
  ): Uint8Array {
    if (auxRand.length !== 32) {
      throw new SchnorrKeyError(`Cannot sign: aux_rand is ${auxRand.length} bytes, expected 32`);
    }
    const t = hashAux(auxRand);
    for (let i = 0; i < 32; i++) t[i] = (t[i] as number) ^ (this.#dBytes[i] as number);
    const kRaw = Fn.create(bytesToNumberBE(hashNonce(t, this.publicKey, message)));
    if (kRaw === 0n) throw new SchnorrKeyError("Cannot sign: the derived nonce is zero");
    const nonce = Point.BASE.multiply(kRaw).toAffine();
    const k = isEven(nonce.y) ? kRaw : Fn.neg(kRaw);
    const rx = Fp.toBytes(nonce.x);
    const e = Fn.create(bytesToNumberBE(hashChallenge(rx, this.publicKey, message)));
    const signature = new Uint8Array(64);
    signature.set(rx, 0);
    signature.set(Fn.toBytes(Fn.add(k, Fn.mul(e, this.#d))), 32);
    if (!this.isOwnSignature(signature, message)) {
      throw new SchnorrKeyError("Cannot sign: the produced signature failed its self-check");
    }
    return signature;
  }

  /** x coordinate (32 bytes) of `d·Q` for the peer's x-only public key: the NIP-04/NIP-44 ECDH secret. */
  sharedSecretX(peerPublicKey: Uint8Array): Uint8Array {
    if (peerPublicKey.length !== 32) {
      throw new SchnorrKeyError(
        `Cannot use peer public key: it is ${peerPublicKey.length} bytes, expected 32`,
      );
    }
    let peer;
    try {
      peer = schnorr.utils.lift_x(bytesToNumberBE(peerPublicKey));
    } catch (error) {
      throw new SchnorrKeyError(
        `Cannot use peer public key "${bytesToHex(peerPublicKey)}": ${(error as Error).message}`,
      );
    }
    // x(d·Q) = x(−d·Q), so the y-normalised scalar gives the same secret as the raw one.
    return Fp.toBytes(peer.multiply(this.#d).toAffine().x);
  }

  /** BIP340 Verify specialised to this key, using `P = d·G` (see the module doc). */
  isOwnSignature(signature: Uint8Array, message: Uint8Array): boolean {
    if (signature.length !== 64) return false;
    const r = bytesToNumberBE(signature.subarray(0, 32));
    const s = bytesToNumberBE(signature.subarray(32, 64));
    if (r >= Fp.ORDER || s >= Fn.ORDER) return false;
    const e = challengeScalar(signature.subarray(0, 32), this.publicKey, message);
    const k = Fn.sub(s, Fn.mul(e, this.#d));
    if (k === 0n) return false; // R' would be the point at infinity
    const { x, y } = Point.BASE.multiply(k).toAffine();
    return isEven(y) && x === r;
  }
}

/** BIP340 Verify of `signature` over `message` by the x-only `publicKey` (noble's implementation). */
export function verifySchnorr(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  return schnorr.verify(signature, message, publicKey);
}

function isEven(value: bigint): boolean {
  return (value & 1n) === 0n;
}

/**
 * BIP340 verification that is cheaper for public keys seen again, for the NIP-46 requests a
 * signer worker checks: each client signs many requests with the same key.
 *
 * Plain verification ({@link verifySchnorr}, noble) lifts the x-only key to a point (a modular
 * square root) and multiplies it by the challenge with a double-and-add ladder. For a key that
 * has already produced a valid signature, {@link SchnorrVerifier} keeps the lifted point with a
 * noble wNAF window table (`precompute(4)`: about 520 points, ~100 KB, a few ms to build) in a
 * bounded LRU, so later checks skip the square root and the doublings. A key gets a table only
 * the second time it signs validly: one-off keys, and keys that only send bad signatures, never
 * cost a table.
 *
 * The cached path is BIP340's Verify written out: reject `r ≥ p` and `s ≥ n`,
 * `e = int(hash_BIP0340/challenge(r ‖ pk ‖ m)) mod n`, `R = s·G − e·P` with `P = lift_x(pk)`
 * (even y), fail when `R` is infinity, when `y(R)` is odd or when `x(R) ≠ r`. Everything here is
 * public data, so the multiplications need not be constant-time.
 */
import { schnorr } from "@noble/curves/secp256k1.js";
import { bytesToNumberBE } from "@noble/curves/utils.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { LruCache } from "./lru.ts";
import { challengeScalar, verifySchnorr } from "./schnorr.ts";

const Point = schnorr.Point;
type CurvePoint = InstanceType<typeof Point>;
const { Fn, Fp } = Point;
/** wNAF window of the per-key tables: 2^(4−1) points for each of 65 windows. */
const WINDOW_BITS = 4;

/** Options of {@link SchnorrVerifier}. */
export interface SchnorrVerifierOptions {
  /** Keys kept with a precomputed table; 0 disables the cache. Default 256. */
  capacity?: number;
  /** Keys remembered as "signed validly once" while they wait for a second signature. Default 4 × capacity. */
  seenCapacity?: number;
}

/** BIP340 Verify with a per-key point-table cache; one instance per worker. */
export class SchnorrVerifier {
  readonly #tables: LruCache<string, CurvePoint>;
  readonly #seen: LruCache<string, true>;

  /** Caches up to `options.capacity` keys (default 256). */
  constructor(options: SchnorrVerifierOptions = {}) {
    const capacity = options.capacity ?? 256;
    this.#tables = new LruCache(capacity);
    this.#seen = new LruCache(options.seenCapacity ?? capacity * 4);
  }

  /** Number of keys that currently have a precomputed table. */
  get cachedKeys(): number {
    return this.#tables.size;
  }

  /** BIP340 Verify of `signature` over `message` by the x-only `publicKey`. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    if (signature.length !== 64 || publicKey.length !== 32) return false;
    const keyHex = bytesToHex(publicKey);
    const point = this.#tables.get(keyHex);
    if (point) return verifyWithPoint(signature, message, publicKey, point);
    if (!verifySchnorr(signature, message, publicKey)) return false;
    if (this.#seen.get(keyHex)) {
      this.#seen.delete(keyHex);
      // The plain verification above succeeded, so lift_x succeeds too.
      const lifted = schnorr.utils.lift_x(bytesToNumberBE(publicKey));
      this.#tables.set(keyHex, lifted.precompute(WINDOW_BITS, false));
    } else {
      this.#seen.set(keyHex, true);
    }
    return true;
  }
}

/** BIP340 Verify with `point = lift_x(publicKey)` already computed (and its table attached). */
function verifyWithPoint(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  point: CurvePoint,
): boolean {
  const rBytes = signature.subarray(0, 32);
  const r = bytesToNumberBE(rBytes);
  const s = bytesToNumberBE(signature.subarray(32, 64));
  if (r >= Fp.ORDER || s >= Fn.ORDER) return false;
  const e = challengeScalar(rBytes, publicKey, message);
  const sG = Point.BASE.multiplyUnsafe(s);
  // noble's multiply() uses the point's window table; it rejects 0, for which e·P is infinity.
  const R = e === 0n ? sG : sG.subtract(point.multiply(e));
  if (R.is0()) return false;
  const { x, y } = R.toAffine();
  return (y & 1n) === 0n && x === r;
}

/**
 * Sealing of secret keys at rest with AES-256-GCM (WebCrypto).
 *
 * A sealed value reads `v1.<keyId>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The version and key id
 * prefix lets a later master-key rotation tell which key sealed a row. The additional data is the
 * row's public key (lowercase hex), so a ciphertext moved to another row no longer opens.
 */
import { base64url } from "@scure/base";

/** Byte length of the master key (AES-256). */
export const MASTER_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const FORMAT_VERSION = "v1";

/** Raised when a sealed value cannot be opened or a key cannot be used; never carries secrets. */
export class VaultError extends Error {
  override name = "VaultError";
}

/** Seals and opens secrets with one master key. Holds the key only as a non-extractable CryptoKey. */
export class Vault {
  readonly #key: CryptoKey;
  /** Identifier of the master key, written into every sealed value. */
  readonly keyId: number;

  private constructor(key: CryptoKey, keyId: number) {
    this.#key = key;
    this.keyId = keyId;
  }

  /** Builds a vault from 32 raw key bytes. `keyId` defaults to 1. */
  static async create(masterKey: Uint8Array, keyId = 1): Promise<Vault> {
    if (masterKey.length !== MASTER_KEY_BYTES) {
      throw new VaultError(
        `Cannot use master key: it is ${masterKey.length} bytes, expected ${MASTER_KEY_BYTES}`,
      );
    }
    if (!Number.isSafeInteger(keyId) || keyId < 1) {
      throw new VaultError(`Cannot use master key id "${keyId}": it must be a positive integer`);
    }
    const key = await crypto.subtle.importKey(
      "raw",
      new Uint8Array(masterKey),
      { name: "AES-GCM" },
      false,
      ["encrypt", "decrypt"],
    );
    return new Vault(key, keyId);
  }

  /** Encrypts `secret`, bound to `publicKeyHex` as additional data. */
  async seal(secret: Uint8Array, publicKeyHex: string): Promise<string> {
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const ciphertext = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv: nonce, additionalData: aad(publicKeyHex) },
        this.#key,
        new Uint8Array(secret),
      ),
    );
    const body = new Uint8Array(NONCE_BYTES + ciphertext.length);
    body.set(nonce);
    body.set(ciphertext, NONCE_BYTES);
    return `${FORMAT_VERSION}.${this.keyId}.${base64url.encode(body)}`;
  }

  /** Decrypts a value made by {@link seal} for the same public key; throws {@link VaultError}. */
  async open(sealed: string, publicKeyHex: string): Promise<Uint8Array> {
    const [version, keyId, encoded, extra] = sealed.split(".");
    const canonicalKeyId = keyId !== undefined && /^[1-9][0-9]{0,14}$/.test(keyId);
    if (version !== FORMAT_VERSION || extra !== undefined || !canonicalKeyId || !encoded) {
      throw new VaultError("Cannot open sealed secret: the value is not in the v1 format");
    }
    if (Number(keyId) !== this.keyId) {
      throw new VaultError(
        `Cannot open sealed secret: it was sealed with master key id ${keyId}, this is id ${this.keyId}`,
      );
    }
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = new Uint8Array(base64url.decode(encoded));
    } catch {
      throw new VaultError("Cannot open sealed secret: the value is not valid base64url");
    }
    if (body.length < NONCE_BYTES + 16) {
      throw new VaultError("Cannot open sealed secret: the value is too short");
    }
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: body.subarray(0, NONCE_BYTES), additionalData: aad(publicKeyHex) },
        this.#key,
        body.subarray(NONCE_BYTES),
      );
      return new Uint8Array(plain);
    } catch {
      throw new VaultError(
        "Cannot open sealed secret: authentication failed (wrong master key, wrong row, or tampered data)",
      );
    }
  }
}

function aad(publicKeyHex: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(publicKeyHex.toLowerCase());
}

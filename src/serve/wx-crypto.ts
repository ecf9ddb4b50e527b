/**
 * The message encryption of WeChat official accounts, mini-programs and WeCom callbacks (安全模式): the same scheme
 * on all three. Signature = sha1 of the sorted strings joined; key = base64(EncodingAESKey + "="), 32 bytes;
 * AES-256-CBC, IV = the key's first 16 bytes, PKCS#7 padding to a 32-byte block (Node pads to 16, so padding is
 * handled here); plaintext = 16 random bytes + 4-byte big-endian length + message + receiver id (appid / corpid).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from "node:crypto";

const BLOCK = 32;

export function sha1Signature(...parts: string[]): string {
  return createHash("sha1")
    .update([...parts].sort().join(""))
    .digest("hex");
}

/** Constant-time comparison of two hex signatures (different lengths are simply unequal). */
export function sameSignature(a: string | undefined, b: string): boolean {
  if (typeof a !== "string" || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a.toLowerCase()), Buffer.from(b));
}

export class WxCryptoError extends Error {}

function keyOf(encodingAesKey: string): Buffer {
  const key = Buffer.from(encodingAesKey + "=", "base64");
  if (encodingAesKey.length !== 43 || key.length !== 32) throw new WxCryptoError("the EncodingAESKey must be 43 characters (32 bytes in base64)");
  return key;
}

/** Decrypts an `Encrypt` value; returns the message and the receiver id it carries. */
export function wxDecrypt(encodingAesKey: string, encrypted: string): { message: string; receiverId: string } {
  const key = keyOf(encodingAesKey);
  let plain: Buffer;
  try {
    const d = createDecipheriv("aes-256-cbc", key, key.subarray(0, 16));
    d.setAutoPadding(false);
    plain = Buffer.concat([d.update(Buffer.from(encrypted, "base64")), d.final()]);
  } catch {
    throw new WxCryptoError("the encrypted message could not be decrypted");
  }
  const pad = plain[plain.length - 1] ?? 0;
  if (pad < 1 || pad > BLOCK || pad > plain.length) throw new WxCryptoError("the encrypted message has bad padding");
  const body = plain.subarray(16, plain.length - pad);
  if (body.length < 4) throw new WxCryptoError("the encrypted message is too short");
  const len = body.readUInt32BE(0);
  if (4 + len > body.length) throw new WxCryptoError("the encrypted message has a bad length");
  return { message: body.subarray(4, 4 + len).toString("utf8"), receiverId: body.subarray(4 + len).toString("utf8") };
}

/** Encrypts a message for `receiverId` (the fakes push with it; replies in safe mode use it too). */
export function wxEncrypt(encodingAesKey: string, message: string, receiverId: string, random: Buffer = randomBytes(16)): string {
  const key = keyOf(encodingAesKey);
  const msg = Buffer.from(message, "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msg.length, 0);
  const raw = Buffer.concat([random, len, msg, Buffer.from(receiverId, "utf8")]);
  const pad = BLOCK - (raw.length % BLOCK);
  const c = createCipheriv("aes-256-cbc", key, key.subarray(0, 16));
  c.setAutoPadding(false);
  return Buffer.concat([c.update(Buffer.concat([raw, Buffer.alloc(pad, pad)])), c.final()]).toString("base64");
}

/**
 * Text encodings of CSV snapshots. CRM exports from Excel are often GBK; DuckDB reads only UTF-8 without
 * extensions (none can be downloaded here), so a GBK file is transcoded, streaming, to a temporary UTF-8 file.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import iconv from "iconv-lite";

export type SnapshotEncoding = "utf-8" | "gbk";

/** How many leading bytes are checked when guessing. */
const SNIFF_BYTES = 4 * 1024 * 1024;

/**
 * Guesses the encoding: a UTF-8 BOM means UTF-8; otherwise the first 4 MB must be valid UTF-8 (the cut is
 * moved back to a line end so a character split by it does not count), else the file is taken as GBK.
 */
export async function detectEncoding(file: string): Promise<SnapshotEncoding> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
    let bytes = buf.subarray(0, bytesRead);
    if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return "utf-8";
    if (bytesRead === SNIFF_BYTES) {
      const nl = bytes.lastIndexOf(10);
      if (nl > 0) bytes = bytes.subarray(0, nl + 1);
    }
    return isUtf8(bytes) ? "utf-8" : "gbk";
  } finally {
    await fh.close();
  }
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Transcodes `from` (GBK, a superset of GB2312) to UTF-8 in `to`, streaming; reports bytes read so far. */
export async function transcodeGbkToUtf8(from: string, to: string, onBytes?: (bytes: number) => void): Promise<void> {
  const input = createReadStream(from, { highWaterMark: 1 << 20 });
  if (onBytes) {
    let n = 0;
    input.on("data", (c) => {
      n += c.length;
      onBytes(n);
    });
  }
  await pipeline(input, iconv.decodeStream("gbk"), iconv.encodeStream("utf8"), createWriteStream(to, { highWaterMark: 1 << 20 }));
}

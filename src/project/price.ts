/** Channel prices: `0.045 CNY per segment`, `0.1 CNY per message`, `0.1 CNY` (per message), or `¥0.1 …`. */
import type { ChannelConfig } from "./types.js";

export type Price = NonNullable<ChannelConfig["price"]>;

export function parsePrice(text: string): Price | undefined {
  const norm = text.trim().replace(/\s+/g, " ");
  const m = /^(?:(\d+(?:\.\d+)?) ?CNY|¥ ?(\d+(?:\.\d+)?))(?: per (message|segment))?$/i.exec(norm);
  if (!m) return undefined;
  const amount = Number(m[1] ?? m[2]);
  if (!Number.isFinite(amount)) return undefined;
  return { amount, per: (m[3]?.toLowerCase() as Price["per"] | undefined) ?? "message" };
}

/**
 * `--plan out.csv`: the member-level plan. Phone numbers are masked in every column, and every cell is written
 * so that a spreadsheet cannot run it as a formula (src/render/csv.ts). `send_at` is UTC; `send_at_local` is the
 * same instant in the project's timezone.
 */
import { createWriteStream } from "node:fs";
import { formatLocalTime } from "../calendar/time.js";
import type { MemberDecision } from "../plan/types.js";
import type { Project } from "../project/types.js";
import { csvCell, csvRow } from "./csv.js";
import { maskPhone, maskPhonesIn } from "./mask.js";

export const PLAN_CSV_HEADER = ["campaign", "occurrence", "member", "channel", "address", "send_at", "send_at_local", "reason"];

export async function writePlanCsv(file: string, decisions: MemberDecision[], project: Project): Promise<void> {
  const phoneAddress = new Set([...project.channels.values()].filter((c) => project.members.fields.get(c.address)?.kind === "phone").map((c) => c.name));
  const keyIsPhone = project.members.fields.get(project.members.key)?.kind === "phone";
  const out = createWriteStream(file, { encoding: "utf8" });
  const failed = new Promise<never>((_, rej) => out.once("error", rej));
  failed.catch(() => undefined);
  // Lines are written in chunks of about 64 KB, waiting only when the stream asks to.
  let chunk = csvRow(PLAN_CSV_HEADER);
  const flush = async () => {
    const text = chunk;
    chunk = "";
    if (!out.write(text)) await Promise.race([failed, new Promise<void>((res) => out.once("drain", () => res()))]);
  };
  // Sends share a handful of moments: each is formatted once.
  const times = new Map<number, string>();
  const timesOf = (ms: number) => {
    let t = times.get(ms);
    if (t === undefined) times.set(ms, (t = `${csvCell(new Date(ms).toISOString())},${csvCell(formatLocalTime(ms, project.timezone))}`));
    return t;
  };
  for (const d of decisions) {
    // Member data (the key and the address) is masked whatever its field's type; the other columns are chuda's own.
    const addr = d.address === undefined ? "" : d.channel && phoneAddress.has(d.channel) ? maskPhone(d.address) : maskPhonesIn(d.address);
    const member = keyIsPhone ? maskPhone(d.member) : maskPhonesIn(d.member);
    chunk += `${csvRow([d.campaign, d.occurrence, member, d.channel ?? "", addr]).slice(0, -1)},${timesOf(d.sendAt)},${csvCell(d.reason ?? "")}\n`;
    if (chunk.length >= 65_536) await flush();
  }
  await flush();
  await Promise.race([failed, new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())))]);
}

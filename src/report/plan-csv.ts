/** `--plan out.csv`: the member-level plan, phone numbers masked. */
import { createWriteStream } from "node:fs";
import type { MemberDecision } from "../plan/types.js";
import type { Project } from "../project/types.js";
import { maskPhone, maskPhonesIn } from "./mask.js";

const csv = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export async function writePlanCsv(file: string, decisions: MemberDecision[], project: Project): Promise<void> {
  const phoneAddress = new Set([...project.channels.values()].filter((c) => project.members.fields.get(c.address)?.kind === "phone").map((c) => c.name));
  const keyIsPhone = project.members.fields.get(project.members.key)?.kind === "phone";
  const out = createWriteStream(file, { encoding: "utf8" });
  const write = (line: string) => new Promise<void>((res) => (out.write(line) ? res() : out.once("drain", () => res())));
  await write("campaign,occurrence,member,channel,address,send_at,reason\n");
  for (const d of decisions) {
    const addr = d.address === undefined ? "" : d.channel && phoneAddress.has(d.channel) ? maskPhone(d.address) : maskPhonesIn(d.address);
    const member = keyIsPhone ? maskPhone(d.member) : maskPhonesIn(d.member);
    await write([d.campaign, d.occurrence, member, d.channel ?? "", addr, new Date(d.sendAt).toISOString(), d.reason ?? ""].map(csv).join(",") + "\n");
  }
  await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
}

/** Plain-text view of a simulation (what a non-TTY or CI run prints; the Ink view shows the same tables). */
import type { SimulationSummary } from "../simulate/summary.js";
import { maskPhonesIn } from "./mask.js";
import { formatYuan } from "./money.js";
import { makeStyle, table } from "./style.js";

const n = (x: number) => x.toLocaleString("en-US");
const yuan = formatYuan;

export function renderSimulationText(s: SimulationSummary, opts: { color: boolean }): string {
  const st = makeStyle(opts.color);
  const out: string[] = [];
  out.push(st.bold(`Simulation ${s.from} → ${s.to}`) + `  members ${n(s.members)}${s.rejected ? `, rejected rows ${n(s.rejected)}` : ""}\n`);
  const channels = [...new Set(s.campaigns.flatMap((c) => Object.keys(c.by_channel)))].sort();
  out.push(
    table(
      ["campaign", "occ", "audience", "holdout", "unreachable", "capped", "sends", "deferred", ...channels, "converted", "cost"],
      s.campaigns.map((c) => [
        c.name,
        n(c.occurrences),
        n(c.audience),
        n(c.holdout),
        n(c.unreachable),
        n(c.capped),
        n(c.sends),
        n(c.deferred),
        ...channels.map((ch) => n(c.by_channel[ch] ?? 0)),
        n(c.estimated.converted),
        yuan(c.estimated.cost),
      ]),
      { right: [1, 2, 3, 4, 5, 6, 7, ...channels.map((_, i) => 8 + i), 8 + channels.length, 9 + channels.length], style: st },
    ),
  );
  if (s.suppressed) out.push(`${n(s.suppressed)} members have an opt-out in force (chuda suppress list): left out on those channels`, "");
  if (s.delivery_rates)
    out.push(
      "Delivery rates (rates: observed): " +
        Object.entries(s.delivery_rates)
          .map(
            ([ch, r]) =>
              `${ch} ${(r.rate * 100).toFixed(1)}% ${r.source === "observed" ? `observed over ${n(r.sample)} receipts` : `configured (${n(r.sample)} receipts, too few)`}`,
          )
          .join("; "),
      "",
    );
  const before = s.campaigns.filter((c) => c.planned_before);
  if (before.length)
    out.push(...before.map((c) => `${c.name}: ${n(c.planned_before!)} members were planned by an earlier dispatch run and are left as they are`), "");
  const capped = s.campaigns.filter((c) => c.capped);
  if (capped.length) {
    out.push(st.bold("Capped, by rule"));
    out.push(
      table(
        ["campaign", "rule", "members"],
        capped.flatMap((c) =>
          Object.entries(c.capped_by)
            .filter(([k]) => k.startsWith("capped"))
            .map(([k, v]) => [c.name, k.replace("capped:", ""), n(v ?? 0)]),
        ),
        { right: [2] },
      ),
    );
  }
  out.push(st.bold("By channel"));
  out.push(
    table(
      ["channel", "sends"],
      Object.entries(s.total.by_channel)
        .sort()
        .map(([ch, v]) => [ch, n(v)]),
      { right: [1] },
    ),
  );
  if (s.days.length) {
    out.push(st.bold("By day"));
    out.push(
      table(
        ["date", "sends", ...channels, "cost"],
        s.days.map((d) => [d.date, n(d.sends), ...channels.map((ch) => n(d.by_channel[ch] ?? 0)), yuan(d.cost)]),
        { right: [1, ...channels.map((_, i) => 2 + i), 2 + channels.length] },
      ),
    );
  }
  const problems = s.campaigns.flatMap((c) => c.problems.map((p) => ({ c: c.name, ...p })));
  if (problems.length) {
    out.push(st.bold("Content problems after rendering"));
    for (const p of problems)
      out.push(`${p.severity === "error" ? st.red("error") : st.yellow("warning")} ${p.c} · ${p.channel}: ${n(p.members)} members: ${maskPhonesIn(p.message)}`);
    out.push("");
  }
  if (s.wecom_tasks?.length) {
    out.push(st.bold("WeCom tasks per staff member (each confirmed one by one in the WeCom client)"));
    out.push(
      table(
        ["campaign", "channel", "staff", "sends", "tasks"],
        s.wecom_tasks.map((t) => [t.campaign, t.channel, t.staff || "-", n(t.sends), n(t.tasks)]),
        { right: [3, 4] },
      ),
    );
    const perMember = s.wecom_tasks.filter((t) => t.tasks > 1 && t.tasks * 2 > t.sends);
    if (perMember.length)
      out.push(
        st.yellow(
          `${[...new Set(perMember.map((t) => t.campaign))].join(", ")}: about one task per member (the WeCom section reads member fields); see chuda validate`,
        ),
      );
    out.push("");
  }
  out.push(`${st.bold("Total")}: ${n(s.total.sends)} sends to ${n(s.total.members_reached)} members, estimated cost ${yuan(s.total.cost)}\n`);
  return out.join("\n");
}

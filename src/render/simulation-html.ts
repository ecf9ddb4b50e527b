import type { SimulationSummary } from "../simulate/summary.js";
import { htmlTable, renderHtmlReport, type ChartSpec } from "./html.js";
import { formatYuan, roundYuan, yuanDecimal } from "./money.js";

/** `chuda simulate --report out.html`: funnel per campaign, sends per day stacked by channel, cost. */
export function renderSimulationHtml(s: SimulationSummary, project: { mallName?: string }): string {
  const names = s.campaigns.map((c) => c.name);
  const channels = [...new Set(s.campaigns.flatMap((c) => Object.keys(c.by_channel)))].sort();
  const stage = (label: string, count: (c: SimulationSummary["campaigns"][number]) => number) => ({
    name: label,
    type: "bar",
    stack: "funnel",
    data: s.campaigns.map(count),
  });
  const charts: ChartSpec[] = [
    {
      id: "funnel",
      title: "触达漏斗 Funnel per campaign",
      height: Math.max(320, 28 * names.length + 80),
      option: {
        tooltip: { trigger: "axis" },
        legend: {},
        grid: { left: 160, right: 24 },
        xAxis: { type: "value" },
        yAxis: { type: "category", data: names, inverse: true },
        series: [
          stage("sends 发送", (c) => c.sends),
          stage("capped 频控", (c) => c.capped),
          stage("unreachable 不可达", (c) => c.unreachable),
          stage("holdout 对照组", (c) => c.holdout),
        ],
      },
    },
    {
      id: "daily",
      title: "每日发送 Sends per day by channel",
      option: {
        tooltip: { trigger: "axis" },
        legend: {},
        xAxis: { type: "category", data: s.days.map((d) => d.date) },
        yAxis: { type: "value" },
        series: channels.map((ch) => ({ name: ch, type: "bar", stack: "day", data: s.days.map((d) => d.by_channel[ch] ?? 0) })),
      },
    },
    {
      id: "cost",
      title: "预计成本 Estimated cost per campaign (CNY)",
      height: Math.max(300, 28 * names.length + 80),
      option: {
        tooltip: {},
        grid: { left: 160, right: 24 },
        xAxis: { type: "value" },
        yAxis: { type: "category", data: names, inverse: true },
        series: [{ name: "cost", type: "bar", data: s.campaigns.map((c) => roundYuan(c.estimated.cost)) }],
      },
    },
  ];
  const table = htmlTable(
    ["campaign", "occurrences", "audience", "holdout", "unreachable", "capped", "sends", "deferred", "delivered", "opened", "converted", "cost ¥"],
    s.campaigns.map((c) => [
      c.name,
      c.occurrences,
      c.audience,
      c.holdout,
      c.unreachable,
      c.capped,
      c.sends,
      c.deferred,
      c.estimated.delivered,
      c.estimated.opened,
      c.estimated.converted,
      yuanDecimal(c.estimated.cost),
    ]),
  );
  return renderHtmlReport({
    title: `${project.mallName ?? "chuda"} · 触达模拟 Reach simulation`,
    subtitle: `${s.from} → ${s.to} · ${s.members.toLocaleString("en-US")} members · ${s.total.sends.toLocaleString("en-US")} sends to ${s.total.members_reached.toLocaleString("en-US")} members · ${formatYuan(s.total.cost)}`,
    summaryHtml: table,
    charts,
  });
}

/**
 * `chuda report --html out.html`: the same self-contained page as the simulation report (ECharts inlined).
 * The uplift of each campaign is drawn as a box spanning its 95 % interval with the estimate as the middle
 * line (an ECharts boxplot item [lower, lower, estimate, upper, upper]), next to a zero line; a second chart
 * compares the treated and control rates.
 */
import { htmlTable, renderHtmlReport, type ChartSpec } from "./html.js";
import { goalText, UPLIFT_METHOD } from "./uplift.js";
import { formatYuan } from "./money.js";
import type { UpliftReport } from "../outcomes/uplift.js";

const pct = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(1)}%`);
const pp = (x: number) => Math.round(x * 10000) / 100;
const yuan = formatYuan;

export function renderUpliftHtml(r: UpliftReport, opts: { mallName?: string; conversionsFile?: string }): string {
  const measured = r.campaigns.filter((c) => c.uplift);
  const charts: ChartSpec[] = [];
  if (measured.length) {
    const names = measured.map((c) => c.name);
    charts.push({
      id: "uplift",
      title: "提升（百分点，95% 置信区间） · Uplift, percentage points with 95% CI",
      height: Math.max(200, 60 + 44 * measured.length),
      option: {
        tooltip: { trigger: "item" },
        grid: { left: 170, right: 40, top: 20, bottom: 40 },
        xAxis: { type: "value", name: "pp", axisLabel: { formatter: "{value}" } },
        yAxis: { type: "category", data: names, inverse: true },
        series: [
          {
            name: "95% CI",
            type: "boxplot",
            layout: "horizontal",
            boxWidth: [10, 18],
            itemStyle: { color: "#dbeafe", borderColor: "#2563eb" },
            data: measured.map((c) => {
              const a = c.uplift!.absolute;
              return [pp(a.lower), pp(a.lower), pp(a.estimate), pp(a.upper), pp(a.upper)];
            }),
            markLine: { silent: true, symbol: "none", lineStyle: { color: "#9ca3af", type: "dashed" }, data: [{ xAxis: 0 }] },
          },
          {
            name: "uplift",
            type: "scatter",
            symbolSize: 9,
            itemStyle: { color: "#1d4ed8" },
            data: measured.map((c) => [pp(c.uplift!.absolute.estimate), c.name]),
          },
        ],
      },
    });
  }
  if (r.campaigns.length) {
    const names = r.campaigns.map((c) => c.name);
    charts.push({
      id: "rates",
      title: "转化率：触达组与对照组 · Conversion rate, treated and control",
      height: Math.max(240, 60 + 40 * r.campaigns.length),
      option: {
        tooltip: { trigger: "axis" },
        legend: { data: ["treated", "control"] },
        grid: { left: 170, right: 40, top: 36, bottom: 30 },
        xAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
        yAxis: { type: "category", data: names, inverse: true },
        series: [
          {
            name: "treated",
            type: "bar",
            itemStyle: { color: "#2563eb" },
            data: r.campaigns.map((c) => (c.treated.rate === null ? null : pp(c.treated.rate))),
          },
          {
            name: "control",
            type: "bar",
            itemStyle: { color: "#9ca3af" },
            data: r.campaigns.map((c) => (c.control.rate === null ? null : pp(c.control.rate))),
          },
        ],
      },
    });
  }
  const header = [
    "campaign",
    "goal",
    "treated (assigned)",
    "converted",
    "rate",
    "control",
    "converted",
    "rate",
    "uplift (pp)",
    "95% CI (pp)",
    "incr. conv.",
    "incr. revenue",
    "cost",
    "cost / incr.",
    "sent only",
    "sent-only uplift (pp)",
  ];
  const rows = r.campaigns.map((c) => {
    const u = c.uplift;
    return [
      c.title ? `${c.name} ${c.title}` : c.name,
      goalText(c),
      c.treated.members,
      c.treated.converted,
      pct(c.treated.rate),
      c.control.members,
      c.control.converted,
      pct(c.control.rate),
      u ? pp(u.absolute.estimate).toFixed(2) : "–",
      u ? `${pp(u.absolute.lower).toFixed(2)} … ${pp(u.absolute.upper).toFixed(2)}` : "–",
      u ? u.incrementalConversions.estimate.toFixed(1) : "–",
      u ? yuan(u.incrementalRevenue) : "–",
      yuan(c.cost),
      u ? yuan(u.costPerIncrementalConversion) : "–",
      c.sentOnly.members,
      c.sentOnly.absolute
        ? `${pp(c.sentOnly.absolute.estimate).toFixed(2)} [${pp(c.sentOnly.absolute.lower).toFixed(2)} … ${pp(c.sentOnly.absolute.upper).toFixed(2)}]`
        : "–",
    ];
  });
  const notes = r.campaigns
    .filter((c) => c.note)
    .map((c) => `<p><b>${escape(c.name)}</b>: ${escape(c.note!)}</p>`)
    .join("");
  const method =
    `<p><b>Method</b>: intention to treat. Treated: ${escape(UPLIFT_METHOD.treated)}. Control: ${escape(UPLIFT_METHOD.control)}. ` +
    `Sent only: ${escape(UPLIFT_METHOD.sent_only)}.</p>`;
  const conv = r.conversions;
  const range = r.from || r.to ? `${r.from ?? "…"} → ${r.to ?? "…"} · ` : "";
  return renderHtmlReport({
    title: `${opts.mallName ? opts.mallName + " · " : ""}活动效果报告 · Campaign outcomes`,
    subtitle: `${range}${conv.accepted} conversions read${conv.rejected ? `, ${conv.rejected} rejected` : ""}, ${conv.attributed} attributed (last touch). Uplift = treated rate − control rate; 95% CI by Newcombe's hybrid score method.`,
    summaryHtml: htmlTable(header, rows) + notes + method,
    charts,
  });
}

function escape(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

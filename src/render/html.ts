/**
 * Self-contained HTML reports a manager can open offline. Apache ECharts is inlined (no network): it is the
 * chart library Chinese operators already know from their BI tools, renders CJK labels well, and ships one
 * file. Each chart marks itself drawn (`window.__chuda.drawn`) on ECharts' `finished` event, for the browser test.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

let echartsSource: string | undefined;
function echarts(): string {
  if (!echartsSource) {
    const require = createRequire(import.meta.url);
    echartsSource = readFileSync(require.resolve("echarts/dist/echarts.min.js"), "utf8");
  }
  return echartsSource;
}

export interface ChartSpec {
  id: string;
  title: string;
  /** An ECharts option object (plain data). */
  option: Record<string, unknown>;
  height?: number;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const json = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c");

export function renderHtmlReport(opts: { title: string; subtitle: string; summaryHtml: string; charts: ChartSpec[] }): string {
  const blocks = opts.charts
    .map((c) => `<section><h2>${esc(c.title)}</h2><div class="chart" id="${esc(c.id)}" style="height:${c.height ?? 360}px"></div></section>`)
    .join("\n");
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(opts.title)}</title>
<style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:24px auto;max-width:1100px;color:#1f2937;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}.sub{color:#6b7280;margin-bottom:16px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e5e7eb;padding:6px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f9fafb}.chart{width:100%}
</style>
</head>
<body>
<h1>${esc(opts.title)}</h1>
<div class="sub">${esc(opts.subtitle)}</div>
${opts.summaryHtml}
${blocks}
<script>${echarts()}</script>
<script>
window.__chuda = { drawn: [], charts: ${opts.charts.length} };
const specs = ${json(opts.charts.map((c) => ({ id: c.id, option: c.option })))};
for (const s of specs) {
  const chart = echarts.init(document.getElementById(s.id), null, { renderer: "canvas" });
  chart.on("finished", () => { if (!window.__chuda.drawn.includes(s.id)) window.__chuda.drawn.push(s.id); });
  chart.setOption(Object.assign({ animation: false }, s.option));
  window.addEventListener("resize", () => chart.resize());
}
</script>
</body>
</html>
`;
}

export function htmlTable(header: string[], rows: (string | number)[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

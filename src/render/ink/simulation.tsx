/**
 * The TTY view of a simulation, rendered by Ink: the funnel per campaign (with a reach bar: sends / audience),
 * sends per channel (with its share), sends per day (with a bar against the busiest day), content problems and
 * the total. The same figures as the plain text of ../simulation.ts, which stays the output off a TTY.
 */
import { Box, Text, renderToString } from "ink";
import type { SimulationSummary } from "../../simulate/summary.js";
import { maskPhonesIn } from "../mask.js";
import { formatYuan } from "../money.js";
import { Line, Table, Styled, barSegs, linesWidth, tableLines, type Cell, type Column, type Seg, type Tone } from "./parts.js";

const n = (x: number) => x.toLocaleString("en-US");
const yuan = formatYuan;
const num = (x: number, tone?: Tone): Cell => ({ text: n(x), tone: x === 0 ? "dim" : tone });

interface Section {
  title: string;
  lines: Seg[][];
}

/** The view's sections as lines of styled segments (also what the tests read). */
export function simulationSections(s: SimulationSummary): { head: Seg[]; sections: Section[]; problems: Seg[][]; total: Seg[] } {
  const channels = [...new Set(s.campaigns.flatMap((c) => Object.keys(c.by_channel)))].sort();
  const head: Seg[] = [{ text: `Simulation ${s.from} → ${s.to}`, tone: "bold" }, { text: `  members ${n(s.members)}` }];
  if (s.rejected) head.push({ text: `, rejected rows ${n(s.rejected)}`, tone: "yellow" });

  const sections: Section[] = [];
  const funnelCols: Column[] = [
    { header: "campaign" },
    ...["occ", "audience", "holdout", "unreachable", "capped", "sends", "deferred"].map((h) => ({ header: h, right: true })),
    ...channels.map((h) => ({ header: h, right: true })),
    { header: "converted", right: true },
    { header: "cost", right: true },
    { header: "reach" },
  ];
  sections.push({
    title: "Funnel per campaign",
    lines: tableLines(
      funnelCols,
      s.campaigns.map((c) => {
        const idle = c.audience === 0;
        return [
          { text: c.name, tone: idle ? "dim" : "plain" },
          num(c.occurrences),
          num(c.audience),
          num(c.holdout, "cyan"),
          num(c.unreachable, "yellow"),
          num(c.capped, "yellow"),
          num(c.sends, "green"),
          num(c.deferred, "cyan"),
          ...channels.map((ch) => num(c.by_channel[ch] ?? 0)),
          { text: n(c.estimated.converted), tone: c.estimated.converted ? "plain" : "dim" },
          { text: yuan(c.estimated.cost), tone: c.estimated.cost ? "plain" : "dim" },
          idle ? { text: "" } : { segs: barSegs(c.sends, c.audience, 12) },
        ];
      }),
    ),
  });

  const capped = s.campaigns.flatMap((c) =>
    Object.entries(c.capped_by)
      .filter(([k]) => k.startsWith("capped"))
      .map(([k, v]): Cell[] => [{ text: c.name }, { text: k.replace("capped:", "") }, num(v ?? 0, "yellow")]),
  );
  if (capped.length)
    sections.push({ title: "Capped, by rule", lines: tableLines([{ header: "campaign" }, { header: "rule" }, { header: "members", right: true }], capped) });

  const byChannel = Object.entries(s.total.by_channel).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  sections.push({
    title: "By channel",
    lines: tableLines(
      [{ header: "channel" }, { header: "sends", right: true }, { header: "share" }],
      byChannel.map(([ch, v]) => [{ text: ch }, num(v, "green"), { segs: barSegs(v, s.total.sends, 20, { tone: "cyan" }) }]),
    ),
  });

  if (s.days.length) {
    const busiest = Math.max(1, ...s.days.map((d) => d.sends));
    sections.push({
      title: "By day",
      lines: tableLines(
        [
          { header: "date" },
          { header: "sends", right: true },
          ...channels.map((h) => ({ header: h, right: true })),
          { header: "cost", right: true },
          { header: "" },
        ],
        s.days.map((d) => [
          { text: d.date },
          num(d.sends, "green"),
          ...channels.map((ch) => num(d.by_channel[ch] ?? 0)),
          { text: yuan(d.cost), tone: d.cost ? "plain" : "dim" },
          { segs: barSegs(d.sends, busiest, 20, { pct: false }) },
        ]),
      ),
    });
  }

  const problems: Seg[][] = s.campaigns.flatMap((c) =>
    c.problems.map((p): Seg[] => [
      p.severity === "error" ? { text: "error", tone: "red" } : { text: "warning", tone: "yellow" },
      { text: ` ${c.name} · ${p.channel}: ${n(p.members)} members: ${maskPhonesIn(p.message)}` },
    ]),
  );
  const total: Seg[] = [
    { text: "Total", tone: "bold" },
    { text: `: ${n(s.total.sends)} sends to ${n(s.total.members_reached)} members, estimated cost ${yuan(s.total.cost)}` },
  ];
  return { head, sections, problems, total };
}

export function SimulationView({ summary, color }: { summary: SimulationSummary; color: boolean }) {
  const { head, sections, problems, total } = simulationSections(summary);
  return (
    <Box flexDirection="column">
      <Line segs={head} color={color} />
      {sections.map((sec) => (
        <Box key={sec.title} flexDirection="column" marginTop={1}>
          <Text>
            <Styled text={sec.title} tone="bold" color={color} />
          </Text>
          <Table lines={sec.lines} color={color} />
        </Box>
      ))}
      {problems.length ? (
        <Box flexDirection="column" marginTop={1}>
          <Text>
            <Styled text="Content problems after rendering" tone="bold" color={color} />
          </Text>
          {problems.map((p, i) => (
            <Line key={i} segs={p} color={color} />
          ))}
        </Box>
      ) : null}
      <Box marginTop={1}>
        <Line segs={total} color={color} />
      </Box>
    </Box>
  );
}

/**
 * The simulation as Ink renders it, as a string for stdout (no live region: tables taller than the terminal
 * would make Ink clear the screen). Wide enough that no table line wraps inside Ink; a narrow terminal wraps
 * them as it does the plain text.
 */
export function renderSimulationInk(summary: SimulationSummary, opts: { color: boolean }): string {
  const { head, sections, problems, total } = simulationSections(summary);
  const width = Math.max(80, linesWidth([head, total, ...problems, ...sections.flatMap((s) => s.lines)]) + 2);
  return renderToString(<SimulationView summary={summary} color={opts.color} />, { columns: width }) + "\n";
}

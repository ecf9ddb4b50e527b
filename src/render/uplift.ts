/** Views of `chuda report`: plain-text tables (TTY and pipes alike) and the `--json` contract (src/outcomes/README.md). */
import { formatYuan, roundYuan } from "./money.js";
import { makeStyle, table } from "./style.js";
import type { CampaignOutcome, OutcomeFigures, UpliftReport } from "../outcomes/uplift.js";

const n = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 0 });
const pct = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(1)}%`);
const pp = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}`;
const yuan = formatYuan;
const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toLocaleString("en-US", { maximumFractionDigits: 1 })}`;

export interface UpliftTextOptions {
  color: boolean;
  /** The conversions file, as given. */
  file?: string;
}

function row(label: string, extra: string[], f: OutcomeFigures): string[] {
  const u = f.uplift;
  return [
    label,
    ...extra,
    n(f.treated.members),
    n(f.treated.converted),
    pct(f.treated.rate),
    n(f.control.members),
    n(f.control.converted),
    pct(f.control.rate),
    u ? `${pp(u.absolute.estimate)} pp` : "–",
    u ? `${pp(u.absolute.lower)} … ${pp(u.absolute.upper)}` : "–",
    u?.relative ? `${pp(u.relative.estimate)}%` : "–",
    u ? signed(u.incrementalConversions.estimate) : "–",
    u ? yuan(u.incrementalRevenue) : "–",
    yuan(f.cost),
    u ? yuan(u.costPerIncrementalConversion) : "–",
  ];
}

const HEAD = ["treated", "conv", "rate", "control", "conv", "rate", "uplift", "95% CI (pp)", "relative", "incr.", "incr. revenue", "cost", "cost/incr."];

export function renderUpliftText(r: UpliftReport, opts: UpliftTextOptions): string {
  const st = makeStyle(opts.color);
  const out: string[] = [];
  const range = r.from || r.to ? ` ${r.from ?? "…"} → ${r.to ?? "…"}` : "";
  const c = r.conversions;
  out.push(
    st.bold(`Outcomes${range}`) +
      `  conversions ${n(c.accepted)} read${c.rejected ? `, ${n(c.rejected)} rejected` : ""}, ${n(c.attributed)} attributed to a send or a held-out member\n`,
  );
  if (!r.campaigns.length) {
    out.push("No sends or held-out members in the ledger for these campaigns and dates.\n");
    return out.join("\n");
  }
  const right = HEAD.map((_, i) => i + 2);
  out.push(
    table(
      ["campaign", "goal", ...HEAD],
      r.campaigns.map((x) => row(x.name, [goalText(x)], x)),
      { right, style: st },
    ),
  );
  const notes = r.campaigns.filter((x) => x.note);
  for (const x of notes) out.push(`${st.yellow("note")} ${x.name}: ${x.note}`);
  if (notes.length) out.push("");
  const open = r.campaigns.flatMap((x) => x.occurrences.filter((o) => !o.windowClosed).map((o) => `${x.name} ${o.occurrence}`));
  if (open.length)
    out.push(
      `${st.yellow("note")} the conversions file ends before the goal window of ${open.length} occurrence${open.length === 1 ? "" : "s"} closes; their figures may still grow: ${open.slice(0, 5).join(", ")}${open.length > 5 ? ", …" : ""}\n`,
    );

  out.push(st.bold("By occurrence"));
  out.push(
    table(
      ["campaign", "occurrence", ...HEAD],
      r.campaigns.flatMap((x) => x.occurrences.map((o) => row(x.name, [o.sendAtLocal + (o.windowClosed ? "" : " *")], o))),
      { right, style: st },
    ),
  );
  const sentOnly = r.campaigns.filter((x) => x.sentOnly.absolute && x.sentOnly.members !== x.treated.members);
  if (sentOnly.length) {
    out.push(st.bold("Sent only (treated members whose send went out; not comparable with the control, shown for reference)"));
    out.push(
      table(
        ["campaign", "assigned", "sent", "conv", "rate", "uplift", "95% CI (pp)"],
        sentOnly.map((x) => {
          const a = x.sentOnly.absolute!;
          return [
            x.name,
            n(x.treated.members),
            n(x.sentOnly.members),
            n(x.sentOnly.converted),
            pct(x.sentOnly.rate),
            `${pp(a.estimate)} pp`,
            `${pp(a.lower)} … ${pp(a.upper)}`,
          ];
        }),
        { right: [1, 2, 3, 4, 5, 6] },
      ),
    );
  }
  const delivered = r.campaigns.filter((x) => x.treated.delivered !== null || x.treated.opened !== null);
  if (delivered.length) {
    out.push(st.bold("Delivery (where the provider reported it)"));
    out.push(
      table(
        ["campaign", "sent", "delivered", "opened"],
        delivered.map((x) => [
          x.name,
          n(x.treated.members),
          x.treated.delivered === null ? "–" : n(x.treated.delivered),
          x.treated.opened === null ? "–" : `${n(x.treated.opened)}${x.treated.openedByClicks ? " clicked" : ""}`,
        ]),
        { right: [1, 2, 3] },
      ),
    );
  }
  const goals = r.campaigns.filter((x) => x.goal && x.attainment !== null);
  if (goals.length) {
    out.push(st.bold("Goal attainment (treated rate against the expected rate)"));
    out.push(
      table(
        ["campaign", "expected", "treated rate", "attainment"],
        goals.map((x) => [x.name, pct(x.goal!.expect), pct(x.treated.rate), pct(x.attainment)]),
        { right: [1, 2, 3] },
      ),
    );
  }
  out.push(st.dim("uplift: treated rate − control rate in percentage points, 95% CI by Newcombe's hybrid score method; relative: Katz log interval in --json"));
  out.push(
    st.dim(
      "treated: every member assigned a send, sent or not (intention to treat); control: held out from exactly the members the plan would send to, using up no cap or quota",
    ),
  );
  return out.join("\n") + "\n";
}

export function goalText(c: Pick<CampaignOutcome, "goal">): string {
  const g = c.goal;
  if (!g) return "–";
  const what =
    g.kind === "redeem"
      ? `redeem ${g.code ?? ""}`
      : g.kind === "event"
        ? `event ${g.code ?? ""}`
        : g.kind === "purchase" && g.minAmount !== undefined
          ? `purchase ≥ ¥${g.minAmount}`
          : g.kind;
  return `${what.trim()} ≤ ${g.within}`;
}

/** How the groups are formed, in words (the `method` of `--json`; the HTML report prints the same). */
export const UPLIFT_METHOD = {
  groups: "intention-to-treat",
  treated: "every member assigned a send, whatever became of it (planned, in flight, sent, queued, failed, unknown, expired, withdrawn)",
  control:
    "held-out members, drawn by a stable hash from exactly the members the plan would send to (after exclusion, reachability, caps, quotas, repeat, limit and budget); they use up no cap, quota, limit or budget, since nothing is sent to them",
  sent_only:
    "beside it, labelled: treated members whose send went out (sent, queued) against the same control; not comparable, since which sends fail depends on the member",
};

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function toSnake(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toSnake);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [snake(k), toSnake(x)]));
  return v;
}

/** The `--json` contract, version 1 (documented in src/outcomes/README.md): snake_case keys, times as epoch ms and ISO text. */
export function upliftJson(r: UpliftReport, meta: { conversionsFile: string; ledger: string }): unknown {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return roundMoney(
    toSnake({
      version: 1,
      ...(r.from ? { from: r.from } : {}),
      ...(r.to ? { to: r.to } : {}),
      ledger: meta.ledger,
      conversions: { file: meta.conversionsFile, ...r.conversions, latest: iso(r.conversions.latest) },
      method: { interval: "newcombe-hybrid-score", relative_interval: "katz-log", level: 0.95, attribution: "last-touch", ...UPLIFT_METHOD },
      campaigns: r.campaigns.map((c) => ({
        ...c,
        occurrences: c.occurrences.map((o) => ({ ...o, sendAt: iso(o.sendAt), windowEnd: iso(o.windowEnd) })),
      })),
    }),
  );
}

/** Amounts of money in the JSON, rounded to the fen as the text and HTML show them. */
const MONEY_KEYS = new Set(["cost", "revenue", "incremental_revenue", "cost_per_incremental_conversion"]);
function roundMoney(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(roundMoney);
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, MONEY_KEYS.has(k) && typeof x === "number" ? roundYuan(x) : roundMoney(x)]));
  return v;
}

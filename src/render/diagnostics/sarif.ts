import type { Diagnostic } from "../../diagnostics/types.js";
import { MESSAGES } from "../../diagnostics/messages/index.js";
import type { RenderContext } from "./context.js";

const INFO_URI = "https://github.com/chuda-dev/chuda#readme";

const byCode = new Map(Object.values(MESSAGES).map((m) => [m.code, m]));

/** The SARIF rule of a code, described by its entry in the message table. */
export function sarifRule(code: string) {
  const def = byCode.get(code);
  return {
    id: code,
    shortDescription: { text: def?.description ?? code },
    defaultConfiguration: { level: def?.severity === "warning" ? "warning" : "error" },
    helpUri: `${INFO_URI}#diagnostics`,
  };
}

/** SARIF 2.1.0: one run, rules from the message table, `results` always present. */
export function sarifLog(diags: readonly Diagnostic[], ctx: RenderContext) {
  const used = [...new Set(diags.map((d) => d.code))].sort();
  const ruleIndex = new Map(used.map((c, i) => [c, i]));
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0" as const,
    runs: [
      {
        tool: {
          driver: {
            name: "chuda",
            version: ctx.version,
            informationUri: INFO_URI,
            rules: used.map(sarifRule),
          },
        },
        originalUriBaseIds: { PROJECTROOT: { description: { text: "The campaign repository root (the folder holding chuda.yaml)." } } },
        results: diags.map((d) => ({
          ruleId: d.code,
          ruleIndex: ruleIndex.get(d.code)!,
          level: d.severity === "error" ? "error" : "warning",
          message: { text: d.help ? `${d.message} (${d.help})` : d.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: encodeURI(d.span.file.replace(/\\/g, "/")), uriBaseId: "PROJECTROOT" },
                region: {
                  startLine: d.span.start.line,
                  startColumn: d.span.start.column,
                  endLine: d.span.end.line,
                  endColumn: Math.max(d.span.end.column, d.span.end.line === d.span.start.line ? d.span.start.column + 1 : 1),
                },
              },
            },
          ],
          ...(d.related?.length
            ? {
                relatedLocations: d.related.map((r, i) => ({
                  id: i,
                  message: { text: r.message },
                  physicalLocation: {
                    artifactLocation: { uri: encodeURI(r.span.file), uriBaseId: "PROJECTROOT" },
                    region: { startLine: r.span.start.line, startColumn: r.span.start.column },
                  },
                })),
              }
            : {}),
        })),
      },
    ],
  };
}

export function renderSarif(diags: readonly Diagnostic[], ctx: RenderContext): string {
  return JSON.stringify(sarifLog(diags, ctx), null, 2) + "\n";
}

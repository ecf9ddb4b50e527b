/**
 * Railroad diagrams of the grammar (grammar/diagrams.html), drawn by Chevrotain from the parser itself.
 * The page is self-contained: the diagram scripts and stylesheet Chevrotain ships are inlined, so it opens
 * offline. A test keeps grammar/diagrams.html equal to this output (UPDATE_GOLDEN=1 rewrites it).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { createSyntaxDiagramsCode } from "chevrotain";
import { parser } from "./parser.js";

export function diagramsHtml(): string {
  const root = path.resolve(path.dirname(createRequire(import.meta.url).resolve("chevrotain")), "../..");
  const base = "chuda-resource:/";
  // Token labels are worded for error messages (`` `campaign` ``, "a name"); the diagram shows keywords bare.
  const bare = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(bare);
    if (!v || typeof v !== "object") return v;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = k === "label" && typeof x === "string" ? x.replace(/^`(.+)`$/, "$1") : bare(x);
    return o;
  };
  let html = createSyntaxDiagramsCode(bare(parser.getSerializedGastProductions()) as ReturnType<typeof parser.getSerializedGastProductions>, {
    resourceBase: `${base}/`,
    css: `${base}/diagrams.css`,
  });
  html = html.replace(
    /<link rel='stylesheet' href='chuda-resource:\/\/([^']+)'>/g,
    (_, f: string) => `<style>\n${readFileSync(path.join(root, "diagrams", f), "utf8")}</style>`,
  );
  html = html.replace(
    /<script src='chuda-resource:\/\/([^']+)'><\/script>/g,
    (_, f: string) => `<script>\n${readFileSync(path.join(root, "diagrams", f), "utf8")}</script>`,
  );
  html = html.replace(
    "<!-- This is a generated file -->",
    "<!-- Generated from src/language/parser.ts by diagramsHtml() (src/language/diagrams.ts); do not edit. -->",
  );
  return html.replace(/[ \t]+$/gm, "");
}

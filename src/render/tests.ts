/**
 * Views of `chuda test`: pretty (one line per test, a diff under each failure, like `opa test`), json (the
 * contract in src/campaign-tests/README.md) and github (workflow commands that annotate the test file in a PR).
 */
import type { FileOutcome, TestSummary } from "../campaign-tests/index.js";
import { diagnosticsJson } from "./diagnostics/json.js";
import { renderGithub } from "./diagnostics/github.js";
import { renderPretty } from "./diagnostics/pretty.js";
import { makeStyle } from "./style.js";

export type TestFormat = "pretty" | "json" | "github";
export const TEST_FORMATS: TestFormat[] = ["pretty", "json", "github"];

export interface TestRenderOptions {
  color: boolean;
  sources: Map<string, string>;
  version: string;
}

export function renderTestsPretty(outcomes: FileOutcome[], summary: TestSummary, opts: TestRenderOptions): string {
  const st = makeStyle(opts.color);
  const out: string[] = [];
  for (const o of outcomes) {
    out.push(st.bold(o.file));
    if (o.diagnostics.length) {
      const text = renderPretty(o.diagnostics, { sources: opts.sources, files: 1, color: opts.color, version: opts.version });
      out.push(text.replace(/\n+$/, ""));
    }
    for (const r of o.results) {
      out.push(`  ${r.passed ? st.green("PASS") : st.red("FAIL")} ${r.name}${r.passed ? "" : st.dim(`  (${r.file}:${r.span.start.line})`)}`);
      for (const f of r.failures) {
        out.push(`       member ${f.member}${f.campaign ? ` (${f.campaign})` : ""}: ${f.message}`);
        for (const l of f.lines) {
          const text = `         ${l.sign} ${l.text}`;
          out.push(l.sign === "-" ? st.red(text) : l.sign === "+" ? st.green(text) : st.dim(text));
        }
      }
    }
    out.push("");
  }
  const parts = [`${summary.tests} test${summary.tests === 1 ? "" : "s"}`, `${summary.passed} passed`, `${summary.failed} failed`];
  if (summary.errors) parts.push(`${summary.errors} file${summary.errors === 1 ? "" : "s"} with errors`);
  const line = parts.join(", ");
  out.push(summary.failed || summary.errors ? st.red(line) : st.green(line));
  if (summary.failed) out.push(st.dim("- expected, not planned   + planned, not expected"));
  return out.join("\n") + "\n";
}

export function testsJson(outcomes: FileOutcome[], summary: TestSummary): unknown {
  return {
    version: 1,
    files: outcomes.map((o) => ({
      file: o.file,
      diagnostics: diagnosticsJson(o.diagnostics, { files: 1 }).diagnostics,
      tests: o.results.map((r) => ({
        name: r.name,
        line: r.span.start.line,
        status: r.passed ? "pass" : "fail",
        failures: r.failures.map((f) => ({
          member: f.member,
          campaign: f.campaign ?? null,
          message: f.message,
          expected: f.lines.filter((l) => l.sign !== "+").map((l) => l.text),
          actual: f.lines.filter((l) => l.sign !== "-").map((l) => l.text),
          diff: f.lines.map((l) => `${l.sign} ${l.text}`),
        })),
      })),
    })),
    summary,
  };
}

export function renderTestsJson(outcomes: FileOutcome[], summary: TestSummary): string {
  return JSON.stringify(testsJson(outcomes, summary), null, 2) + "\n";
}

const esc = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const prop = (s: string) => esc(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

export function renderTestsGithub(outcomes: FileOutcome[], summary: TestSummary, opts: TestRenderOptions): string {
  const out: string[] = [];
  for (const o of outcomes) {
    if (o.diagnostics.length)
      out.push(renderGithub(o.diagnostics, { sources: opts.sources, files: 1, color: false, version: opts.version }).replace(/\n$/, ""));
    for (const r of o.results) {
      if (r.passed) {
        out.push(`PASS ${r.file}: ${r.name}`);
        continue;
      }
      const body = [`${r.name}`, ...r.failures.flatMap((f) => [`member ${f.member}: ${f.message}`, ...f.lines.map((l) => `${l.sign} ${l.text}`)])].join("\n");
      out.push(`::error file=${prop(r.file)},line=${r.span.start.line},col=${r.span.start.column},title=${prop(`chuda test: ${r.name}`)}::${esc(body)}`);
    }
  }
  out.push(`${summary.tests} tests, ${summary.passed} passed, ${summary.failed} failed${summary.errors ? `, ${summary.errors} files with errors` : ""}`);
  return out.join("\n") + "\n";
}

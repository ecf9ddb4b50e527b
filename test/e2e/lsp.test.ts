import { afterEach, describe, expect, it } from "vitest";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  CompletionRequest,
  DefinitionRequest,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  DocumentFormattingRequest,
  DidOpenTextDocumentNotification,
  DocumentSymbolRequest,
  HoverRequest,
  ReferencesRequest,
  RenameRequest,
  SemanticTokensRequest,
  type CompletionItem,
  type CompletionList,
  type Diagnostic,
  type Location,
  type MarkupContent,
} from "vscode-languageserver-protocol/node";
import { copyExampleRepo } from "./cli.js";
import { LspClient } from "./lsp-client.js";

const CAMPAIGN = `campaign lsp_demo "测试" {
  audience tags has "🎁礼物" and valuble
  trigger  every day at 10:00
  content  "community"
  channel  wecom
  goal     visit within 1 day
}
`;

/** The 0-based line and UTF-16 character of the first `needle` in `text` (what LSP positions count). */
function at(text: string, needle: string, delta = 0) {
  const offset = text.indexOf(needle);
  if (offset < 0) throw new Error(`${needle} not in text`);
  const before = text.slice(0, offset + delta);
  const line = before.split("\n").length - 1;
  return { line, character: before.length - before.lastIndexOf("\n") - 1 };
}

/** A diagnostic's message as text (LSP 3.18 allows Markdown there; chuda sends text). */
const msg = (d: Diagnostic) => (typeof d.message === "string" ? d.message : d.message.value);

let client: LspClient | undefined;
afterEach(async () => {
  if (client && client.exitCode === null) client.child.kill();
  client = undefined;
});

async function start(files: Record<string, string> = {}) {
  const dir = copyExampleRepo();
  for (const [rel, text] of Object.entries(files)) writeFileSync(path.join(dir, rel), text);
  client = new LspClient(dir, { CHUDA_NOW: "2026-03-02T08:00:00+08:00" });
  const init = await client.initialize();
  return { dir, c: client, init };
}

describe("chuda lsp --stdio", () => {
  it("pushes diagnostics with exact UTF-16 ranges on open, clears them when a change fixes the error, shuts down cleanly", async () => {
    const { c, init } = await start();
    expect(init.capabilities.completionProvider).toBeTruthy();
    expect(init.capabilities.documentFormattingProvider).toBe(true);
    const uri = await c.open("campaigns/lsp.chuda", CAMPAIGN);
    const diags = await c.waitDiagnostics(uri, (d) => d.length > 0);
    const unknown = diags.find((d) => msg(d).includes("valuble"));
    expect(unknown, JSON.stringify(diags)).toBeDefined();
    // `🎁` is two UTF-16 code units: the range is in UTF-16 columns, as LSP counts.
    const pos = at(CAMPAIGN, "valuble");
    expect(unknown!.range).toEqual({ start: pos, end: { line: pos.line, character: pos.character + "valuble".length } });
    expect(unknown!.severity).toBe(1);
    expect(unknown!.source).toBe("chuda");
    expect(msg(unknown!)).toMatch(/valuable/); // the help names the segment

    const cleared = c.nextDiagnostics(uri, (d) => d.length === 0);
    await c.change(uri, CAMPAIGN.replace("valuble", "valuable"));
    expect(await cleared).toEqual([]);
    expect(c.errors).toEqual([]);
    expect(await c.close()).toBe(0);
  });

  it("re-checks the campaigns using a template when the template changes, and everything when chuda.yaml changes", async () => {
    const { c, dir } = await start({ "campaigns/lsp.chuda": CAMPAIGN.replace("valuble", "valuable") });
    const campaign = await c.open("campaigns/lsp.chuda");
    await c.waitDiagnostics(campaign, (d) => d.length === 0);

    // The template loses its wecom section (unsaved): the campaign sending it by wecom is now wrong.
    const template = await c.open("templates/community.yaml");
    const broken = c.nextDiagnostics(campaign, (d) => d.some((x) => /community/.test(msg(x))));
    await c.change(template, 'sms:\n  sign: "示例"\n  code: "SMS_1"\n  body: "hi 拒收请回复R"\n');
    expect((await broken).length).toBeGreaterThan(0);
    const fixed = c.nextDiagnostics(campaign, (d) => d.length === 0);
    await c.change(template, readFileSync(path.join(dir, "templates/community.yaml"), "utf8"));
    await fixed;

    // chuda.yaml drops the wecom channel: every campaign naming it is re-checked.
    const yaml = await c.open("chuda.yaml");
    const yamlText = readFileSync(path.join(dir, "chuda.yaml"), "utf8");
    const noWecom = c.nextDiagnostics(campaign, (d) => d.some((x) => msg(x).includes("wecom")));
    await c.change(yaml, yamlText.replace(/\n  wecom:\n(    .*\n)+/, "\n"));
    const d = await noWecom;
    expect(d.find((x) => msg(x).includes("wecom"))!.range.start).toEqual(at(CAMPAIGN, "wecom"));
    const weekly = c.uri("campaigns/weekly.chuda");
    await c.waitDiagnostics(weekly, (x) => x.some((y) => msg(y).includes("wecom")));
    expect(c.errors).toEqual([]);
  });

  it("reads files changed on disk when the client reports them, and clears a deleted file's diagnostics", async () => {
    const { c, dir } = await start();
    const uri = await c.open("campaigns/weekly.chuda");
    await c.waitDiagnostics(uri);
    const file = path.join(dir, "campaigns/disk.chuda");
    const diskUri = c.uri("campaigns/disk.chuda");
    writeFileSync(file, CAMPAIGN);
    await c.connection.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: diskUri, type: FileChangeType.Created }] });
    const d = await c.waitDiagnostics(diskUri, (x) => x.length > 0);
    expect(d.some((x) => msg(x).includes("valuble"))).toBe(true);
    // A file on disk that is not UTF-8 is reported as the CLI reports it.
    const badUri = c.uri("campaigns/bad.chuda");
    writeFileSync(path.join(dir, "campaigns/bad.chuda"), Buffer.concat([Buffer.from("# caf"), Buffer.from([0xff]), Buffer.from("\n")]));
    await c.connection.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: badUri, type: FileChangeType.Created }] });
    const bad = await c.waitDiagnostics(badUri, (x) => x.length > 0);
    expect(bad[0]!.range.start).toEqual({ line: 0, character: 5 });
    expect(msg(bad[0]!)).toMatch(/UTF-8/);
    rmSync(file);
    const cleared = c.nextDiagnostics(diskUri, (x) => x.length === 0);
    await c.connection.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: diskUri, type: FileChangeType.Deleted }] });
    await cleared;
    expect(c.errors).toEqual([]);
  });

  it("formats a document with the canonical formatter as one full-document edit, and lists its symbols", async () => {
    const { c } = await start();
    const messy = `segment   big=spend_12m>=5000\ncampaign lsp_fmt {\n audience big\n trigger every day at 10:00\n content "community"\n channel wecom\n goal visit within 1 day\n}\n`;
    const uri = await c.open("campaigns/fmt.chuda", messy);
    const edits = await c.connection.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
    expect(edits).toHaveLength(1);
    expect(edits![0]!.range).toEqual({ start: { line: 0, character: 0 }, end: { line: 8, character: 0 } });
    expect(edits![0]!.newText).toContain("segment big = spend_12m >= 5000\n");
    expect(edits![0]!.newText).toContain("  trigger  every day at 10:00\n");

    const symbols = (await c.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } })) as {
      name: string;
      children?: { name: string }[];
    }[];
    expect(symbols.map((s) => s.name)).toEqual(["big", "lsp_fmt"]);
    expect(symbols[1]!.children!.map((x) => x.name)).toEqual(["audience", "trigger", "content", "channel", "goal"]);

    // A file with a syntax error is left alone: no edits.
    await c.change(uri, messy.replace("audience big", "audience big and"));
    const none = await c.connection.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
    expect(none).toEqual([]);
  });

  it("completes clause keywords, fields with types, enum values, segments, templates, channels, events and units", async () => {
    const { c } = await start();
    const text = `campaign lsp_c {\n  \n  audience tier >= \n  audience \n  content  \n  channel  wecom > \n  trigger  3 days before \n  goal     visit within 3 \n}\n`;
    const uri = await c.open("campaigns/c.chuda", text);
    const labels = async (line: number, character: number) => {
      const r = (await c.connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: { line, character } })) as
        CompletionItem[] | CompletionList | null;
      const items = Array.isArray(r) ? r : (r?.items ?? []);
      return new Map(items.map((i) => [i.label, i]));
    };
    const clause = await labels(1, 2);
    expect([...clause.keys()]).toEqual(expect.arrayContaining(["audience", "trigger", "content", "channel", "goal", "priority", "send between"]));
    const enumValues = await labels(2, "  audience tier >= ".length);
    expect([...enumValues.keys()]).toEqual(["normal", "silver", "gold", "platinum", "diamond"]);
    const expr = await labels(3, "  audience ".length);
    expect(expr.get("spend_12m")?.detail).toBe("number");
    expect(expr.get("tier")?.detail).toBe("enum (normal, silver, gold, platinum, diamond)");
    expect(expr.get("valuable")?.detail).toBe("segment = tier >= gold or spend_12m >= 5000");
    expect(expr.has("days_since")).toBe(true);
    const tpl = await labels(4, "  content  ".length);
    expect(tpl.has('"community"')).toBe(true);
    expect(tpl.has('"welcome"')).toBe(true);
    const ch = await labels(5, "  channel  wecom > ".length);
    expect([...ch.keys()].sort()).toEqual(["sms", "template_message", "wecom"]);
    const ev = await labels(6, "  trigger  3 days before ".length);
    expect(ev.has("mid_autumn")).toBe(true);
    expect(ev.has("store_anniversary")).toBe(true); // the project's calendar
    expect(ev.has("birthday")).toBe(true); // a member date field
    const withLine = `  content  "welcome" with { coupon: "X", `;
    await c.change(uri, text.replace("  content  \n", `${withLine}\n`));
    const keys = await labels(4, withLine.length);
    expect([...keys.keys()]).toEqual(["amount"]); // welcome reads coupon and amount; coupon is given
    await c.change(uri, text);
    const units = await labels(7, "  goal     visit within 3 ".length);
    expect(units.has("days")).toBe(true);
    expect(c.errors).toEqual([]);
  });

  it("hovers a field's type, a segment's expression and a trigger's next five occurrences", async () => {
    const { c } = await start();
    const text = `campaign lsp_h {\n  audience valuable and tier >= gold\n  trigger  every monday at 10:00\n  content  "welcome" with { coupon: "NEW20", amount: 20 }\n  channel  wecom\n  goal     visit within 1 day\n}\n`;
    const uri = await c.open("campaigns/h.chuda", text);
    await c.waitDiagnostics(uri, (d) => d.length === 0);
    const hover = async (needle: string, delta = 1) => {
      const r = await c.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: at(text, needle, delta) });
      return (r?.contents as MarkupContent | undefined)?.value ?? "";
    };
    expect(await hover("tier")).toContain("enum (normal, silver, gold, platinum, diamond)");
    expect(await hover("valuable")).toContain("segment valuable = tier >= gold or spend_12m >= 5000");
    const tpl = await hover('"welcome"');
    expect(tpl).toContain("templates/welcome.yaml");
    expect(tpl).toMatch(/rendered for a sample member .*wecom/);
    expect(tpl).toContain("20元新人礼券（NEW20）"); // {{amount}} and {{coupon}} from the campaign's `with`
    const trig = await hover("every monday");
    // CHUDA_NOW is Monday 2026-03-02 08:00 in Shanghai: the next five Mondays from that day on.
    expect(trig).toContain("every monday");
    const dates = [...trig.matchAll(/^- (\d{4}-\d{2}-\d{2}) 10:00/gm)].map((m) => m[1]);
    expect(dates).toEqual(["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]);
  });

  it("goes to definitions, finds references and renames a segment across files", async () => {
    const { c, dir } = await start();
    const text = `campaign lsp_d {\n  audience valuable and nearby\n  trigger  every day at 10:00\n  content  "community"\n  channel  wecom\n  goal     visit within 1 day\n}\n`;
    const uri = await c.open("campaigns/d.chuda", text);
    await c.waitDiagnostics(uri, (d) => d.length === 0);
    const segments = readFileSync(path.join(dir, "campaigns/segments.chuda"), "utf8");
    const segUri = c.uri("campaigns/segments.chuda");

    const def = (await c.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: at(text, "valuable", 2) })) as Location;
    expect(def).toEqual({ uri: segUri, range: { start: at(segments, "valuable"), end: at(segments, "valuable", "valuable".length) } });
    const tpl = (await c.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: at(text, "community", 1) })) as Location;
    expect(tpl.uri).toBe(c.uri("templates/community.yaml"));
    const yaml = readFileSync(path.join(dir, "chuda.yaml"), "utf8");
    const ch = (await c.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: at(text, "wecom", 1) })) as Location;
    expect(ch.uri).toBe(c.uri("chuda.yaml"));
    expect(ch.range.start).toEqual(at(yaml, "\n  wecom:", 3));

    const refs = (await c.connection.sendRequest(ReferencesRequest.type, {
      textDocument: { uri },
      position: at(text, "valuable", 1),
      context: { includeDeclaration: true },
    })) as Location[];
    const files = new Set(refs.map((r) => r.uri));
    expect(files.has(uri)).toBe(true);
    expect(files.has(segUri)).toBe(true);
    expect(refs.length).toBeGreaterThanOrEqual(3); // the definition, this use and the example campaigns' uses

    const edit = await c.connection.sendRequest(RenameRequest.type, { textDocument: { uri }, position: at(text, "valuable", 1), newName: "high_value" });
    const changes = edit!.changes!;
    expect(changes[uri]).toEqual([{ range: { start: at(text, "valuable"), end: at(text, "valuable", 8) }, newText: "high_value" }]);
    expect(changes[segUri]).toContainEqual({ range: { start: at(segments, "valuable"), end: at(segments, "valuable", 8) }, newText: "high_value" });
    expect(Object.keys(changes).length).toBe(refs.length > 0 ? new Set(refs.map((r) => r.uri)).size : 0);
    expect(c.errors).toEqual([]);
  });

  it("classifies names with semantic tokens, completes helpers and fields in templates, and goes to a project calendar event", async () => {
    const { c, dir, init } = await start();
    const text = `campaign lsp_s {\n  audience valuable and tier >= gold\n  trigger  3 days before store_anniversary at 10:00\n  content  "community"\n  channel  wecom\n  goal     visit within 1 day\n}\n`;
    const uri = await c.open("campaigns/s.chuda", text);
    const legend = init.capabilities.semanticTokensProvider!.legend.tokenTypes;
    const tokens = await c.connection.sendRequest(SemanticTokensRequest.type, { textDocument: { uri } });
    const data = tokens!.data;
    const kinds = new Map<string, string>();
    const lines = text.split("\n");
    for (let i = 0, line = 0, ch = 0; i < data.length; i += 5) {
      line += data[i]!;
      ch = data[i] === 0 ? ch + data[i + 1]! : data[i + 1]!;
      kinds.set(lines[line]!.slice(ch, ch + data[i + 2]!), legend[data[i + 3]!]!);
    }
    expect(Object.fromEntries(["campaign", "valuable", "tier", "gold", "store_anniversary", "wecom", '"community"'].map((k) => [k, kinds.get(k)]))).toEqual({
      campaign: "keyword",
      valuable: "variable",
      tier: "property",
      gold: "enumMember",
      store_anniversary: "event",
      wecom: "namespace",
      '"community"': "string",
    });

    const yaml = readFileSync(path.join(dir, "chuda.yaml"), "utf8");
    const ev = (await c.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: at(text, "store_anniversary", 1) })) as Location;
    expect(ev).toMatchObject({ uri: c.uri("chuda.yaml"), range: { start: at(yaml, "store_anniversary:") } });
    const evHover = await c.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: at(text, "store_anniversary", 1) });
    // chuda.yaml: store_anniversary "09-28", yearly; CHUDA_NOW is 2026-03-02.
    expect((evHover?.contents as MarkupContent).value).toContain("next: 2026-09-28, 2027-09-28, 2028-09-28, 2029-09-28, 2030-09-28");

    const tplText = readFileSync(path.join(dir, "templates/community.yaml"), "utf8");
    const tpl = await c.open("templates/community.yaml", tplText + "# {{tru");
    const lastLine = (tplText + "# {{tru").split("\n");
    const r = (await c.connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri: tpl },
      position: { line: lastLine.length - 1, character: lastLine.at(-1)!.length },
    })) as CompletionItem[];
    const labels = new Map(r.map((x) => [x.label, x]));
    expect(labels.get("truncate")?.detail).toBe("{{truncate name 8}}");
    expect(labels.get("tier")?.detail).toContain("enum");
    expect(c.errors).toEqual([]);
  });

  it("keeps hover, definition and completion working in a file with a syntax error; a file outside any repository gets its syntax errors", async () => {
    const { c, dir } = await start();
    const text = `campaign half {\n  audience tier >= \n  trigger  every\n}\n\ncampaign lsp_ok {\n  audience valuable and tier >= gold\n  trigger  every day at 10:00\n  content  "community"\n  channel  wecom\n  goal     visit within 1 day\n}\n`;
    const uri = await c.open("campaigns/half.chuda", text);
    const d = await c.waitDiagnostics(uri, (x) => x.length > 0);
    expect(d.some((x) => x.severity === 1)).toBe(true);
    const h = await c.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: at(text, "tier >= gold", 1) });
    expect((h?.contents as MarkupContent).value).toContain("enum (normal");
    const def = (await c.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: at(text, "valuable", 1) })) as Location;
    expect(def.uri).toBe(c.uri("campaigns/segments.chuda"));
    const items = (await c.connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri },
      position: { line: 1, character: "  audience tier >= ".length },
    })) as CompletionItem[];
    expect(items.map((i) => i.label)).toContain("platinum");

    // Outside the repository (no chuda.yaml above it): syntax only.
    const outside = path.join(path.dirname(dir), `${path.basename(dir)}-loose.chuda`);
    const looseUri = new URL(`file://${outside}`).href;
    await c.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: looseUri, languageId: "chuda", version: 1, text: "campaign x {\n  audience\n}\n" },
    });
    const loose = await c.waitDiagnostics(looseUri, (x) => x.length > 0);
    expect(loose[0]!.range.start.line).toBeGreaterThanOrEqual(1);
    expect(c.errors).toEqual([]);
  });

  it("renames a segment used in chuda.yaml's policy.exclude there too", async () => {
    const yaml0 = readFileSync(path.join(copyExampleRepo(), "chuda.yaml"), "utf8");
    const { c, dir } = await start({ "chuda.yaml": yaml0.replace("exclude: unsubscribed", "exclude: not reachable") });
    const yaml = readFileSync(path.join(dir, "chuda.yaml"), "utf8");
    const segments = readFileSync(path.join(dir, "campaigns/segments.chuda"), "utf8");
    const uri = await c.open("campaigns/segments.chuda");
    const edit = await c.connection.sendRequest(RenameRequest.type, { textDocument: { uri }, position: at(segments, "reachable", 1), newName: "contactable" });
    expect(edit!.changes![c.uri("chuda.yaml")]).toEqual([{ range: { start: at(yaml, "reachable"), end: at(yaml, "reachable", 9) }, newText: "contactable" }]);
  });

  it("survives a campaign typed character by character: no error response, no crash", async () => {
    const { c } = await start();
    const uri = await c.open("campaigns/typed.chuda", "");
    const text = `# typed\nsegment big = spend_12m >= 5000 and tier in [gold, platinum]\ncampaign typed "逐字" {\n  audience big and not (days_since(last_purchase_at) > 30)\n  trigger  3 days before mid_autumn at 10:00\n  content  "community" with { coupon: "X1", amount: 20 }\n  channel  wecom\n  goal     purchase >= 200 CNY within 7 days expect 5%\n  limit    100 members order by spend_12m desc\n}\n`;
    for (let i = 1; i <= text.length; i++) {
      await c.change(uri, text.slice(0, i));
      if (i % 7 === 0) {
        const position = { line: text.slice(0, i).split("\n").length - 1, character: i - text.slice(0, i).lastIndexOf("\n") - 1 };
        await c.connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position });
        await c.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position });
        await c.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } });
        await c.connection.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
      }
    }
    const final = await c.currentDiagnostics(uri);
    expect(final.filter((d) => d.severity === 1)).toEqual([]);
    expect(c.exitCode).toBeNull();
    expect(c.errors).toEqual([]);
    expect(await c.close()).toBe(0);
  });
});

/**
 * Finding things in the AST by position and by name: what is under the cursor, where a segment, template,
 * channel, field or calendar event is defined and where it is used.
 */
import type { CampaignDecl, ContentClause, EventRef, FileNode, Ident, Node, RefExpr, SegmentDecl } from "../language/ast.js";
import type { Span } from "../diagnostics/span.js";
import type { Analysis } from "./analysis.js";
import { parseExpression } from "../language/index.js";

type AnyNode = Node & { kind?: string };

/** Every node of the tree (anything with a span), parents before children. */
export function walk(node: unknown, visit: (n: AnyNode, parents: AnyNode[]) => void, parents: AnyNode[] = []): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, visit, parents);
    return;
  }
  if (!node || typeof node !== "object") return;
  const n = node as AnyNode;
  const isNode = "span" in n && n.span && typeof n.span === "object" && "start" in n.span;
  if (isNode) visit(n, parents);
  const next = isNode ? [...parents, n] : parents;
  for (const [k, v] of Object.entries(n)) if (k !== "span" && v && typeof v === "object") walk(v, visit, next);
}

function contains(span: Span, offset: number): boolean {
  return span.start.offset <= offset && offset <= span.end.offset;
}

/** What the cursor is on: the innermost node containing the offset, and its ancestors (outermost first). */
export function nodeAt(ast: FileNode, offset: number): { node?: AnyNode; parents: AnyNode[] } {
  let best: { node?: AnyNode; parents: AnyNode[] } = { parents: [] };
  walk(ast.items, (n, parents) => {
    if (!contains(n.span, offset)) return;
    if (!best.node || n.span.end.offset - n.span.start.offset <= best.node.span.end.offset - best.node.span.start.offset) best = { node: n, parents };
  });
  return best;
}

/** A named thing the cursor can be on. */
export type Target =
  | { kind: "segment"; name: string; span: Span }
  | { kind: "field"; name: string; span: Span }
  | { kind: "template"; name: string; span: Span; campaign?: string }
  | { kind: "channel"; name: string; span: Span }
  | { kind: "event"; name: string; span: Span; anniversary: boolean }
  | { kind: "campaign"; name: string; span: Span; decl: CampaignDecl }
  | { kind: "trigger"; span: Span; campaign: CampaignDecl };

export function targetAt(a: Analysis, ast: FileNode, offset: number): Target | undefined {
  const { node, parents } = nodeAt(ast, offset);
  if (!node) return undefined;
  const parent = parents[parents.length - 1];
  const campaign = parents.find((p) => p.kind === "campaign") as CampaignDecl | undefined;
  const fields = a.project?.members.fields;
  if (node.kind === "ident" && parent?.kind === "segment" && (parent as SegmentDecl).name === node)
    return { kind: "segment", name: (node as Ident).name, span: node.span };
  if (node.kind === "ident" && parent?.kind === "campaign" && (parent as CampaignDecl).name === node)
    return { kind: "campaign", name: (node as Ident).name, span: node.span, decl: parent as CampaignDecl };
  if (node.kind === "ident" && parent?.kind === "channel") return { kind: "channel", name: (node as Ident).name, span: node.span };
  if (node.kind === "string" && parent?.kind === "content" && (parent as ContentClause).template === node)
    return { kind: "template", name: (node as ContentClause["template"]).value, span: node.span, ...(campaign ? { campaign: campaign.name.name } : {}) };
  if (node.kind === "ref") {
    const name = (node as RefExpr).name;
    if (fields?.has(name)) return { kind: "field", name, span: node.span };
    if (isSegment(a, name)) return { kind: "segment", name, span: node.span };
    return undefined;
  }
  if (node.kind === "event") {
    const e = node as EventRef;
    if (fields?.has(e.name)) return { kind: "field", name: e.name, span: nameSpan(e) };
    return { kind: "event", name: e.name, span: nameSpan(e), anniversary: e.anniversary };
  }
  const trigger = [node, ...parents].find((p) => p.kind === "trigger");
  if (trigger && campaign) return { kind: "trigger", span: trigger.span, campaign };
  return undefined;
}

/** An event reference's span covers `anniversary of birthday`; the name is its last word. */
function nameSpan(e: EventRef): Span {
  if (!e.anniversary) return e.span;
  const start = { ...e.span.end, column: e.span.end.column - e.name.length, offset: e.span.end.offset - e.name.length };
  return { file: e.span.file, start, end: e.span.end };
}

export function segmentDecl(a: Analysis, name: string): SegmentDecl | undefined {
  for (const f of a.files) for (const item of f.ast.items) if (item.kind === "segment" && item.name.name === name) return item;
  return undefined;
}

export function isSegment(a: Analysis, name: string): boolean {
  return segmentDecl(a, name) !== undefined;
}

/** Every use of a name in all files, by kind (segment and field uses are bare identifiers in expressions). */
export function usesOf(a: Analysis, kind: Target["kind"], name: string): Span[] {
  const out: Span[] = [];
  const fields = a.project?.members.fields;
  const trees: unknown[] = a.files.map((f) => f.ast.items);
  // chuda.yaml's policy.exclude is an expression too: renaming a segment must reach it.
  const exclude = a.project?.policy.exclude;
  if (exclude && (kind === "segment" || kind === "field")) {
    const parsed = parseExpression(exclude.source, exclude.span.file, exclude.span);
    if (parsed.expr) trees.push(parsed.expr);
  }
  for (const tree of trees) {
    walk(tree, (n, parents) => {
      const parent = parents[parents.length - 1];
      if (kind === "segment" && n.kind === "ref" && (n as RefExpr).name === name && !fields?.has(name) && parent?.kind !== "list") out.push(n.span);
      if (kind === "field" && n.kind === "ref" && (n as RefExpr).name === name) out.push(n.span);
      if (kind === "field" && n.kind === "event" && (n as EventRef).name === name) out.push(nameSpan(n as EventRef));
      if (kind === "event" && n.kind === "event" && (n as EventRef).name === name && !fields?.has(name)) out.push(nameSpan(n as EventRef));
      if (kind === "channel" && n.kind === "ident" && parent?.kind === "channel" && (n as Ident).name === name) out.push(n.span);
      if (
        kind === "template" &&
        n.kind === "string" &&
        parent?.kind === "content" &&
        (parent as ContentClause).template === n &&
        (n as ContentClause["template"]).value === name
      )
        out.push(n.span);
    });
  }
  return out;
}

/** Where a name is defined: a span in a `.chuda` file or chuda.yaml, or a template file (its first line). */
export function definitionOf(a: Analysis, t: Target): Span | undefined {
  const spans = a.project?.spans;
  switch (t.kind) {
    case "segment":
      return segmentDecl(a, t.name)?.name.span;
    case "campaign":
      return t.decl.name.span;
    case "field":
      return spans?.get(`members.fields.${t.name}:key`);
    case "channel":
      return spans?.get(`channels.${t.name}:key`) ?? a.project?.channels.get(t.name)?.span;
    case "event":
      return spans?.get(`calendar.${t.name}:key`) ?? a.project?.calendar.get(t.name)?.span;
    case "template": {
      const file = a.templates.get(t.name)?.file;
      return file ? { file, start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } } : undefined;
    }
    default:
      return undefined;
  }
}

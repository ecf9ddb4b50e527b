/**
 * The one namespace of all `.chuda` files: segments and campaigns together. A name defined twice (in any
 * files, as either kind) is an error at the later definition that names the first one (`related`). "Later" is
 * by the order files were introduced (src/cli/introduced.ts), then by position in the file.
 */
import type { CampaignDecl, FileNode, SegmentDecl } from "../language/ast.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { checkMessages as M } from "../diagnostics/messages/check.js";

export interface Symbols {
  /** The first segment of each name. */
  segments: Map<string, SegmentDecl>;
  /** Campaigns in file order; a campaign whose name was already taken is left out (and reported). */
  campaigns: CampaignDecl[];
}

export function collectSymbols(
  files: readonly { file: string; ast: FileNode }[],
  out: Diagnostic[],
  introduced?: readonly string[] | (() => readonly string[]),
): Symbols {
  // Which definition of a name is "first": the one in the file introduced earlier, then the one written earlier.
  const names = files.flatMap((f) => f.ast.items.map((i) => i.name.name));
  const order = typeof introduced === "function" ? (new Set(names).size < names.length ? introduced() : undefined) : introduced;
  const rank = new Map((order ?? files.map((f) => f.file)).map((f, i) => [f, i]));
  const ordered = files.map((f, i) => ({ ...f, i })).sort((a, b) => (rank.get(a.file) ?? Infinity) - (rank.get(b.file) ?? Infinity) || a.i - b.i);
  const seen = new Map<string, SegmentDecl | CampaignDecl>();
  const dropped = new Set<SegmentDecl | CampaignDecl>();
  for (const { ast } of ordered) {
    for (const item of ast.items) {
      const name = item.name.name;
      const first = seen.get(name);
      if (first) {
        const where = `${first.name.span.file}:${first.name.span.start.line}:${first.name.span.start.column}`;
        out.push(
          diag(M.duplicateName, item.name.span, [name, first.kind, where], {
            related: [{ span: first.name.span, message: `\`${name}\` is first defined here (${where}), as a ${first.kind}` }],
          }),
        );
        dropped.add(item);
        continue;
      }
      seen.set(name, item);
    }
  }
  // Campaigns stay in file order (the order every report lists them in).
  const segments = new Map<string, SegmentDecl>();
  const campaigns: CampaignDecl[] = [];
  for (const { ast } of files) {
    for (const item of ast.items) {
      if (dropped.has(item)) continue;
      if (item.kind === "segment") segments.set(item.name.name, item);
      else campaigns.push(item);
    }
  }
  return { segments, campaigns };
}

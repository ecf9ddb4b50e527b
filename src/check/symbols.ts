/**
 * The one namespace of all `.chuda` files: segments and campaigns together. A name defined twice (in any
 * files, as either kind) is an error at the later definition that names the first one (`related`).
 */
import type { CampaignDecl, FileNode, SegmentDecl } from "../language/ast.js";
import type { Diagnostic } from "./diagnostics/types.js";
import { diag } from "./diagnostics/diag.js";
import { checkMessages as M } from "./diagnostics/messages/check.js";

export interface Symbols {
  /** The first segment of each name. */
  segments: Map<string, SegmentDecl>;
  /** Campaigns in file order; a campaign whose name was already taken is left out (and reported). */
  campaigns: CampaignDecl[];
}

export function collectSymbols(files: readonly { file: string; ast: FileNode }[], out: Diagnostic[]): Symbols {
  const seen = new Map<string, SegmentDecl | CampaignDecl>();
  const segments = new Map<string, SegmentDecl>();
  const campaigns: CampaignDecl[] = [];
  for (const { ast } of files) {
    for (const item of ast.items) {
      const name = item.name.name;
      const first = seen.get(name);
      if (first) {
        const where = `${first.name.span.file}:${first.name.span.start.line}:${first.name.span.start.column}`;
        out.push(
          diag(M.duplicateName, item.name.span, [name, first.kind], {
            related: [{ span: first.name.span, message: `\`${name}\` is first defined here (${where}), as a ${first.kind}` }],
          }),
        );
        continue;
      }
      seen.set(name, item);
      if (item.kind === "segment") segments.set(name, item);
      else campaigns.push(item);
    }
  }
  return { segments, campaigns };
}

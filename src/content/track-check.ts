/** Diagnostics of a template's `{{track}}` calls (see track.ts), at the section that makes them. */
import { diag } from "../diagnostics/diag.js";
import { contentMessages as M } from "../diagnostics/messages/content.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { trackFindings } from "./track.js";
import type { Template } from "./types.js";

export function trackDiagnostics(t: Template, publicUrl: string | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const first = [...t.sections.values()][0];
  for (const f of trackFindings(t.sections, publicUrl)) {
    const key = f.where.split(".")[0] ?? "";
    const span = t.sections.get(key)?.span ?? first?.span;
    if (!span) continue;
    if (f.kind === "no_public_url") out.push(diag(M.contentTrackNoPublicUrl, span, [t.name]));
    else if (f.kind === "sms") out.push(diag(M.contentTrackInSms, span, [t.name]));
    else out.push(diag(M.contentTrackNotUrl, span, [f.where, f.found ?? ""]));
  }
  return out;
}

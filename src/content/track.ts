/**
 * Tracked links: `{{track "https://m.example.com/x"}}` renders `<serve.public_url>/r/<id>`, where `<id>` is short,
 * unguessable and tied to one send; `chuda serve` answers `GET /r/<id>` by recording the click on its send and
 * redirecting (302) to the link.
 *
 * A message is rendered before it belongs to a send (the planner renders each distinct message once), so rendering
 * writes a placeholder of the id's exact length (`~trk~00~~~~~`, its number in the message) and lists the links in
 * the content (`__links`); when a send is recorded in the ledger, `bindLinks` puts in the send's own ids. Content
 * rules (an SMS variable's length and its ban on links) therefore see the link as it will be sent.
 */
import { createHmac } from "node:crypto";

/** Key of the render-time state in the variables: no member field or `with` value can have this name. */
export const TRACK_STATE = "\u0000chuda.track";
export const LINK_ID_LENGTH = 12;
/** Base of tracked links when chuda.yaml has no `serve.public_url` (validate reports it). */
export const NO_PUBLIC_URL = "https://public-url.invalid";
/** Content key of the destinations of a message's tracked links, in placeholder order. */
export const LINKS_KEY = "__links";

const PLACEHOLDER_RE = /~trk~(\d\d)~~~~~/g;
const MAX_LINKS = 100;

export interface TrackState {
  base: string;
  links: string[];
}

/** The placeholder of link `n` of a message: exactly LINK_ID_LENGTH characters. */
export function placeholder(n: number): string {
  return `~trk~${String(n).padStart(2, "0")}~~~~~`;
}

/** The helper: a tracked URL's placeholder, with the destination remembered in the render's state. */
export function trackHelper(url: unknown, state: TrackState | undefined): string {
  const base = state?.base ?? NO_PUBLIC_URL;
  const dest = typeof url === "string" ? url.trim() : "";
  if (!state || state.links.length >= MAX_LINKS) return dest;
  state.links.push(dest);
  return `${base}/r/${placeholder(state.links.length - 1)}`;
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** The id of link `n` of a send: 12 base-62 characters of an HMAC of the send key (about 71 bits: not guessable). */
export function linkId(secret: string, sendKey: string, n: number): string {
  const mac = createHmac("sha256", secret).update(`${sendKey}\u0000${n}`).digest();
  let id = "";
  for (let i = 0; i < LINK_ID_LENGTH; i++) id += ALPHABET[mac[i]! % 62];
  return id;
}

export interface BoundLink {
  id: string;
  sendKey: string;
  link: number;
  url: string;
}

/**
 * A send's content (JSON) with its own link ids in place of the placeholders, and the links to record; the content
 * unchanged (and no links) when it tracks none.
 */
export function bindLinks(content: string | null, sendKey: string, secret: string): { content: string | null; links: BoundLink[] } {
  if (content === null || !content.includes('"__links"')) return { content, links: [] };
  const parsed = JSON.parse(content) as Record<string, unknown>;
  const urls = Array.isArray(parsed[LINKS_KEY]) ? (parsed[LINKS_KEY] as string[]) : [];
  delete parsed[LINKS_KEY];
  const links: BoundLink[] = urls.map((url, n) => ({ id: linkId(secret, sendKey, n), sendKey, link: n, url }));
  const text = JSON.stringify(parsed).replace(PLACEHOLDER_RE, (m, n: string) => links[Number(n)]?.id ?? m);
  return { content: text, links };
}

/** Whether a template section's sources call `track` (its renders then carry a TrackState). */
export function usesTrack(raw: unknown): boolean {
  return /\{\{~?\s*track\s/.test(JSON.stringify(raw ?? null));
}

/** A call of `track` in a source, with its argument as written. */
const TRACK_CALL_RE = /\{\{~?\s*track\s+("(?:[^"\\]|\\.)*"|'[^']*'|[^\s}]+)\s*~?\}\}/g;

export interface TrackFinding {
  kind: "no_public_url" | "not_url" | "sms";
  /** Section key and field path, for messages. */
  where: string;
  found?: string;
}

/** Static problems of a template's `{{track}}` calls, given the base URL (undefined: chuda.yaml has none). */
export function trackFindings(sections: Map<string, { kind: string; raw: Record<string, unknown> }>, base: string | undefined): TrackFinding[] {
  const out: TrackFinding[] = [];
  let any = false;
  for (const [key, section] of sections) {
    const walk = (v: unknown, path: string) => {
      if (typeof v === "string") {
        for (const m of v.matchAll(TRACK_CALL_RE)) {
          any = true;
          if (section.kind === "sms") out.push({ kind: "sms", where: `${key}.${path}` });
          const arg = m[1]!;
          if (/^["']/.test(arg) && !/^["']https?:\/\/[^\s"']+["']$/.test(arg)) out.push({ kind: "not_url", where: `${key}.${path}`, found: arg });
        }
      } else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    };
    walk(section.raw, "");
  }
  if (any && !base) out.unshift({ kind: "no_public_url", where: "" });
  return out;
}

/** WeCom customer mass message (`add_msg_template`, docs/channels.md, `wecom`). */
import { contentMessages as M } from "../../diagnostics/messages/content.js";
import type { WecomAttachment, WecomContent } from "../types.js";
import { bytes, finding, isHttpUrl, isRecord, type Finding } from "./common.js";
import { fixedPrefix, renderedMeasure, staticMeasure, type FieldText, type Measure } from "./text.js";

export const WECOM_TEXT_MAX_BYTES = 4000;
export const WECOM_MAX_ATTACHMENTS = 9;
export const WECOM_MSGTYPES = ["image", "link", "miniprogram", "video", "file"] as const;

/** Byte limits per attachment field (absent: no limit). */
const LIMITS: Record<string, Record<string, number>> = {
  link: { title: 128, url: 2048, desc: 512, picurl: 2048 },
  miniprogram: { title: 64 },
};
const REQUIRED: Record<string, string[]> = {
  link: ["title", "url"],
  miniprogram: ["title", "pic_media_id", "appid", "page"],
  video: ["media_id"],
  file: ["media_id"],
};

/** An attachment as written: `attachments[i]`, or a shorthand key directly under `wecom:` (`link: {…}`). */
export interface AttachmentSource {
  /** Field path of the attachment (`attachments.0`) or of the shorthand object (`link`). */
  path: string;
  msgtype: unknown;
  /** Where the msgtype is written (absent for a shorthand). */
  msgtypePath?: string;
  /** Field path of the object (`attachments.0.link`, `link`). */
  objPath: string;
  obj: unknown;
}

/** The attachments of a `wecom:` section, in order: the `attachments:` list, then shorthand objects. */
export function attachmentSources(raw: Record<string, unknown>): AttachmentSource[] {
  const out: AttachmentSource[] = [];
  if (Array.isArray(raw.attachments)) {
    raw.attachments.forEach((a, i) => {
      const item = isRecord(a) ? a : {};
      const mt = item.msgtype;
      const key = typeof mt === "string" ? mt : "";
      out.push({
        path: `attachments.${i}`,
        msgtype: mt,
        msgtypePath: `attachments.${i}.msgtype`,
        objPath: `attachments.${i}.${key}`,
        obj: key ? item[key] : undefined,
      });
    });
  }
  for (const t of WECOM_MSGTYPES) if (raw[t] !== undefined && raw[t] !== null) out.push({ path: t, msgtype: t, objPath: t, obj: raw[t] });
  return out;
}

function empty(ft: FieldText | undefined): boolean {
  return !ft || (ft.constant && ft.literal.trim() === "");
}

function check(text: unknown, atts: AttachmentSource[], ft: Measure, rendered: boolean): Finding[] {
  const out: Finding[] = [];
  const t = ft(text);
  if (t && bytes(t.literal) > WECOM_TEXT_MAX_BYTES) {
    out.push(
      finding(
        "wecom.text.bytes",
        "text",
        M.contentTooLong,
        ["text", WECOM_TEXT_MAX_BYTES, "bytes"],
        rendered ? {} : { help: `its fixed text alone is ${bytes(t.literal)} bytes` },
      ),
    );
  }
  if (atts.length > WECOM_MAX_ATTACHMENTS)
    out.push(finding("wecom.attachments.count", "attachments", M.contentTooManyAttachments, ["attachments", WECOM_MAX_ATTACHMENTS]));
  if (empty(t) && !atts.length) out.push(finding("wecom.empty", "text", M.contentWecomEmpty, []));
  for (const a of atts) {
    const mt = ft(a.msgtype);
    if (!mt || !mt.constant || !(WECOM_MSGTYPES as readonly string[]).includes(mt.literal)) {
      // A templated msgtype is checked once rendered.
      if (!mt || mt.constant) out.push(finding("wecom.attachment.msgtype", a.msgtypePath ?? a.path, M.contentBadMsgtype, [a.msgtypePath ?? a.path]));
      continue;
    }
    const type = mt.literal;
    if (!isRecord(a.obj)) {
      out.push(finding("wecom.attachment.object", a.path, M.contentMissingAttachmentObject, [a.path, type]));
      continue;
    }
    const obj = a.obj;
    for (const key of REQUIRED[type] ?? []) {
      if (empty(ft(obj[key]))) out.push(finding(`wecom.${type}.${key}.required`, `${a.objPath}.${key}`, M.contentRequired, [`${a.objPath}.${key}`]));
    }
    if (type === "image" && empty(ft(obj.media_id)) && empty(ft(obj.pic_url))) {
      out.push(
        finding("wecom.image.media.required", `${a.objPath}.media_id`, M.contentRequired, [`${a.objPath}.media_id`], {
          help: "an image needs `media_id` or `pic_url`",
        }),
      );
    }
    for (const [key, max] of Object.entries(LIMITS[type] ?? {})) {
      const v = ft(obj[key]);
      if (v && bytes(v.literal) > max)
        out.push(finding(`wecom.${type}.${key}.bytes`, `${a.objPath}.${key}`, M.contentTooLong, [`${a.objPath}.${key}`, max, "bytes"]));
    }
    if (type === "link") {
      const url = ft(obj.url);
      if (url && !empty(url) && !httpPrefixOk(fixedPrefix(url), url.constant))
        out.push(finding("wecom.link.url.scheme", `${a.objPath}.url`, M.contentNotHttpUrl, [`${a.objPath}.url`]));
    }
  }
  return out;
}

/**
 * Whether a URL's fixed beginning is compatible with http(s): a complete value must be an http(s) URL; a
 * templated one must begin with (a prefix of) `http://` or `https://`, or begin with a value.
 */
export function httpPrefixOk(prefix: string, complete: boolean): boolean {
  if (complete) return isHttpUrl(prefix);
  const p = prefix.toLowerCase();
  if (p === "") return true;
  return /^https?:\/\//.test(p) || "https://".startsWith(p) || "http://".startsWith(p);
}

/** Static rules of a `wecom:` section. */
export function checkWecomSection(raw: Record<string, unknown>): Finding[] {
  return check(raw.text, attachmentSources(raw), staticMeasure, false);
}

/** Rules of one rendered WeCom message. */
export function checkWecomContent(c: WecomContent): Finding[] {
  const atts = c.attachments.map((a: WecomAttachment, i) => ({
    path: `attachments.${i}`,
    msgtype: a.msgtype,
    msgtypePath: `attachments.${i}.msgtype`,
    objPath: `attachments.${i}.${a.msgtype}`,
    obj: (a as unknown as Record<string, unknown>)[a.msgtype],
  }));
  return check(c.text, atts, renderedMeasure, true);
}

/** A human rendering of one rendered message, for `chuda preview`. Pure: returns text, prints nothing. */
import { smsLength, smsSegments } from "./rules/sms.js";
import type { RenderedContent, WecomAttachment } from "./types.js";

export interface PreviewOptions {
  /** Price in CNY: per segment for SMS, per message otherwise (unless `per` says). */
  price?: number;
  per?: "message" | "segment";
}

function money(n: number): string {
  const r = Math.round(n * 10000) / 10000;
  return `¥${r.toFixed(Math.max(2, (String(r).split(".")[1] ?? "").length))}`;
}

function attachmentLine(a: WecomAttachment): string {
  switch (a.msgtype) {
    case "link":
      return `[link] ${a.link?.title ?? ""} → ${a.link?.url ?? ""}${a.link?.desc ? ` (${a.link.desc})` : ""}`;
    case "image":
      return `[image] ${a.image?.media_id ?? a.image?.pic_url ?? ""}`;
    case "miniprogram":
      return `[miniprogram] ${a.miniprogram?.title ?? ""} → ${a.miniprogram?.appid ?? ""}/${a.miniprogram?.page ?? ""}`;
    case "video":
      return `[video] ${a.video?.media_id ?? ""}`;
    case "file":
      return `[file] ${a.file?.media_id ?? ""}`;
    default:
      return `[${String((a as { msgtype?: unknown }).msgtype)}]`;
  }
}

function dataLines(data: Record<string, string>): string[] {
  return Object.entries(data).map(([k, v]) => `${k}: ${v}`);
}

export function previewText(content: RenderedContent, opts: PreviewOptions = {}): string {
  const lines: string[] = [];
  switch (content.kind) {
    case "sms": {
      const segments = smsSegments(content.sign, content.text);
      lines.push(`【${content.sign}】${content.text}`);
      let meta = `${smsLength(content.sign, content.text)} characters · ${segments} segment${segments === 1 ? "" : "s"} · template ${content.code}`;
      if (opts.price !== undefined) meta += ` · ${money(opts.price * ((opts.per ?? "segment") === "segment" ? segments : 1))}`;
      lines.push(meta);
      break;
    }
    case "wecom":
      if (content.text !== undefined) lines.push(content.text);
      for (const a of content.attachments) lines.push(attachmentLine(a));
      if (opts.price !== undefined) lines.push(money(opts.price));
      break;
    case "template_message":
      lines.push(
        `template ${content.template_id}${content.miniprogram ? ` → mini-program ${content.miniprogram.appid} ${content.miniprogram.pagepath}` : content.url ? ` → ${content.url}` : ""}`,
      );
      lines.push(...dataLines(content.data));
      if (opts.price !== undefined) lines.push(money(opts.price));
      break;
    case "subscribe_message":
      lines.push(
        `subscribe template ${content.template_id}${content.page ? ` → ${content.page}` : ""}${content.miniprogram_state ? ` (${content.miniprogram_state})` : ""}${content.lang ? ` [${content.lang}]` : ""}`,
      );
      lines.push(...dataLines(content.data));
      lines.push("uses one of the member's one-time subscribe consents");
      if (opts.price !== undefined) lines.push(money(opts.price));
      break;
    case "webhook":
    case "file":
      lines.push(JSON.stringify(content.body, null, 2));
      if (opts.price !== undefined) lines.push(money(opts.price));
      break;
  }
  return lines.join("\n") + "\n";
}

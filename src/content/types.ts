/**
 * Rendered content, per driver kind: what a driver receives for one recipient. The content layer
 * (src/content) renders a template section into one of these; drivers map it onto the provider's body.
 */
export interface WecomAttachment {
  msgtype: "image" | "link" | "miniprogram" | "video" | "file";
  image?: { media_id?: string; pic_url?: string };
  link?: { title: string; url: string; picurl?: string; desc?: string };
  miniprogram?: { title: string; pic_media_id: string; appid: string; page: string };
  video?: { media_id: string };
  file?: { media_id: string };
}

export interface WecomContent {
  kind: "wecom";
  text?: string;
  attachments: WecomAttachment[];
}

export interface SmsContent {
  kind: "sms";
  sign: string;
  /** Provider-approved template code (SMS_2001 for Aliyun, a numeric TemplateId for Tencent). */
  code: string;
  /** Parameter name → rendered value. Tencent's `{1}` `{2}` are passed in key order. */
  params: Record<string, string>;
  /** The full text as the member sees it, without the sign: the body with `${var}` filled in. */
  text: string;
}

export interface TemplateMessageContent {
  kind: "template_message";
  template_id: string;
  url?: string;
  miniprogram?: { appid: string; pagepath: string };
  /** key → value (the driver wraps each as `{ value }`). */
  data: Record<string, string>;
}

export interface SubscribeMessageContent {
  kind: "subscribe_message";
  template_id: string;
  page?: string;
  miniprogram_state?: "developer" | "trial" | "formal";
  lang?: "zh_CN" | "en_US" | "zh_HK" | "zh_TW";
  data: Record<string, string>;
}

export interface WebhookContent {
  kind: "webhook";
  /** Any JSON object rendered from the template's `webhook:` section. */
  body: Record<string, unknown>;
}

export interface FileContent {
  kind: "file";
  body: Record<string, unknown>;
}

export type RenderedContent = WecomContent | SmsContent | TemplateMessageContent | SubscribeMessageContent | WebhookContent | FileContent;

import type { Span } from "../diagnostics/span.js";
import type { ContentKind } from "../project/types.js";

/** One `templates/<name>.yaml`, loaded and parsed (Handlebars compiled lazily by src/content). */
export interface Template {
  name: string;
  /** Relative to the project root: `templates/birthday.yaml`. */
  file: string;
  /**
   * Sections as written in the file, by key: a driver kind (`sms:`), read by every channel of that kind, or a
   * channel name (`tencent:`), read by that channel only, in place of its kind's section.
   */
  sections: Map<string, TemplateSection>;
  /** Every Handlebars variable the template reads (top-level path names), with where; `kind` is the section key. */
  variables: { name: string; span: Span; kind: string }[];
  /** The file is not valid YAML: its errors are reported once, and no campaign's use of it is checked further. */
  failed?: boolean;
  /** Base URL of `{{track}}` links (chuda.yaml `serve.public_url`), set when the project is known. */
  trackBase?: string;
}

export interface TemplateSection {
  /** The driver kind whose shape and rules the section follows (a channel's section: its driver's kind). */
  kind: ContentKind;
  span: Span;
  /** The section's YAML value as plain data (strings are Handlebars sources). */
  raw: Record<string, unknown>;
}

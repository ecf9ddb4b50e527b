/** The content layer: templates/*.yaml loaded, checked per channel kind, rendered per member, previewed. */
export type {
  RenderedContent,
  Template,
  TemplateSection,
  WecomContent,
  WecomAttachment,
  SmsContent,
  TemplateMessageContent,
  SubscribeMessageContent,
  WebhookContent,
  FileContent,
} from "./types.js";
export { loadTemplates, parseTemplate, CONTENT_KINDS, type LoadedTemplates } from "./load.js";
export { renderContent, type RenderResult } from "./render.js";
export { checkTemplateUse, checkRendered, checkSection, type TemplateUse, type ChannelUse } from "./rules/index.js";
export type { ContentProblem } from "./rules/common.js";
export { smsSegments, smsLength, fillBody, SMS_PARAM_MAX_CHARS, SMS_MAX_CHARS, SMS_OPT_OUT } from "./rules/sms.js";
export { consumesConsent, MINIPROGRAM_STATES, SUBSCRIBE_LANGS } from "./rules/subscribe_message.js";
export { WECOM_TEXT_MAX_BYTES, WECOM_MAX_ATTACHMENTS } from "./rules/wecom.js";
export { TEMPLATE_VALUE_MAX_CHARS } from "./rules/template_message.js";
export { VALUE_TYPES, prefixOf } from "./rules/values.js";
export { previewText, type PreviewOptions } from "./preview.js";
export { hbs, dateHelper, yuanHelper, maskHelper, truncateHelper, defaultHelper, readDate, formatDate } from "./helpers.js";
export { fieldSpan } from "./spans.js";

import type { ContentKind } from "../project/types.js";
/** Content kinds whose every send consumes a one-time consent of the member (the planner counts them). */
export const CONSENT_CONSUMING_KINDS: ReadonlySet<ContentKind> = new Set<ContentKind>(["subscribe_message"]);

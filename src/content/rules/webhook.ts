/**
 * Webhook and file: the project's own formats. Any JSON; only the Handlebars syntax (checked when loading)
 * matters, so there are no channel rules.
 */
import type { FileContent, WebhookContent } from "../types.js";
import type { Finding } from "./common.js";

export function checkWebhookSection(_raw: Record<string, unknown>): Finding[] {
  return [];
}

export function checkWebhookContent(_c: WebhookContent | FileContent): Finding[] {
  return [];
}

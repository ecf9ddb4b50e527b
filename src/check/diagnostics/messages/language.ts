import type { MessageDef } from "../types.js";

/** Messages of the language stage: codes CH1xxx. Keys are stable identifiers used in code. */
export const languageMessages = {
  syntaxError: { code: "CH1001", severity: "error", message: "{0}", description: "The file does not follow the campaign grammar." },
} satisfies Record<string, MessageDef>;

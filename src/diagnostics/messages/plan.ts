import type { MessageDef } from "../types.js";

/** Messages of the plan stage: codes CH7xxx. Keys are stable identifiers used in code. */
export const planMessages = {} satisfies Record<string, MessageDef>;

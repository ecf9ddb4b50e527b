import type { MessageDef } from "../types.js";

/** Messages of the check stage: codes CH3xxx. Keys are stable identifiers used in code. */
export const checkMessages = {} satisfies Record<string, MessageDef>;

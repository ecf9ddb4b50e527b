import type { MessageDef } from "../types.js";

/** Messages of the members stage: codes CH6xxx. Keys are stable identifiers used in code. */
export const membersMessages = {} satisfies Record<string, MessageDef>;

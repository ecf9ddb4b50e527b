import type { MessageDef } from "../types.js";

/** Messages of the project stage: codes CH2xxx. Keys are stable identifiers used in code. */
export const projectMessages = {} satisfies Record<string, MessageDef>;

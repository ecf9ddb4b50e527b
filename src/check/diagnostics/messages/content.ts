import type { MessageDef } from "../types.js";

/** Messages of the content stage: codes CH5xxx. Keys are stable identifiers used in code. */
export const contentMessages = {} satisfies Record<string, MessageDef>;

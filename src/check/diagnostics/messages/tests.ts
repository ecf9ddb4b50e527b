import type { MessageDef } from "../types.js";

/** Messages of the tests stage: codes CH8xxx. Keys are stable identifiers used in code. */
export const testsMessages = {} satisfies Record<string, MessageDef>;

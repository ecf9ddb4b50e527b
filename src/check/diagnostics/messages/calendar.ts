import type { MessageDef } from "../types.js";

/** Messages of the calendar stage: codes CH4xxx. Keys are stable identifiers used in code. */
export const calendarMessages = {} satisfies Record<string, MessageDef>;

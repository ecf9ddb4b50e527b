import type { MessageDef } from "../types.js";
import { languageMessages } from "./language.js";
import { projectMessages } from "./project.js";
import { checkMessages } from "./check.js";
import { calendarMessages } from "./calendar.js";
import { contentMessages } from "./content.js";
import { membersMessages } from "./members.js";
import { planMessages } from "./plan.js";
import { testsMessages } from "./tests.js";
import { operationsMessages } from "./operations.js";
import { ledgerMessages } from "./ledger.js";

/** Every message a user can see, by stable key. A test fails on a duplicate code. */
export const MESSAGES = {
  ...languageMessages,
  ...projectMessages,
  ...checkMessages,
  ...calendarMessages,
  ...contentMessages,
  ...membersMessages,
  ...planMessages,
  ...testsMessages,
  ...operationsMessages,
  ...ledgerMessages,
};

export const MESSAGE_TABLES: Record<string, Record<string, MessageDef>> = {
  language: languageMessages,
  project: projectMessages,
  check: checkMessages,
  calendar: calendarMessages,
  content: contentMessages,
  members: membersMessages,
  plan: planMessages,
  tests: testsMessages,
  operations: operationsMessages,
  ledger: ledgerMessages,
};

import type { MessageDef } from "../types.js";

/** Messages of the members stage: codes CH6xxx. Keys are stable identifiers used in code. */
export const membersMessages = {
  membersCannotRead: {
    code: "CH6001",
    severity: "error",
    message: "cannot read the member snapshot {0}: {1}",
    help: "check the path given to --members",
    description: "The member snapshot file does not exist or cannot be read.",
  },
  membersUnsupportedFormat: {
    code: "CH6002",
    severity: "error",
    message: "the member snapshot {0} is not a format chuda reads",
    help: "use a .csv (UTF-8 or GBK), .jsonl / .ndjson (JSON Lines) or .parquet file",
    description: "The member snapshot's file extension is not .csv, .jsonl, .ndjson or .parquet.",
  },
  membersNoKeyColumn: {
    code: "CH6003",
    severity: "error",
    message: "the member snapshot has no `{0}` column, the member key declared in chuda.yaml",
    help: "{1}",
    description: "The snapshot lacks the column named by `members.key`.",
  },
  membersMissingField: {
    code: "CH6004",
    severity: "warning",
    message: "the member snapshot has no `{0}` column: every member's `{0}` is missing",
    help: "conditions on `{0}` are false for everyone; add the column or remove the field from chuda.yaml",
    description: "A field declared in chuda.yaml is absent from the snapshot, so it is missing for every member.",
  },
  membersRejectedRows: {
    code: "CH6005",
    severity: "warning",
    message: "{0} snapshot row(s) rejected: {1}",
    help: "first at line(s) {2}; rejected rows are left out of every audience",
    description: "Rows of the member snapshot that do not fit the member schema are rejected and counted by reason.",
  },
  membersUnparsable: {
    code: "CH6006",
    severity: "error",
    message: "cannot parse the member snapshot {0}: {1}",
    help: "check that the file is a well-formed {2} file",
    description: "The snapshot could not be parsed at all.",
  },
  membersEmpty: {
    code: "CH6007",
    severity: "warning",
    message: "the member snapshot {0} has no member rows",
    help: "every audience is empty",
    description: "The snapshot has a header but no usable rows.",
  },
} satisfies Record<string, MessageDef>;

import type { MessageDef } from "../types.js";

/** Messages of the tests stage (`chuda test` files, tests/*.yaml): codes CH8xxx. Keys are stable identifiers used in code. */
export const testsMessages = {
  testYamlSyntax: {
    code: "CH8001",
    severity: "error",
    message: "this test file is not valid YAML: {0}",
    description: "A test file does not parse as YAML.",
  },
  testWrongType: {
    code: "CH8002",
    severity: "error",
    message: "`{0}` must be {1}, found {2}",
    help: "see src/campaign-tests/README.md for the shape of a test file",
    description: "A key of a test file has a value of the wrong kind.",
  },
  testUnknownKey: {
    code: "CH8003",
    severity: "error",
    message: "unknown key `{0}` in {1}",
    help: "allowed here: {2}",
    description: "A test file has a key chuda does not know.",
  },
  testMissingKey: {
    code: "CH8004",
    severity: "error",
    message: "{0} needs `{1}`",
    description: "A required key of a test file is missing.",
  },
  testUnknownCampaign: {
    code: "CH8005",
    severity: "error",
    message: "no campaign named `{0}` in this repository",
    description: "A test names a campaign that does not exist.",
  },
  testUnknownField: {
    code: "CH8006",
    severity: "error",
    message: "`{0}` is not a member field of chuda.yaml",
    description: "An inline member row has a field the member schema does not declare.",
  },
  testBadValue: {
    code: "CH8007",
    severity: "error",
    message: "`{0}` is a field of type {1}; {2} is not a valid value",
    description: "An inline member row has a value that does not fit its field's type.",
  },
  testBadMoment: {
    code: "CH8008",
    severity: "error",
    message: "`{0}`: {1} is not {2}",
    help: 'write moments as "YYYY-MM-DD HH:MM" and days as YYYY-MM-DD, in the project timezone',
    description: "A test's moment, day or expected send time cannot be read.",
  },
  testMomentChoice: {
    code: "CH8009",
    severity: "error",
    message: "a test runs either at a moment (`at`) or over days (`from` and `to`), {0}",
    description: "A test has both or neither of `at` and `from`/`to`.",
  },
  testUnknownReason: {
    code: "CH8010",
    severity: "error",
    message: "unknown reason `{0}`",
    help: "one of: {1}",
    description: "An expectation names a reason for receiving nothing that chuda does not know.",
  },
  testUnknownMember: {
    code: "CH8011",
    severity: "error",
    message: "member `{0}` is not one of this test's members",
    description: "An expectation is about a member the test does not define.",
  },
  testDuplicateMember: {
    code: "CH8012",
    severity: "error",
    message: "member `{0}` appears twice in this test's members",
    description: "Two inline rows of one test have the same member key.",
  },
  testSendsOrNothing: {
    code: "CH8013",
    severity: "error",
    message: "an expectation for `{0}` gives either `sends` or `nothing`, {1}",
    description: "An expectation has both or neither of `sends` and `nothing`.",
  },
  testDuplicateName: {
    code: "CH8014",
    severity: "warning",
    message: "another test in this file is also named `{0}`",
    help: "give each test its own name so that a failure points at one",
    description: "Two tests of one file have the same name.",
  },
} satisfies Record<string, MessageDef>;

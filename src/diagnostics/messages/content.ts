import type { MessageDef } from "../types.js";

/**
 * Messages of the content stage (templates/*.yaml): codes CH5xxx. Keys are stable identifiers used in code.
 * Messages that also describe a rendered value (ContentProblem) never quote member values: the simulation
 * aggregates them per rule across members.
 */
export const contentMessages = {
  // ------------------------------------------------------------ the file (CH500x–CH501x)
  contentYamlSyntax: {
    code: "CH5001",
    severity: "error",
    message: "{0}",
    help: "a template must be valid YAML",
    description: "A template file is not valid YAML.",
  },
  contentYamlWarning: { code: "CH5002", severity: "warning", message: "{0}", description: "The YAML parser warns about a template file." },
  contentNotMapping: {
    code: "CH5003",
    severity: "error",
    message: "template `{0}` must be a mapping of sections (wecom, sms, template_message, …), found {1}",
    description: "The top level of a template file is not a mapping.",
  },
  contentUnknownSection: {
    code: "CH5004",
    severity: "error",
    message: "unknown section `{0}` in template `{1}`",
    help: "sections are: wecom, sms, template_message, subscribe_message, webhook, file, or the name of a channel of chuda.yaml",
    description: "A template has a top-level key that is not a driver content kind.",
  },
  contentUnknownKey: {
    code: "CH5005",
    severity: "error",
    message: "unknown key `{0}` in `{1}`",
    help: "allowed keys: {2}",
    description: "A template section has a key chuda does not know.",
  },
  contentWrongType: {
    code: "CH5006",
    severity: "error",
    message: "`{0}` must be {1}, found {2}",
    description: "A value in a template has the wrong type.",
  },
  contentHandlebarsSyntax: {
    code: "CH5007",
    severity: "error",
    message: "Handlebars syntax error in `{0}`: {1}",
    help: "values are written as {{name}}, helpers as {{truncate name 8}}; blocks as {{#if x}}…{{/if}}",
    description: "A text field of a template is not valid Handlebars.",
  },
  contentUnknownHelper: {
    code: "CH5008",
    severity: "error",
    message: "unknown helper `{0}`",
    help: "helpers: date, yuan, mask, truncate, default, and Handlebars' if, unless, each, with, lookup",
    description: "A template calls a Handlebars helper chuda does not provide.",
  },
  contentPartial: {
    code: "CH5009",
    severity: "error",
    message: "partials (`{{> {0}}}`) are not supported in templates",
    help: "write the text out, or use {{#if}} blocks",
    description: "A template uses a Handlebars partial.",
  },
  contentNoSections: {
    code: "CH5010",
    severity: "warning",
    message: "template `{0}` has no sections",
    help: "add a section per channel kind, e.g. `wecom:` with `text:`",
    description: "A template file is empty.",
  },
  contentReadError: {
    code: "CH5011",
    severity: "error",
    message: "cannot read {0}: {1}",
    description: "A template file cannot be read.",
  },
  contentDuplicateTemplate: {
    code: "CH5012",
    severity: "error",
    message: "template `{0}` is defined twice: {1} and {2}",
    help: "keep one of the two files",
    description: "Two template files (.yaml and .yml) have the same name.",
  },
  contentHelperArity: {
    code: "CH5013",
    severity: "error",
    message: "helper `{0}` takes {1}, found {2}",
    help: "{3}",
    description: "A Handlebars helper is called with the wrong number of arguments.",
  },

  // ------------------------------------------------------------ the use by a campaign (CH502x)
  contentMissingSection: {
    code: "CH5020",
    severity: "error",
    message: "template `{0}` has no `{1}` section, but {2} is listed",
    help: "add a `{1}:` section to {3}, or remove the channel from the campaign",
    description: "A campaign lists a channel whose driver reads a template section the template does not have.",
  },
  contentUnknownVariable: {
    code: "CH5021",
    severity: "error",
    message: "template `{0}` reads `{1}`, which is neither a member field nor a `with` value of the campaign",
    help: "add it to the campaign's `with { … }` or to members.fields in chuda.yaml",
    description: "A template reads a variable the campaign does not provide.",
  },

  // ------------------------------------------------------------ values, all kinds (CH503x)
  contentRequired: {
    code: "CH5030",
    severity: "error",
    message: "`{0}` is required",
    description: "A required field of a template section is missing or empty.",
  },
  contentTooLong: {
    code: "CH5031",
    severity: "error",
    message: "`{0}` is longer than {1} {2}",
    description: "A text field is longer than the provider allows.",
  },
  contentNotHttpUrl: {
    code: "CH5032",
    severity: "error",
    message: "`{0}` must be an http:// or https:// URL",
    description: "A link field does not start with http:// or https://.",
  },
  contentTooManyAttachments: {
    code: "CH5033",
    severity: "error",
    message: "a WeCom message has at most {1} attachments, `{0}` has more",
    description: "A WeCom message has more than 9 attachments.",
  },
  contentBadMsgtype: {
    code: "CH5034",
    severity: "error",
    message: "`{0}` must be one of image, link, miniprogram, video, file",
    description: "A WeCom attachment has an unknown msgtype.",
  },
  contentMissingAttachmentObject: {
    code: "CH5035",
    severity: "error",
    message: "`{0}` has msgtype `{1}` but no `{1}` object",
    description: "A WeCom attachment lacks the object named by its msgtype.",
  },
  contentWecomEmpty: {
    code: "CH5036",
    severity: "error",
    message: "the WeCom message has neither text nor attachments",
    help: "add `text:` or a `link:`",
    description: "A WeCom message would be empty.",
  },
  contentBadEnum: {
    code: "CH5037",
    severity: "error",
    message: "`{0}` must be one of {1}",
    description: "A field has a value outside its fixed set.",
  },
  contentEmptyValue: {
    code: "CH5038",
    severity: "error",
    message: "`{0}` is empty",
    help: 'the provider rejects empty values; use {{default x "…"}} for members without the field',
    description: "A value renders to an empty string.",
  },
  contentLineBreak: {
    code: "CH5039",
    severity: "error",
    message: "`{0}` contains a line break or control character",
    help: "WeChat message fields are single-line",
    description: "A WeChat message field contains a line break.",
  },

  // ------------------------------------------------------------ SMS (CH504x–CH505x)
  contentSmsSignLength: {
    code: "CH5040",
    severity: "error",
    message: "the SMS sign must have 2–12 characters",
    description: "The SMS sign is shorter than 2 or longer than 12 characters.",
  },
  contentSmsBrackets: {
    code: "CH5041",
    severity: "error",
    message: "`{0}` contains 【 or 】",
    help: "the platform adds 【sign】 itself; never put 【】 inside a template",
    description: "An SMS sign, body or value contains the sign brackets 【】.",
  },
  contentSmsVarNotInParams: {
    code: "CH5042",
    severity: "error",
    message: "the body uses `${{0}}` but `params` has no `{0}`",
    description: "An SMS body variable has no parameter.",
  },
  contentSmsParamNotInBody: {
    code: "CH5043",
    severity: "error",
    message: "param `{0}` is not used in the body",
    help: "the params must be exactly the body's ${…} variables; remove it or add `${{0}}` to the body",
    description: "An SMS parameter is not a variable of the body.",
  },
  contentSmsVarTwice: {
    code: "CH5044",
    severity: "error",
    message: "`${{0}}` appears {1} times in the body; a variable may appear once",
    description: "An SMS body uses a variable more than once.",
  },
  contentSmsAdjacentVars: {
    code: "CH5045",
    severity: "error",
    message: "variables `${{0}}` and `${{1}}` are adjacent",
    help: "SMS providers reject templates with adjacent variables; put text between them or merge them",
    description: "Two SMS body variables have no text between them.",
  },
  contentSmsAllVariables: {
    code: "CH5046",
    severity: "error",
    message: "the SMS body is only variables",
    help: "SMS providers reject all-variable templates",
    description: "An SMS body has no fixed text.",
  },
  contentSmsOptOutMissing: {
    code: "CH5047",
    severity: "error",
    message: "a marketing SMS body must end with `拒收请回复R`",
    help: "add 拒收请回复R at the end, or set `marketing: false` for a notification (通知) template",
    description: "A marketing SMS template does not end with the opt-out text.",
  },
  contentSmsOptOutInNotice: {
    code: "CH5048",
    severity: "error",
    message: "a notification SMS (`marketing: false`) must not carry `拒收请回复R`",
    help: "notification templates must not carry the opt-out or any marketing; remove it or drop `marketing: false`",
    description: "A notification SMS template carries the marketing opt-out text.",
  },
  contentSmsUrlInParam: {
    code: "CH5049",
    severity: "error",
    message: "`{0}` contains a link",
    help: "providers reject links in variables; put the link in the approved body",
    description: "An SMS variable contains a URL.",
  },
  contentSmsBodyHandlebars: {
    code: "CH5050",
    severity: "error",
    message: "the SMS body is the provider-approved text with ${…} variables; it cannot contain {{…}}",
    help: 'write `${name}` in the body and `name: "{{…}}"` under params',
    description: "An SMS body contains Handlebars.",
  },

  // ------------------------------------------------------------ WeChat (CH506x)
  contentObsoleteKey: {
    code: "CH5060",
    severity: "warning",
    message: "`{0}` is obsolete: since 2023-05-04 WeChat shows no first line or remark",
    help: "remove it",
    description: "A template message uses the removed `first` or `remark` keys.",
  },
  contentDataEmpty: {
    code: "CH5061",
    severity: "error",
    message: "`data` must have at least one key",
    description: "A WeChat message has no data.",
  },
  contentValueRule: {
    code: "CH5062",
    severity: "error",
    message: "`{0}` is not a valid `{1}` value: {2}",
    description: "A typed WeChat data value breaks the rule of its key prefix.",
  },
  contentUnknownPrefix: {
    code: "CH5063",
    severity: "warning",
    message: "data key `{0}` has no known type prefix, so its value is not checked",
    help: "keys are `<type><n>`: thing, number, letter, symbol, character_string, time, date, amount, phone_number, car_number, name, phrase, enum",
    description: "A subscribe-message data key has an unknown type prefix.",
  },
  contentHelperAsVariable: {
    code: "CH5080",
    severity: "error",
    message: "`{{{0}}}` calls the helper `{0}` without its argument: a variable cannot be named `{0}`",
    help: "to print a value of your own, give it another name, e.g. `with { {0}_text: … }` and `{{{0}_text}}`",
    description: "A template reads a variable named like a helper (`{{date}}`); Handlebars calls the helper instead.",
  },
  contentSmsAliyunCode: {
    code: "CH5081",
    severity: "error",
    message: "{0} sends through Aliyun, which needs a template code such as `SMS_123456789` in `code`, found `{1}`",
    help: "give this channel its own section (a top-level key named after the channel) with its provider's template",
    description: "An SMS section read by an aliyun-sms channel has a code that is not an Aliyun template code.",
  },
  contentSmsAliyunParams: {
    code: "CH5082",
    severity: "error",
    message: "{0} sends through Aliyun, whose template variables are named (`${name}`), but `params.{1}` is a position",
    help: "name each param after the Aliyun template's variable",
    description: "An SMS section read by an aliyun-sms channel has positional params.",
  },
  contentSmsTencentCode: {
    code: "CH5083",
    severity: "error",
    message: "{0} sends through Tencent, which needs a numeric TemplateId (such as `1000001`) in `code`, found `{1}`",
    help: "give this channel its own section (a top-level key named after the channel) with its provider's template",
    description: "An SMS section read by a tencent-sms channel has a code that is not a Tencent TemplateId.",
  },
  contentSmsTencentParams: {
    code: "CH5084",
    severity: "error",
    message: "{0} sends through Tencent, whose template variables are numbered in order, but the params are named {1}",
    help: "name the params 1, 2 … in the order of the Tencent template's variables, and use those numbers in the body",
    description: "An SMS section read by a tencent-sms channel has named params.",
  },
  contentControlCharacter: {
    code: "CH5090",
    severity: "error",
    message: "`{0}` contains the control character {1}",
    help: "control characters (ESC, NUL, …) are never sent; clean the member data or the template",
    description: "A rendered message contains a control character (from member data or the template), which no channel sends.",
  },
} satisfies Record<string, MessageDef>;

import type { Command } from "commander";
import type { Io } from "../io.js";
import { registerValidate } from "./validate.js";
import { registerFmt } from "./fmt.js";
import { registerInit } from "./init.js";
import { registerCalendar } from "./calendar.js";
import { registerSimulate } from "./simulate.js";
import { registerPreview } from "./preview.js";
import { registerDispatch } from "./dispatch.js";
import { registerStatus } from "./status.js";
import { registerSampleMembers } from "./sample-members.js";
import { registerReport } from "./report.js";
import { registerTest } from "./test.js";
import { registerLsp } from "./lsp.js";
import { registerServe } from "./serve.js";
import { registerSuppress } from "./suppress.js";
import { registerReceipts } from "./receipts.js";

/** One file per command: flags → one stage call → a view. */
export function registerCommands(program: Command, io: Io, done: (code: number) => void): void {
  registerInit(program, io, done);
  registerValidate(program, io, done);
  registerFmt(program, io, done);
  registerCalendar(program, io, done);
  registerSimulate(program, io, done);
  registerPreview(program, io, done);
  registerDispatch(program, io, done);
  registerStatus(program, io, done);
  registerReport(program, io, done);
  registerTest(program, io, done);
  registerSampleMembers(program, io, done);
  registerLsp(program, io, done);
  registerServe(program, io, done);
  registerSuppress(program, io, done);
  registerReceipts(program, io, done);
}

import { describe, expect, it } from "vitest";
import { ChudaProgram } from "./program.js";

describe("ChudaProgram", () => {
  it("keeps the exit code the command's action returns", async () => {
    const program = new ChudaProgram().exitOverride();
    program.command("check").run(async () => 1);
    program.command("fine").run(async () => 0);
    await program.parseAsync(["check"], { from: "user" });
    expect(program.exitCode).toBe(1);
    await program.parseAsync(["fine"], { from: "user" });
    expect(program.exitCode).toBe(0);
  });

  it("refuses, at type-check time, an action with a path that returns no exit code", () => {
    const program = new ChudaProgram();
    // @ts-expect-error a path ends without an exit code
    program.command("forgetful").run(async (flag?: string) => {
      if (flag) return 1;
    });
    expect(program.commands.map((c) => c.name())).toEqual(["forgetful"]);
  });
});

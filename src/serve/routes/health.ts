import type { FastifyInstance } from "fastify";
import type { ServeContext } from "../context.js";

/** `GET /healthz`: the process answers and its ledger can be read. */
export async function healthRoutes(app: FastifyInstance, ctx: ServeContext): Promise<void> {
  app.get("/healthz", async (_req, reply) => {
    try {
      await ctx.ledger.ping();
      return { ok: true };
    } catch {
      return reply.code(503).send({ ok: false, error: "the ledger cannot be read" });
    }
  });
}

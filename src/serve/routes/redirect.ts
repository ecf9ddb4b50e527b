/**
 * `GET /r/<id>`: a member opened a tracked link (`{{track "…"}}`). The click is committed to the ledger on the send
 * the link belongs to, then the member is sent on with a 302. An unknown id is a 404 and writes nothing.
 */
import type { FastifyInstance } from "fastify";
import type { Ledger } from "../../dispatch/ledger.js";
import { LINK_ID_LENGTH } from "../../content/track.js";

export interface RedirectRoutesContext {
  ledger: Ledger;
  /** Epoch ms now. */
  clock: () => number;
}

const ID_RE = new RegExp(`^[0-9A-Za-z]{${LINK_ID_LENGTH}}$`);

export async function redirectRoutes(app: FastifyInstance, ctx: RedirectRoutesContext): Promise<void> {
  app.get<{ Params: { id: string } }>("/r/:id", async (req, reply) => {
    const id = req.params.id;
    const link = ID_RE.test(id) ? await ctx.ledger.link(id) : undefined;
    if (!link) return reply.code(404).type("text/plain; charset=utf-8").send("This link is unknown or has expired.\n");
    await ctx.ledger.recordClick(link.send_key, link.link, ctx.clock());
    return reply.code(302).header("cache-control", "no-store").redirect(link.url);
  });
}

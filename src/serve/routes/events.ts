/**
 * `POST /events`: business events (purchase, registration, tier change, OA follow) from the mall's systems.
 * Authorised by a bearer token, the value of the environment variable chuda.yaml names in
 * `serve.events_token_env`. The body (a JSON array or JSON Lines, see src/events/ingest.ts) is validated whole
 * against chuda.yaml `events:`; the events are committed to the ledger before the 200, so a client that got no
 * answer (the server killed) simply sends again: an event already stored is a duplicate and ignored.
 */
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Ledger } from "../../dispatch/ledger.js";
import { parseEvents } from "../../events/ingest.js";
import type { Project } from "../../project/types.js";

/** What these routes need of the server's context. */
export interface EventRoutesContext {
  project: Project;
  ledger: Ledger;
  /** Epoch ms now. */
  clock: () => number;
  /** The environment (the token is read per request, so a rotated token needs no restart). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Called after events are committed: the event loop plans them without waiting for its next tick. */
  onEvents?: (inserted: number) => void;
}

/** Body limit of one request: a batch of a few thousand events. */
export const EVENTS_BODY_LIMIT = 8 * 1024 * 1024;

function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function eventRoutes(app: FastifyInstance, ctx: EventRoutesContext): Promise<void> {
  // An encapsulated context of its own: the body is read as text whatever its content type (JSON or JSON Lines),
  // without changing how the server's other routes parse theirs.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "string", bodyLimit: EVENTS_BODY_LIMIT }, (_req, body, done) => done(null, body));

    scope.post("/events", { bodyLimit: EVENTS_BODY_LIMIT }, async (req, reply) => {
      const envName = ctx.project.serve?.eventsTokenEnv;
      const expected = envName ? (ctx.env ?? process.env)[envName] : undefined;
      if (!envName || !expected) {
        return reply.code(503).send({
          error: envName ? `events are off: the environment variable ${envName} is not set` : "events are off: chuda.yaml has no serve.events_token_env",
        });
      }
      const auth = req.headers.authorization ?? "";
      const m = /^Bearer\s+(.+)$/i.exec(auth);
      if (!m || !tokenMatches(m[1]!.trim(), expected))
        return reply.code(401).header("www-authenticate", "Bearer").send({ error: "a valid bearer token is required" });
      if (!ctx.project.events?.size) return reply.code(422).send({ error: "chuda.yaml declares no events: add `events:` with their properties" });
      const text = typeof req.body === "string" ? req.body : "";
      const parsed = parseEvents(text, ctx.project.events);
      if (!parsed.ok) return reply.code(400).send({ error: "nothing was stored", problems: parsed.problems });
      const r = await ctx.ledger.insertEvents(parsed.events, ctx.clock());
      if (r.inserted) ctx.onEvents?.(r.inserted);
      return reply.code(200).send({ accepted: parsed.events.length, stored: r.inserted, duplicates: r.duplicates });
    });
  });
}

/**
 * `chuda serve`: one Fastify process for everything providers and business systems push to chuda. Routes live in
 * src/serve/routes, one Fastify plugin per concern, all registered from ROUTES below. Request bodies are limited,
 * logs are structured (pino) with callback tokens and phone numbers masked, and every accepted request is committed
 * to the ledger before it is answered (src/serve/commit.ts).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from "fastify";
import type { ServeContext } from "./context.js";
import { healthRoutes } from "./routes/health.js";
import { callbackRoutes } from "./routes/callbacks.js";
import { eventRoutes } from "./routes/events.js";
import { redirectRoutes } from "./routes/redirect.js";

/** A route module: a Fastify plugin given the server's context. */
export type RouteModule = (app: FastifyInstance, ctx: ServeContext) => Promise<void>;

/** Every route module of the server, in one place. */
export const ROUTES: RouteModule[] = [healthRoutes, callbackRoutes, eventRoutes, redirectRoutes];

/** The largest request body accepted (a batch of 100 Tencent reports or 1,000 Aliyun ones is far below). */
export const BODY_LIMIT = 1024 * 1024;

/** A URL as it may be logged: the callback token in the path and signatures in the query replaced. */
export function maskUrl(url: string): string {
  return url.replace(/^(\/callbacks\/[^/?]+\/)[^/?]+/, "$1***").replace(/([?&](?:echostr|signature|msg_signature)=)[^&]*/g, "$1***");
}

export async function buildServer(ctx: ServeContext, routes: RouteModule[] = ROUTES): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    disableRequestLogging: true,
    trustProxy: false,
    return503OnClosing: true,
  });
  app.addContentTypeParser(["text/xml", "application/xml", "text/plain"], { parseAs: "string" }, (_req, body, done) => done(null, body));
  app.addHook("onResponse", async (req: FastifyRequest, reply) => {
    req.log.info({ method: req.method, url: maskUrl(req.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, "request");
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err: { message: err.message, code: err.code } }, "request failed");
    const message =
      err.code === "FST_ERR_CTP_BODY_TOO_LARGE"
        ? `the request body is larger than ${BODY_LIMIT} bytes`
        : err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
          ? "unsupported content type"
          : status >= 500
            ? "internal error; the request was not recorded, send it again"
            : err.message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'$/, "the body is not valid JSON");
    void reply.code(status).send({ error: message });
  });
  app.setNotFoundHandler((req, reply) => void reply.code(404).send({ error: `no such endpoint: ${req.method} ${maskUrl(req.url).split("?")[0]}` }));
  for (const r of routes) await app.register(async (scope) => r(scope, ctx));
  return app;
}

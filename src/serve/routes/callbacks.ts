/**
 * `GET|POST /callbacks/<channel>/<token>`: what each provider pushes about a channel's sends (delivery receipts,
 * replies, unsubscribes), in the provider's own format and answer (src/serve/providers). The token is the value
 * of the environment variable the channel names as `env: { callback_token: NAME }`; a wrong token, an unknown
 * channel or a source outside `serve.allow_from` is refused before anything is read or written.
 */
import { BlockList, isIP } from "node:net";
import type { FastifyInstance } from "fastify";
import { timingSafeEqual } from "node:crypto";
import { channelSecret, type ServeContext } from "../context.js";
import type { CallbackHandler } from "../providers/common.js";
import { aliyunCallback, tencentCallback } from "../providers/sms.js";
import { wechatCallback, wecomCallback } from "../providers/wechat.js";

/** The providers that push, by driver. */
export const CALLBACK_HANDLERS: Record<string, CallbackHandler> = {
  "aliyun-sms": aliyunCallback,
  "tencent-sms": tencentCallback,
  "wechat-template": wechatCallback,
  "wechat-subscribe": wechatCallback,
  wecom: wecomCallback,
};

function allowList(addresses: string[]): BlockList | undefined {
  if (!addresses.length) return undefined;
  const list = new BlockList();
  for (const a of addresses) {
    const [ip, bits] = a.split("/");
    const type = isIP(ip!) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(ip!, type);
    else list.addSubnet(ip!, Number(bits), type);
  }
  return list;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function callbackRoutes(app: FastifyInstance, ctx: ServeContext): Promise<void> {
  const allowed = allowList(ctx.project.serve?.allowFrom ?? []);
  app.route<{ Params: { channel: string; token: string } }>({
    method: ["GET", "POST"],
    url: "/callbacks/:channel/:token",
    handler: async (req, reply) => {
      const { channel, token } = req.params;
      const ch = ctx.project.channels.get(channel);
      if (!ch) return reply.code(404).send({ error: `no channel \`${channel.slice(0, 64)}\` in chuda.yaml` });
      const handler = CALLBACK_HANDLERS[ch.driver];
      if (!handler) return reply.code(404).send({ error: `channel ${channel} (driver ${ch.driver}) receives no callbacks` });
      const expected = channelSecret(ctx, channel, "callback_token");
      if (!expected)
        return reply.code(404).send({ error: `channel ${channel} takes no callbacks: it names no \`env: { callback_token: … }\`, or that variable is unset` });
      if (!sameToken(token, expected)) {
        req.log.warn({ channel }, "callback with a wrong token refused");
        return reply.code(403).send({ error: "wrong callback token" });
      }
      if (allowed) {
        const ip = req.ip.replace(/^::ffff:/, "");
        if (!allowed.check(ip, isIP(ip) === 6 ? "ipv6" : "ipv4")) {
          req.log.warn({ channel, ip }, "callback from outside serve.allow_from refused");
          return reply.code(403).send({ error: "this address may not push callbacks (serve.allow_from)" });
        }
      }
      return handler(req, reply, ch, ctx);
    },
  });
}

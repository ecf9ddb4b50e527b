import { describe, expect, it } from "vitest";
import { sha1Signature, wxDecrypt, wxEncrypt, WxCryptoError } from "./wx-crypto.js";

describe("WeChat / WeCom message encryption", () => {
  it("decrypts the official account's documented example and checks its msg_signature", () => {
    // The sample of WeChat's message encryption guide (token spamtest, appid wx2c2769f8efd9abc2).
    const enc =
      "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
    expect(sha1Signature("spamtest", "1409735669", "1320562132", enc)).toBe("5d197aaffba7e9b25a30732f161a50dee96bd5fa");
    const { message, receiverId } = wxDecrypt("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", enc);
    expect(receiverId).toBe("wx2c2769f8efd9abc2");
    expect(message).toContain("<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>");
    expect(message).toContain("<Content><![CDATA[abcdteT]]></Content>");
  });

  it("decrypts WeCom's documented URL-verification example", () => {
    const echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
    expect(sha1Signature("QDG6eK", "1409659589", "263014780", echostr)).toBe("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3");
    expect(wxDecrypt("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", echostr)).toEqual({ message: "1616140317555161061", receiverId: "wx5823bf96d3bd56c7" });
  });

  it("round-trips, padding to 32-byte blocks (a message whose length fills a block exactly included)", () => {
    const key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    for (const len of [0, 1, 11, 12, 13, 44, 100]) {
      const msg = "文".repeat(len);
      const enc = wxEncrypt(key, msg, "wx_app");
      expect(Buffer.from(enc, "base64").length % 32).toBe(0);
      expect(wxDecrypt(key, enc)).toEqual({ message: msg, receiverId: "wx_app" });
    }
  });

  it("refuses a bad key, garbage and a wrong key", () => {
    expect(() => wxDecrypt("short", "AAAA")).toThrow(WxCryptoError);
    expect(() => wxDecrypt("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "bm90IGEgY2lwaGVydGV4dA==")).toThrow(WxCryptoError);
    const enc = wxEncrypt("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "hello", "wx");
    expect(() => wxDecrypt("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", enc)).toThrow(WxCryptoError);
  });
});

import { describe, expect, it } from "vitest";
import {
  aliyunCanonicalQuery,
  aliyunSignature,
  aliyunStringToSign,
  parseTc3Authorization,
  percentEncode,
  tc3Keys,
  tc3Sign,
  webhookSignature,
} from "./signing.js";

describe("percentEncode (§7.2)", () => {
  it("follows RFC 3986 with upper-case hex", () => {
    expect(percentEncode("a b*c~d+e/f=!'()")).toBe("a%20b%2Ac~d%2Be%2Ff%3D%21%27%28%29");
    expect(percentEncode("示")).toBe("%E7%A4%BA");
    expect(percentEncode("-_.~AZaz09")).toBe("-_.~AZaz09");
  });
});

describe("Aliyun RPC signature (§7.3)", () => {
  it("reproduces the provider's SendSms vector", () => {
    const params = {
      AccessKeyId: "testId",
      Action: "SendSms",
      Format: "XML",
      OutId: "123",
      PhoneNumbers: "15300000001",
      RegionId: "cn-hangzhou",
      SignName: "阿里云短信测试专用",
      SignatureMethod: "HMAC-SHA1",
      SignatureNonce: "45e25e9b-0a6f-4070-8c85-2956eda1b466",
      SignatureVersion: "1.0",
      TemplateCode: "SMS_71390007",
      TemplateParam: '{"customer":"test"}',
      Timestamp: "2017-07-12T02:42:19Z",
      Version: "2017-05-25",
    };
    expect(aliyunSignature("GET", params, "testSecret")).toBe("zJDF+Lrzhj/ThnlvIToysFRq6t4=");
  });

  it("reproduces the provider's DescribeRegions vector", () => {
    const params = {
      AccessKeyId: "testid",
      Action: "DescribeRegions",
      Format: "XML",
      SignatureMethod: "HMAC-SHA1",
      SignatureNonce: "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
      SignatureVersion: "1.0",
      Timestamp: "2016-02-23T12:46:24Z",
      Version: "2014-05-26",
    };
    expect(aliyunSignature("GET", params, "testsecret")).toBe("OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
  });

  const project: Record<string, string> = {
    AccessKeyId: "testid",
    Action: "SendSms",
    Format: "JSON",
    Version: "2017-05-25",
    PhoneNumbers: "13800138000",
    RegionId: "cn-hangzhou",
    SignName: "示例商场",
    SignatureMethod: "HMAC-SHA1",
    SignatureVersion: "1.0",
    SignatureNonce: "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    TemplateCode: "SMS_2001",
    TemplateParam: '{"name":"王伟","coupon":"BDAY50"}',
    Timestamp: "2026-11-23T02:00:00Z",
  };

  it("pins the project vector byte for byte", () => {
    expect(aliyunCanonicalQuery(project)).toBe(
      "AccessKeyId=testid&Action=SendSms&Format=JSON&PhoneNumbers=13800138000&RegionId=cn-hangzhou&SignName=%E7%A4%BA%E4%BE%8B%E5%95%86%E5%9C%BA&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0&TemplateCode=SMS_2001&TemplateParam=%7B%22name%22%3A%22%E7%8E%8B%E4%BC%9F%22%2C%22coupon%22%3A%22BDAY50%22%7D&Timestamp=2026-11-23T02%3A00%3A00Z&Version=2017-05-25",
    );
    expect(aliyunStringToSign("GET", project)).toBe(
      "GET&%2F&AccessKeyId%3Dtestid%26Action%3DSendSms%26Format%3DJSON%26PhoneNumbers%3D13800138000%26RegionId%3Dcn-hangzhou%26SignName%3D%25E7%25A4%25BA%25E4%25BE%258B%25E5%2595%2586%25E5%259C%25BA%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_2001%26TemplateParam%3D%257B%2522name%2522%253A%2522%25E7%258E%258B%25E4%25BC%259F%2522%252C%2522coupon%2522%253A%2522BDAY50%2522%257D%26Timestamp%3D2026-11-23T02%253A00%253A00Z%26Version%3D2017-05-25",
    );
    expect(aliyunSignature("GET", project, "testsecret")).toBe("sdps0/tSW9jgNee48yMeZ2Ccpf0=");
    expect(aliyunSignature("POST", project, "testsecret")).toBe("VZV1DbI0y1pVs700LqJCiVyVPV0=");
    expect(aliyunSignature("GET", { ...project, OutId: "k-7f3a9c" }, "testsecret")).toBe("5+U5WadHOdvybkIVBzo5QYnkGYo=");
  });

  it("ignores a Signature parameter already present", () => {
    expect(aliyunSignature("GET", { ...project, Signature: "whatever" }, "testsecret")).toBe("sdps0/tSW9jgNee48yMeZ2Ccpf0=");
  });
});

describe("Tencent TC3-HMAC-SHA256 (§8.3)", () => {
  it("reproduces the provider's CVM vector", () => {
    const r = tc3Sign({
      secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
      secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
      service: "cvm",
      timestamp: 1551113065,
      headers: { "content-type": "application/json; charset=utf-8", host: "cvm.tencentcloudapi.com" },
      signedHeaders: ["content-type", "host"],
      body: '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
    });
    expect(r.hashedPayload).toBe("35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
    expect(r.signature).toBe("72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
  });

  const body =
    '{"PhoneNumberSet":["+8613800138000"],"SmsSdkAppId":"1400000000","SignName":"示例商场","TemplateId":"1000001","TemplateParamSet":["王伟","BDAY50"]}';
  const base = {
    secretId: "AKIDtest",
    secretKey: "testsecretkey",
    service: "sms",
    headers: { "content-type": "application/json; charset=utf-8", host: "sms.tencentcloudapi.com", "x-tc-action": "SendSms" },
    signedHeaders: ["content-type", "host", "x-tc-action"],
    body,
  };

  it("pins the project vector and every intermediate value", () => {
    const r = tc3Sign({ ...base, timestamp: 1795399200 });
    expect(r.hashedPayload).toBe("6d5d688b16b8340ea3d4210fcee5edbe9f5f09095af6f3211f0c3ef7bfcfb876");
    expect(r.canonicalRequest).toBe(
      "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:sms.tencentcloudapi.com\nx-tc-action:sendsms\n\ncontent-type;host;x-tc-action\n6d5d688b16b8340ea3d4210fcee5edbe9f5f09095af6f3211f0c3ef7bfcfb876",
    );
    expect(r.stringToSign).toBe("TC3-HMAC-SHA256\n1795399200\n2026-11-23/sms/tc3_request\nb14c326b6e4a5b919935b570799bb4a412477acef76dfbc5d6f4bcef7ef28962");
    expect(tc3Keys("testsecretkey", "2026-11-23", "sms")).toEqual({
      kDate: "97269150e8e80d8025c36aa6be280c4bdb67cbd3427cbcdfdafede08f1e3571f",
      kService: "c0ca84a309771417d4aae23c347fb387e826a9e8554e72c783659e83e310e697",
      kSigning: "1a18fce1a60331242f358c7275c56a2790cdbc8399e0d8dc7a8df0ed0eaa2ed7",
    });
    expect(r.signature).toBe("e2b32cbaffac315435c3e8dc927c7f19cfacdf4280dc1c7ca9f586db8486619e");
    expect(r.authorization).toBe(
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-23/sms/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=e2b32cbaffac315435c3e8dc927c7f19cfacdf4280dc1c7ca9f586db8486619e",
    );
    expect(parseTc3Authorization(r.authorization)).toEqual({
      secretId: "AKIDtest",
      date: "2026-11-23",
      service: "sms",
      signedHeaders: ["content-type", "host", "x-tc-action"],
      signature: r.signature,
    });
  });

  it("uses the UTC date, not the Beijing date (the date trap)", () => {
    const right = tc3Sign({ ...base, timestamp: 1795455000 });
    expect(right.credentialScope).toBe("2026-11-23/sms/tc3_request");
    expect(right.signature).toBe("f95c2d67251e522b163969bf9cf4161f0e1a8918a1dd9e7ae28f498ce08d6b4f");
    const wrong = tc3Sign({ ...base, timestamp: 1795455000, date: "2026-11-24" });
    expect(wrong.signature).toBe("923197a2da7c8e767ae151bce41f46be3ff53386f6c40293e4ac2ab6f97d2f1f");
  });
});

describe("webhook signature (§10)", () => {
  it("matches both documented vectors", () => {
    expect(webhookSignature("whsecret", 1795399200, '{"a":1}')).toBe("sha256=cb3d6a048d15f1505257de99089f8d26c6017645c5507c9652a6b77af48e3c3c");
    const body =
      '{"key":"k-7f3a9c","campaign":"birthday","occurrence":"2026-11-24T10:00:00+08:00","member":"M000123","channel":"webhook","content":{"text":"王伟您好，生日礼券BDAY50已到账"}}';
    expect(Buffer.byteLength(body)).toBe(184);
    expect(webhookSignature("whsecret", "1795399200", body)).toBe("sha256=22c0c98d2e5585c3cca1fa6d0a048b32c02903d785065d898e67a3f0dcb3a8ce");
  });
});

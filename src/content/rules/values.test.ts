import { describe, expect, it } from "vitest";
import { checkTypedField, checkTypedValue, prefixOf } from "./values.js";
import { fieldText } from "./text.js";

const rule = (key: string, value: string) => checkTypedValue(prefixOf(key)!, value, `data.${key}`, "subscribe").map((f) => f.rule)[0] ?? "ok";

describe("prefixOf", () => {
  it("splits `<type><n>` keys", () => {
    expect(prefixOf("thing1")).toBe("thing");
    expect(prefixOf("character_string12")).toBe("character_string");
    expect(prefixOf("phone_number3")).toBe("phone_number");
    expect(prefixOf("keyword1")).toBeUndefined();
    expect(prefixOf("thing")).toBeUndefined();
  });
});

describe("§6.2 value rules by key prefix", () => {
  const cases: [string, string, string][] = [
    ["thing1", "王伟的生日礼券", "ok"],
    ["thing1", "一".repeat(20), "ok"],
    ["thing1", "一".repeat(21), "subscribe.thing.length"],
    ["thing1", "", "subscribe.thing.empty"],
    ["thing1", "两行\n文字", "subscribe.thing.linebreak"],
    ["number1", "1280", "ok"],
    ["number1", "49.5", "ok"],
    ["number1", "1".repeat(33), "subscribe.number.length"],
    ["number1", "300分", "subscribe.number.chars"],
    ["number1", "1.2.3", "subscribe.number.format"],
    ["letter1", "VIP", "ok"],
    ["letter1", "VIP1", "subscribe.letter.chars"],
    ["letter1", "a".repeat(33), "subscribe.letter.length"],
    ["symbol1", "+-*", "ok"],
    ["symbol1", "!!!!!!", "subscribe.symbol.length"],
    ["symbol1", "a!", "subscribe.symbol.chars"],
    ["character_string1", "BDAY50-X", "ok"],
    ["character_string1", "礼券BDAY50", "subscribe.character_string.chars"],
    ["character_string1", "A".repeat(33), "subscribe.character_string.length"],
    ["time1", "15:01", "ok"],
    ["time1", "2019年10月1日 15:01", "ok"],
    ["time1", "2026-11-30 10:00 ~ 2026-11-30 22:00", "ok"],
    ["time1", "2019年10月1日", "subscribe.time.format"],
    ["time1", "25:00", "subscribe.time.format"],
    ["date1", "2019年10月1日", "ok"],
    ["date1", "2019-10-01 15:01", "ok"],
    ["date1", "2018/01/01", "ok"],
    ["date1", "2018.01.01", "ok"],
    ["date1", "2018-01", "ok"],
    ["date1", "01-01", "ok"],
    ["date1", "11月24日", "ok"],
    ["date1", "2019年10月", "ok"],
    ["date1", "2026-11-24 ~ 2026-11-30", "ok"],
    ["date1", "明天", "subscribe.date.format"],
    ["date1", "2026-13-01", "subscribe.date.format"],
    ["amount1", "¥214.00", "ok"],
    ["amount1", "¥50元", "ok"],
    ["amount1", "￥50", "ok"],
    ["amount1", "50元", "subscribe.amount.format"],
    ["amount1", "¥12345678901", "subscribe.amount.format"],
    ["amount1", "¥¥5", "subscribe.amount.format"],
    ["phone_number1", "+86-0766-66888866", "ok"],
    ["phone_number1", "400-000-0000 转1", "subscribe.phone_number.chars"],
    ["phone_number1", "1".repeat(18), "subscribe.phone_number.length"],
    ["car_number1", "粤A8Z888挂", "ok"],
    ["car_number1", "粤A8Z8888挂", "subscribe.car_number.length"],
    ["car_number1", "粤A8中888", "subscribe.car_number.format"],
    ["name1", "欧阳娜娜", "ok"],
    ["name1", "一".repeat(11), "subscribe.name.length"],
    ["name1", "Alexander Hamilton", "ok"],
    ["name1", "A".repeat(21), "subscribe.name.length"],
    ["name1", "王Alexander", "ok"],
    ["name1", "王Alexanders", "subscribe.name.length"],
    ["phrase1", "配送中", "ok"],
    ["phrase1", "已经配送中啦", "subscribe.phrase.length"],
    ["phrase1", "Done", "subscribe.phrase.chars"],
    ["enum1", "已发货", "ok"],
    ["enum1", " ", "subscribe.enum.empty"],
  ];
  it.each(cases)("%s = %j → %s", (key, value, expected) => {
    expect(rule(key, value)).toBe(expected);
  });
});

describe("static checks of templated values", () => {
  const rules = (key: string, source: string) => checkTypedField(prefixOf(key)!, fieldText(source)!, `data.${key}`, "subscribe").map((f) => f.rule);
  it("checks the fixed text every rendering contains", () => {
    expect(rules("thing1", "{{name}}的生日礼券")).toEqual([]);
    expect(rules("thing1", `{{name}}${"礼".repeat(21)}`)).toEqual(["subscribe.thing.length"]);
    expect(rules("number1", "{{points}}分")).toEqual(["subscribe.number.chars"]);
    expect(rules("phrase1", "{{x}}ok")).toEqual(["subscribe.phrase.chars"]);
    expect(rules("thing1", "{{a}}\n{{b}}")).toEqual(["subscribe.thing.linebreak"]);
  });
  it("text inside a block is not always present, so it does not count", () => {
    expect(rules("thing1", `{{#if vip}}${"礼".repeat(21)}{{/if}}`)).toEqual([]);
  });
  it("checks a constant exactly", () => {
    expect(rules("amount1", "50元")).toEqual(["subscribe.amount.format"]);
    expect(rules("amount1", "¥{{amount}}")).toEqual([]);
  });
});

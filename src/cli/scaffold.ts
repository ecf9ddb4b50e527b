/** The files `chuda init` writes: a campaign repository that validates and simulates at once. */
export const SCAFFOLD: Record<string, string> = {
  "chuda.yaml": `# chuda project file: timezone, member schema, channels, policy, calendar.
timezone: Asia/Shanghai
mall: { name: "我的商场", location: [121.4737, 31.2304] }

members:
  key: member_id
  fields:
    member_id: string
    name: string
    mobile: phone
    birthday: date
    tier: { enum: [normal, silver, gold, platinum, diamond] }   # the tiers of \`chuda sample-members\`
    registered_at: datetime
    last_purchase_at: datetime
    distance_km: number
    wecom_external_userid: string
    wecom_owner: string
    sms_opt_in: bool
    unsubscribed: bool
  distance: distance_km

channels:
  wecom:
    driver: wecom
    address: wecom_external_userid
    sender: wecom_owner
    quota: 1 per member per day
    rates: { delivered: 0.95, opened: 0.40 }
    env: { corp_id: WECOM_CORP_ID, secret: WECOM_SECRET }
  sms:
    driver: aliyun-sms
    address: mobile
    consent: sms_opt_in
    price: 0.045 CNY per segment
    rates: { delivered: 0.98, opened: 0.10 }
    env: { access_key_id: ALIYUN_AK, access_key_secret: ALIYUN_SK }

policy:
  exclude: unsubscribed
  max: 2 per member per 7 days
  quiet_hours: "21:00-09:00"
  default_time: "10:00"

assumptions:
  redeem: 0.10
  visit: 0.05
  purchase: 0.03
`,
  "campaigns/birthday.chuda": `# A first campaign: a birthday coupon for members who live nearby.
campaign birthday_gift "会员生日礼" {
  audience tier >= silver and within 10 km
  trigger  on anniversary of birthday at 09:30
  content  "birthday" with { coupon: "BDAY50", amount: 50 }
  channel  wecom > sms
  goal     redeem "BDAY50" within 7 days
  holdout  10%
  priority 80
}
`,
  "templates/birthday.yaml": `wecom:
  text: "亲爱的会员，生日快乐！{{amount}}元生日礼券（{{coupon}}）已放入卡包，7天内到店可用。"
sms:
  sign: "我的商场"
  code: "SMS_0001"
  body: "\${name}您好，生日快乐！您的生日礼券\${coupon}已到账，7天内到店可用。拒收请回复R"
  params: { name: "{{truncate name 10}}", coupon: "{{coupon}}" }
`,
  "members.sample.csv": `member_id,name,mobile,birthday,tier,registered_at,last_purchase_at,distance_km,wecom_external_userid,wecom_owner,sms_opt_in,unsubscribed
M001,王伟,13812341234,1990-03-14,gold,2021-05-01 10:00:00,2026-10-02 15:30:00,2.5,wmA001,staff01,true,false
M002,李娜,13923456789,1988-07-22,silver,2022-01-15 12:00:00,2026-06-18 11:00:00,6.1,,,true,false
M003,张敏,15034567890,1995-12-01,platinum,2020-09-09 09:00:00,2026-11-01 19:45:00,1.2,wmA003,staff02,false,false
M004,刘洋,18645678901,2000-02-29,normal,2024-03-03 18:00:00,,12.0,,,true,false
M005,陈静,13756789012,1992-11-30,gold,2019-11-11 11:11:00,2025-12-24 20:00:00,3.3,wmA005,staff01,true,true
`,
  "tests/birthday.yaml": `# Campaign tests: \`chuda test\` plans these members with the real planner and checks what they get.
campaigns: [birthday_gift]
tests:
  - name: a gold member nearby gets the birthday gift by WeCom
    at: "2026-03-14 09:30"
    members:
      - { member_id: T1, tier: gold, birthday: 1990-03-14, distance_km: 2.5, wecom_external_userid: wmT1, wecom_owner: staff01 }
      - { member_id: T2, tier: normal, birthday: 1990-03-14, distance_km: 2.5, wecom_external_userid: wmT2, wecom_owner: staff01 }
      - { member_id: T3, tier: gold, birthday: 1990-03-14, distance_km: 2.5, wecom_external_userid: wmT3, wecom_owner: staff01, unsubscribed: true }
    expect:
      - member: T1
        sends: [{ campaign: birthday_gift, channel: wecom, at: "2026-03-14 09:30" }]
      - { member: T2, nothing: not in audience }
      - { member: T3, nothing: excluded }
`,
  ".gitignore": `.chuda/\n`,
};

/**
 * The scaffold for a repository created on `today` ("YYYY-MM-DD" in the project timezone): the sample's first
 * member (gold, nearby, on WeCom) has their birthday today, so `chuda simulate` shows a send at once.
 */
export function scaffoldFor(today: string): Record<string, string> {
  const monthDay = today.slice(5);
  const born = `${monthDay === "02-29" ? "1992" : "1990"}-${monthDay}`;
  return { ...SCAFFOLD, "members.sample.csv": SCAFFOLD["members.sample.csv"]!.replace("M001,王伟,13812341234,1990-03-14,", `M001,王伟,13812341234,${born},`) };
}

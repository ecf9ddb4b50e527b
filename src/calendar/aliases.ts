/**
 * Other names authors reach for, English and Chinese, for each built-in event: `on chinese_new_year` or
 * `on 春节` is answered with "write `spring_festival`". The language accepts only the canonical names (one way
 * to write each event keeps campaigns greppable); these names only shape the help of a diagnostic.
 */
const ALIASES: Record<string, readonly string[]> = {
  new_year: ["new_years_day", "new_years", "newyear", "new_year_day", "元旦", "新年"],
  spring_festival: ["chinese_new_year", "lunar_new_year", "cny", "chunjie", "spring", "春节", "过年", "农历新年", "大年初一"],
  lantern: ["lantern_festival", "yuanxiao", "元宵", "元宵节"],
  valentines: ["valentines_day", "valentine", "valentine_day", "情人节"],
  womens_day: ["women_day", "womens", "international_womens_day", "goddess_day", "妇女节", "女神节", "三八"],
  qingming: ["qingming_festival", "tomb_sweeping", "tomb_sweeping_day", "清明", "清明节"],
  labour_day: ["labor_day", "may_day", "labour", "labor", "劳动节", "五一"],
  "520": ["表白日", "网络情人节"],
  dragon_boat: ["dragon_boat_festival", "duanwu", "端午", "端午节"],
  "618": ["mid_year_sale", "年中大促"],
  qixi: ["chinese_valentines", "chinese_valentines_day", "double_seventh", "七夕", "七夕节"],
  mid_autumn: ["mid_autumn_festival", "moon_festival", "mooncake_festival", "zhongqiu", "中秋", "中秋节"],
  national_day: ["golden_week", "guoqing", "国庆", "国庆节", "十一"],
  double11: ["singles_day", "double_11", "double_eleven", "双十一", "光棍节"],
  double12: ["double_12", "double_twelve", "双十二"],
  christmas: ["xmas", "christmas_day", "圣诞", "圣诞节"],
};

const BY_ALIAS = new Map<string, string>(Object.entries(ALIASES).flatMap(([event, names]) => names.map((n) => [n, event] as [string, string])));

/** The built-in event another common name stands for (`cny` → `spring_festival`), or undefined. */
export function eventForAlias(name: string): string | undefined {
  return BY_ALIAS.get(name.toLowerCase());
}

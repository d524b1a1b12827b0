//! Per-language vocabularies and sentence templates for the generator.
//!
//! Template syntax: words separated by single spaces (also for languages written without
//! spaces, so word boundaries are explicit); `{slot}` picks an entry of the slot table (an
//! entry may hold several words); `{dirty}` is an optional inline dirty word; `{n:kind}` is a
//! number (see `NumKind::from_name`); `,` puts the language's comma after the previous word; a
//! final `?` makes the clause a question.

use super::numbers::Numerals;
use super::{Language, WordKind};

/// Everything the generator knows about one language.
#[derive(Debug)]
pub(crate) struct Lexicon {
    /// Speaking units per 10 s at a normal pace; a unit is a character, or a word for English.
    pub units_per_10s: u64,
    /// Whether a unit is a word (English) rather than a character.
    pub counts_words: bool,
    /// Written after a clause that is not the last one.
    pub comma: &'static str,
    /// Ends a statement; empty for Thai, which ends sentences with a space instead.
    pub full_stop: &'static str,
    /// Ends a question.
    pub question: &'static str,
    /// Ends an exclamation.
    pub exclaim: &'static str,
    /// Clause templates.
    pub clauses: &'static [&'static str],
    /// Slot name → entries.
    pub slots: &'static [(&'static str, &'static [&'static str])],
    /// Whole utterances for sentences too short for a clause (about a second).
    pub short: &'static [&'static str],
    /// Fillers that open a sentence (嗯, um): `WordKind::Modal`.
    pub openers: &'static [&'static str],
    /// Particles that close a statement (吧, 呢): `WordKind::Modal`.
    pub finals: &'static [&'static str],
    /// Dirty words said as an exclamation before a sentence (靠，…).
    pub dirty_open: &'static [&'static str],
    /// Dirty words said inside a clause, where a template has `{dirty}`.
    pub dirty_inline: &'static [&'static str],
    /// How numbers are spoken.
    pub numerals: Numerals,
}

impl Lexicon {
    /// The entries of slot `name` (empty when the template names an unknown slot).
    pub(crate) fn slot(&self, name: &str) -> &'static [&'static str] {
        self.slots
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, entries)| *entries)
            .unwrap_or(&[])
    }

    /// Tags a word found in fixture text: modal particles and dirty words of this language
    /// (compared case-insensitively) get their kind, everything else is plain.
    pub(crate) fn tag(&self, word: &str) -> WordKind {
        let lower = word.to_lowercase();
        if self.openers.iter().chain(self.finals).any(|m| *m == lower) {
            WordKind::Modal
        } else if self
            .dirty_open
            .iter()
            .chain(self.dirty_inline)
            .any(|d| *d == lower)
        {
            WordKind::Dirty
        } else {
            WordKind::Plain
        }
    }

    /// Dirty words of several characters, so fixture text can keep them whole (他妈的).
    pub(crate) fn dirty_words(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.dirty_open.iter().chain(self.dirty_inline).copied()
    }
}

/// The lexicon of `lang`.
pub(crate) fn lexicon(lang: Language) -> &'static Lexicon {
    match lang {
        Language::Mandarin => &MANDARIN,
        Language::English => &ENGLISH,
        Language::Cantonese => &CANTONESE,
        Language::Japanese => &JAPANESE,
        Language::Thai => &THAI,
        Language::Shanghainese => &SHANGHAINESE,
    }
}

static MANDARIN: Lexicon = Lexicon {
    units_per_10s: 40,
    counts_words: false,
    comma: "，",
    full_stop: "。",
    question: "？",
    exclaim: "！",
    clauses: &[
        "{who} {when} 要 去 {place}",
        "{who} 已经 把 {thing} 发 过来 了",
        "这个 {thing} {dirty} 还 得 再 改 一下",
        "{who} 觉得 这个 {thing} {adj}",
        "麻烦 你 把 {thing} 再 确认 一下",
        "我们 先 讨论 一下 {thing} 的 问题",
        "{who} 现在 在 {place} 等 你",
        "{thing} 什么 时候 能 弄 好 ?",
        "你 那边 能 听到 吗 ?",
        "{who} {when} 有 空 吗 ?",
        "{dirty} 这 {thing} 怎么 又 出 问题 了",
        "这 价格 {dirty} 也 太 离谱 了",
        "{thing} 一共 是 {n:money} 块 钱",
        "{when} 一共 来 了 {n:count} 个 人",
        "今年 的 销售额 增长 了 {n:pct}",
        "这 次 大概 需要 {n:dec} 个 小时",
        "{n:year} 年 的 {thing} 都 在 {place}",
        "{thing} 的 预算 大概 是 {n:big} 块",
        "一共 有 {n:count} 份 {thing}",
        "这个 月 的 订单 比 上 个 月 多 了 {n:pct}",
        "会议 改到 {when} {n:clock} 点",
        "我 这边 马上 处理",
        "你 先 别 着急 , 我 看看",
        "{who} 说 {thing} {adj}",
        "{thing} 已经 放在 {place} 了",
        "我们 {when} 再 开会 讨论",
        "你 把 地址 发给 我 一下",
        "你 觉得 怎么样 ?",
        "{thing} 放在 哪 了 ?",
        "要 不要 再 等等 ?",
    ],
    slots: &[
        (
            "who",
            &[
                "我",
                "我们",
                "你",
                "他",
                "她",
                "大家",
                "老王",
                "张经理",
                "客户",
                "我们 这边",
                "财务 那边",
            ],
        ),
        (
            "when",
            &[
                "今天", "明天", "昨天", "上午", "下午", "晚上", "下周", "周末", "刚才", "最近",
                "月底",
            ],
        ),
        (
            "place",
            &[
                "会议室",
                "公司",
                "北京",
                "上海",
                "医院",
                "学校",
                "楼下",
                "门口",
                "仓库",
                "办公室",
                "机场",
            ],
        ),
        (
            "thing",
            &[
                "报告", "合同", "方案", "项目", "订单", "文件", "系统", "数据", "快递", "发票",
                "预算",
            ],
        ),
        (
            "adj",
            &[
                "不错",
                "很 好",
                "有点 贵",
                "太 慢 了",
                "挺 方便 的",
                "没 问题",
                "比较 麻烦",
            ],
        ),
    ],
    short: &[
        "好 的", "对", "行", "是 的", "喂", "谢谢", "可以", "没事", "明白",
    ],
    openers: &["嗯", "呃", "啊", "哦", "哈"],
    finals: &["吧", "呢", "啊", "嘛", "呀"],
    dirty_open: &["靠", "卧槽", "妈的", "他妈的"],
    dirty_inline: &["他妈的", "特么"],
    numerals: Numerals::Chinese { traditional: false },
};

static CANTONESE: Lexicon = Lexicon {
    units_per_10s: 50,
    counts_words: false,
    comma: "，",
    full_stop: "。",
    question: "？",
    exclaim: "！",
    clauses: &[
        "{who} {when} 要 去 {place}",
        "{who} 已經 搞掂 咗 {thing}",
        "呢 個 {thing} 仲 要 再 改 下",
        "{who} 覺得 呢 個 {thing} {adj}",
        "唔該 你 幫 我 睇 下 {thing}",
        "{who} 而家 喺 {place} 等 緊 你",
        "{thing} 幾時 先 搞得掂 ?",
        "你 食 咗 飯 未 ?",
        "你 嗰 邊 聽 唔 聽 到 ?",
        "呢 個 價錢 真 係 離譜",
        "{thing} 一共 {n:money} 蚊",
        "{when} 一共 嚟 咗 {n:count} 個 人",
        "今年 營業額 升 咗 {n:pct}",
        "大概 要 {n:dec} 個 鐘",
        "{n:year} 年 嘅 {thing} 全部 喺 {place}",
        "預算 大概 {n:big} 蚊",
        "冇 問題 , 我 {when} 覆 你",
        "我哋 {when} 再 傾 過",
        "你 唔 使 急 , 我 睇 下 先",
        "{thing} 放 咗 喺 {place}",
        "你 覺得 點 ?",
        "要 唔 要 等 多 陣 ?",
    ],
    slots: &[
        (
            "who",
            &[
                "我", "我哋", "你", "佢", "佢哋", "陳生", "老闆", "大家", "阿媽",
            ],
        ),
        (
            "when",
            &[
                "今日",
                "聽日",
                "琴日",
                "而家",
                "下晝",
                "朝早",
                "今晚",
                "下個 禮拜",
                "頭先",
            ],
        ),
        (
            "place",
            &[
                "公司",
                "茶餐廳",
                "旺角",
                "銅鑼灣",
                "醫院",
                "屋企",
                "地鐵站",
                "會議室",
                "機場",
            ],
        ),
        (
            "thing",
            &[
                "文件", "報告", "合約", "電腦", "系統", "計劃", "訂單", "單據", "預算",
            ],
        ),
        (
            "adj",
            &["幾 好", "好 貴", "太 慢", "幾 方便", "冇 問題", "好 麻煩"],
        ),
    ],
    short: &["好", "係", "得", "唔該", "多謝", "喂", "冇 問題"],
    openers: &["嗯", "哦", "呃", "誒"],
    finals: &["啦", "喎", "囉", "呀", "喇"],
    dirty_open: &["仆街", "頂"],
    dirty_inline: &[],
    numerals: Numerals::Chinese { traditional: true },
};

static SHANGHAINESE: Lexicon = Lexicon {
    units_per_10s: 45,
    counts_words: false,
    comma: "，",
    full_stop: "。",
    question: "？",
    exclaim: "！",
    clauses: &[
        "{who} {when} 要 到 {place} 去",
        "侬 {when} 去 {place} 伐 ?",
        "搿 个 {thing} {adj}",
        "伊 勿 晓得 {thing} 摆 辣 啥 地方",
        "侬 吃 过 饭 了 伐 ?",
        "{thing} 一共 {n:money} 块 洋钿",
        "{when} 来 了 {n:count} 个 人",
        "伊拉 辣 {place} 等 侬",
        "搿 歇 辰光 交关 忙",
        "覅 急 , 慢 慢 来",
        "阿拉 {when} 再 讲",
        "{who} 老 欢喜 {thing} 额",
        "搿 个 {thing} 涨 了 {n:pct}",
        "{n:year} 年 额 {thing} 侪 辣 {place}",
        "大概 要 {n:dec} 个 钟头",
        "侬 晓得 伐 ?",
        "{thing} 摆 辣 {place} 了",
    ],
    slots: &[
        (
            "who",
            &["阿拉", "侬", "伊", "伊拉", "阿拉 爷", "老王", "小张"],
        ),
        (
            "when",
            &[
                "今朝",
                "明朝",
                "昨日",
                "下半日",
                "上半日",
                "夜里",
                "礼拜天",
                "搿 歇",
            ],
        ),
        (
            "place",
            &["南京路", "屋里", "公司", "小菜场", "医院", "外滩", "地铁站"],
        ),
        (
            "thing",
            &["物事", "小笼", "生煎", "房子", "车子", "文件", "钞票"],
        ),
        (
            "adj",
            &[
                "老 好 额",
                "交关 贵",
                "蛮 便当 额",
                "勿 来 三",
                "老 麻烦 额",
            ],
        ),
    ],
    short: &["好 额", "对 额", "谢谢 侬", "晓得 了", "喂", "勿 要 紧"],
    openers: &["嗯", "哦", "诶", "啊"],
    finals: &["嘞", "呀", "啊", "哦"],
    dirty_open: &["册那"],
    dirty_inline: &[],
    numerals: Numerals::Chinese { traditional: false },
};

static JAPANESE: Lexicon = Lexicon {
    units_per_10s: 60,
    counts_words: false,
    comma: "、",
    full_stop: "。",
    question: "？",
    exclaim: "！",
    clauses: &[
        "{who} は {when} {place} に 行きます",
        "{thing} を 確認 して いただけます か ?",
        "{when} の 会議 は 何時 から です か ?",
        "{thing} は もう 送りました",
        "少々 お待ち ください",
        "{who} は 今 {place} に います",
        "{thing} が 少し 遅れて います",
        "ありがとう ございます",
        "よろしく お願い します",
        "{thing} に ついて 相談 したい です",
        "{when} まで に {thing} を 準備 します",
        "{place} で 待って います",
        "それ は 大丈夫 です",
        "もう 一度 お願い できます か ?",
    ],
    slots: &[
        (
            "who",
            &[
                "私",
                "私たち",
                "田中さん",
                "部長",
                "彼",
                "お客様",
                "山田さん",
            ],
        ),
        (
            "when",
            &[
                "今日",
                "明日",
                "昨日",
                "来週",
                "午後",
                "今朝",
                "週末",
                "あとで",
            ],
        ),
        (
            "place",
            &[
                "会議室",
                "東京",
                "大阪",
                "駅",
                "会社",
                "病院",
                "事務所",
                "空港",
            ],
        ),
        (
            "thing",
            &[
                "資料",
                "報告書",
                "契約書",
                "見積もり",
                "予定",
                "荷物",
                "データ",
                "請求書",
            ],
        ),
    ],
    short: &["はい", "ええ", "そうです", "了解です", "もしもし"],
    openers: &["えーと", "あの", "えー", "まあ"],
    finals: &["ね", "よ"],
    dirty_open: &[],
    dirty_inline: &[],
    numerals: Numerals::None,
};

static THAI: Lexicon = Lexicon {
    units_per_10s: 120,
    counts_words: false,
    comma: " ",
    full_stop: "",
    question: "",
    exclaim: "",
    clauses: &[
        "{who} จะ ไป {place} {when}",
        "{who} ส่ง {thing} ให้ แล้ว",
        "{thing} เสร็จ หรือ ยัง ?",
        "ช่วย ตรวจ {thing} ให้ หน่อย",
        "{when} มี ประชุม ที่ {place}",
        "ไม่ เป็น ไร",
        "ขอบคุณ มาก",
        "{who} อยู่ ที่ {place} แล้ว",
        "ราคา นี้ แพง ไป หน่อย",
        "เดี๋ยว {who} โทร กลับ ไป",
        "{thing} อยู่ ที่ {place}",
        "{who} ยัง ไม่ ได้ รับ {thing}",
        "ได้ยิน ไหม ?",
        "{when} ว่าง ไหม ?",
    ],
    slots: &[
        (
            "who",
            &["ผม", "ฉัน", "เรา", "คุณ", "เขา", "พี่", "หัวหน้า", "ลูกค้า"],
        ),
        (
            "when",
            &[
                "วันนี้",
                "พรุ่งนี้",
                "เมื่อวาน",
                "ตอน เย็น",
                "ตอน เช้า",
                "อาทิตย์ หน้า",
                "เดี๋ยวนี้",
            ],
        ),
        (
            "place",
            &[
                "บริษัท",
                "ตลาด",
                "โรงพยาบาล",
                "สนามบิน",
                "ห้อง ประชุม",
                "บ้าน",
                "กรุงเทพ",
                "เชียงใหม่",
            ],
        ),
        (
            "thing",
            &[
                "เอกสาร",
                "รายงาน",
                "สัญญา",
                "ข้อมูล",
                "ระบบ",
                "พัสดุ",
                "ใบเสร็จ",
                "โครงการ",
            ],
        ),
    ],
    short: &["สวัสดี", "ได้", "ใช่", "โอเค", "ขอบคุณ"],
    openers: &["เอ่อ", "อืม"],
    finals: &["นะ", "ครับ", "ค่ะ"],
    dirty_open: &[],
    dirty_inline: &[],
    numerals: Numerals::None,
};

static ENGLISH: Lexicon = Lexicon {
    units_per_10s: 25,
    counts_words: true,
    comma: ",",
    full_stop: ".",
    question: "?",
    exclaim: "!",
    clauses: &[
        "{who} will be at {place} {when}",
        "can you send me {thing} ?",
        "{thing} is almost ready",
        "{who} already signed {thing}",
        "let's go over {thing} {when}",
        "{thing} comes to {n:money} dollars",
        "we have {n:count} people on the call",
        "that is {dirty} ridiculous",
        "sorry , could you repeat that ?",
        "the meeting starts at {n:clock} o'clock",
        "sales went up {n:pct} percent",
        "thank you so much",
        "okay , sounds good",
        "{who} said {thing} is {adj}",
        "I'll call you back {when}",
        "{thing} is still at {place}",
        "do you have time {when} ?",
        "how is {thing} going ?",
        "it takes about {n:count} minutes to get to {place}",
    ],
    slots: &[
        (
            "who",
            &[
                "I",
                "we",
                "you",
                "they",
                "my manager",
                "the client",
                "Sarah",
                "the team",
                "David",
            ],
        ),
        (
            "when",
            &[
                "today",
                "tomorrow",
                "yesterday",
                "next week",
                "this afternoon",
                "on Monday",
                "later tonight",
            ],
        ),
        (
            "place",
            &[
                "the office",
                "the airport",
                "the hospital",
                "downtown",
                "the warehouse",
                "the meeting room",
                "London",
                "the station",
            ],
        ),
        (
            "thing",
            &[
                "the report",
                "the contract",
                "the invoice",
                "the proposal",
                "the schedule",
                "the package",
                "the data",
                "the budget",
            ],
        ),
        (
            "adj",
            &[
                "pretty good",
                "too expensive",
                "a bit slow",
                "really useful",
                "fine",
                "a little confusing",
            ],
        ),
    ],
    short: &["okay", "yes", "right", "thanks", "hello", "sure", "got it"],
    openers: &["um", "uh", "hmm"],
    finals: &[],
    dirty_open: &["damn", "hell"],
    dirty_inline: &["damn", "bloody"],
    numerals: Numerals::English,
};

#[cfg(test)]
mod tests {
    use super::super::numbers::NumKind;
    use super::*;

    /// Every template names only known slots and number kinds, so no slot silently vanishes.
    #[test]
    fn templates_are_well_formed() {
        for lang in Language::ALL {
            let lex = lexicon(lang);
            for clause in lex.clauses.iter().chain(lex.short) {
                for tok in clause.split(' ') {
                    assert!(!tok.is_empty(), "{lang:?}: double space in {clause:?}");
                    if let Some(name) = tok.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                        if let Some(kind) = name.strip_prefix("n:") {
                            assert!(NumKind::from_name(kind).is_some(), "{clause:?}");
                            assert_ne!(lex.numerals, Numerals::None, "{clause:?}");
                        } else if name != "dirty" {
                            assert!(!lex.slot(name).is_empty(), "{lang:?}: {clause:?}");
                        }
                    }
                }
            }
            for (_, entries) in lex.slots {
                for entry in entries.iter() {
                    assert!(entry.split(' ').all(|w| !w.is_empty()));
                }
            }
        }
    }
}

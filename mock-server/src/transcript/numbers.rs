//! Numbers as people say them, with the Arabic rendering `ConvertNumMode` shows instead.

use rand::Rng;

/// Which numeral system a language's generated numbers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Numerals {
    /// Chinese numerals; `traditional` picks 萬/億/兩/點 over 万/亿/两/点.
    Chinese {
        /// Traditional characters (Cantonese).
        traditional: bool,
    },
    /// English number words, one hyphenated word up to ninety-nine.
    English,
    /// The language's templates have no numbers.
    None,
}

/// What a number in a template stands for; picks its range and reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumKind {
    /// A count before a measure word (两个人: 2 reads 两).
    Count,
    /// An amount of money.
    Money,
    /// A percentage (百分之二十 → "20%"; English "twenty" before "percent").
    Percent,
    /// A decimal with one digit after the point (三点五 → "3.5").
    Decimal,
    /// A year read digit by digit (二零二四 → "2024").
    Year,
    /// A large round amount (一百二十五万 → "1250000").
    Big,
    /// An hour on the clock, 1 to 12.
    Clock,
}

impl NumKind {
    /// Parses the name used in templates (`{n:count}`).
    pub(crate) fn from_name(name: &str) -> Option<NumKind> {
        Some(match name {
            "count" => NumKind::Count,
            "money" => NumKind::Money,
            "pct" => NumKind::Percent,
            "dec" => NumKind::Decimal,
            "year" => NumKind::Year,
            "big" => NumKind::Big,
            "clock" => NumKind::Clock,
            _ => return None,
        })
    }
}

/// Draws a number of `kind` and returns (spoken text, Arabic rendering); `None` when the
/// language has no numerals.
pub(crate) fn draw<R: Rng>(
    numerals: Numerals,
    kind: NumKind,
    rng: &mut R,
) -> Option<(String, String)> {
    match numerals {
        Numerals::None => None,
        Numerals::English => {
            let n = match kind {
                NumKind::Count => rng.gen_range(2..=60),
                NumKind::Money => rng.gen_range(5..=99),
                NumKind::Percent => rng.gen_range(1..=19) * 5,
                NumKind::Clock => rng.gen_range(1..=12),
                NumKind::Decimal | NumKind::Year | NumKind::Big => rng.gen_range(2..=99),
            };
            Some((english(n), n.to_string()))
        }
        Numerals::Chinese { traditional } => Some(chinese(kind, traditional, rng)),
    }
}

fn chinese<R: Rng>(kind: NumKind, trad: bool, rng: &mut R) -> (String, String) {
    match kind {
        NumKind::Count => {
            let n: u64 = if rng.gen_ratio(1, 4) {
                rng.gen_range(2..=9)
            } else {
                rng.gen_range(10..=60)
            };
            let spoken = if n == 2 {
                liang(trad).to_string()
            } else {
                chinese_int(n, trad)
            };
            (spoken, n.to_string())
        }
        NumKind::Money => {
            let n: u64 = match rng.gen_range(0..3) {
                0 => rng.gen_range(5..=99),
                1 => rng.gen_range(1..=99) * 10,
                _ => rng.gen_range(1..=99) * 100,
            };
            (chinese_int(n, trad), n.to_string())
        }
        NumKind::Percent => {
            let n: u64 = rng.gen_range(1..=99);
            (format!("百分之{}", chinese_int(n, trad)), format!("{n}%"))
        }
        NumKind::Decimal => {
            let whole: u64 = rng.gen_range(0..=12);
            let tenth: u64 = rng.gen_range(1..=9);
            let point = if trad { "點" } else { "点" };
            (
                format!("{}{point}{}", chinese_int(whole, trad), digit(tenth)),
                format!("{whole}.{tenth}"),
            )
        }
        NumKind::Year => {
            let n: u64 = rng.gen_range(1990..=2030);
            let spoken = n
                .to_string()
                .chars()
                .map(|c| digit(u64::from(c) - u64::from('0')))
                .collect();
            (spoken, n.to_string())
        }
        NumKind::Big => {
            let mantissa: u64 = rng.gen_range(11..=999);
            let n = mantissa * 10u64.pow(rng.gen_range(2..=4));
            (chinese_int(n, trad), n.to_string())
        }
        NumKind::Clock => {
            let n: u64 = rng.gen_range(1..=12);
            let spoken = if n == 2 {
                liang(trad).to_string()
            } else {
                chinese_int(n, trad)
            };
            (spoken, n.to_string())
        }
    }
}

fn liang(trad: bool) -> char {
    if trad {
        '兩'
    } else {
        '两'
    }
}

/// One digit 0–9 as a Chinese numeral (零 for zero); anything else reads as 零.
fn digit(d: u64) -> char {
    const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    usize::try_from(d)
        .ok()
        .and_then(|i| DIGITS.get(i))
        .copied()
        .unwrap_or('零')
}

/// Any integer in Chinese numerals, in the standard reading: 十五 (not 一十五) at the start,
/// one 零 for each run of missing places (一千零五, 一万零五十), 两 before 百/千/万/亿 at the
/// start (两千, 两万), and 万/亿 groups (一百二十五万).
pub(crate) fn chinese_int(n: u64, trad: bool) -> String {
    if n == 0 {
        return "零".to_string();
    }
    let group_units: [&str; 5] = if trad {
        ["", "萬", "億", "萬億", "億億"]
    } else {
        ["", "万", "亿", "万亿", "亿亿"]
    };
    // Groups of four digits, most significant first.
    let mut groups = Vec::with_capacity(5);
    let mut rest = n;
    while rest > 0 {
        groups.push(rest % 10_000);
        rest /= 10_000;
    }
    let mut out = String::new();
    let mut zero_pending = false;
    let mut first = true;
    for (gi, &m) in groups.iter().enumerate().rev() {
        if m == 0 {
            zero_pending = !first;
            continue;
        }
        if !first && (m < 1_000 || zero_pending) {
            out.push('零');
        }
        zero_pending = false;
        if first && m == 2 && gi > 0 {
            out.push(liang(trad));
        } else {
            group(m, first, trad, &mut out);
        }
        out.push_str(group_units.get(gi).copied().unwrap_or(""));
        first = false;
    }
    out
}

/// Reads 1–9999 inside a number; `leading` marks the number's first group, where a lone 十
/// drops its 一 and a leading 2 before 百/千 reads 两.
fn group(m: u64, leading: bool, trad: bool, out: &mut String) {
    const PLACES: [(u64, &str); 4] = [(1_000, "千"), (100, "百"), (10, "十"), (1, "")];
    let mut started = false;
    let mut zero_pending = false;
    for (div, unit) in PLACES {
        let d = (m / div) % 10;
        if d == 0 {
            zero_pending = started;
            continue;
        }
        if zero_pending {
            out.push('零');
            zero_pending = false;
        }
        let at_start = leading && !started;
        if at_start && div == 10 && d == 1 {
            // 十五, not 一十五.
        } else if at_start && d == 2 && div >= 100 {
            out.push(liang(trad));
        } else {
            out.push(digit(d));
        }
        out.push_str(unit);
        started = true;
    }
}

/// 1–99 as one English word ("seven", "forty-two"); other values as digits.
pub(crate) fn english(n: u64) -> String {
    const ONES: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    let idx = |x: u64| usize::try_from(x).unwrap_or(0);
    match n {
        0..=19 => ONES[idx(n)].to_string(),
        20..=99 if n % 10 == 0 => TENS[idx(n / 10)].to_string(),
        20..=99 => format!("{}-{}", TENS[idx(n / 10)], ONES[idx(n % 10)]),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_integers_read_correctly() {
        let cases: &[(u64, &str)] = &[
            (0, "零"),
            (2, "二"),
            (10, "十"),
            (15, "十五"),
            (20, "二十"),
            (25, "二十五"),
            (105, "一百零五"),
            (115, "一百一十五"),
            (200, "两百"),
            (325, "三百二十五"),
            (1_005, "一千零五"),
            (1_050, "一千零五十"),
            (1_200, "一千二百"),
            (2_024, "两千零二十四"),
            (3_500, "三千五百"),
            (10_000, "一万"),
            (10_050, "一万零五十"),
            (10_500, "一万零五百"),
            (11_000, "一万一千"),
            (20_000, "两万"),
            (100_000, "十万"),
            (101_000, "十万一千"),
            (110_000, "十一万"),
            (1_250_000, "一百二十五万"),
            (2_000_000, "两百万"),
            (100_010, "十万零一十"),
            (100_000_001, "一亿零一"),
            (100_010_000, "一亿零一万"),
        ];
        for &(n, want) in cases {
            assert_eq!(chinese_int(n, false), want, "{n}");
        }
        assert_eq!(chinese_int(20_000, true), "兩萬");
        assert!(!chinese_int(u64::MAX, false).is_empty());
    }

    #[test]
    fn english_words() {
        assert_eq!(english(7), "seven");
        assert_eq!(english(13), "thirteen");
        assert_eq!(english(40), "forty");
        assert_eq!(english(42), "forty-two");
        assert_eq!(english(100), "100");
    }

    #[test]
    fn drawn_numbers_agree_with_their_arabic_form() {
        let mut rng = crate::rng::derive(1, "test", b"numbers");
        for _ in 0..500 {
            for kind in ["count", "money", "pct", "dec", "year", "big", "clock"] {
                let kind = NumKind::from_name(kind).unwrap();
                let (spoken, arabic) =
                    draw(Numerals::Chinese { traditional: false }, kind, &mut rng).unwrap();
                match kind {
                    NumKind::Percent => {
                        let n: u64 = arabic.trim_end_matches('%').parse().unwrap();
                        assert_eq!(spoken, format!("百分之{}", chinese_int(n, false)));
                    }
                    NumKind::Decimal => {
                        let (w, f) = arabic.split_once('.').unwrap();
                        let f: u64 = f.parse().unwrap();
                        assert_eq!(
                            spoken,
                            format!("{}点{}", chinese_int(w.parse().unwrap(), false), digit(f))
                        );
                    }
                    NumKind::Year => assert_eq!(spoken.chars().count(), 4),
                    _ => {
                        let n: u64 = arabic.parse().unwrap();
                        if n != 2 {
                            assert_eq!(spoken, chinese_int(n, false));
                        }
                    }
                }
            }
        }
        assert!(draw(Numerals::None, NumKind::Count, &mut rng).is_none());
    }
}

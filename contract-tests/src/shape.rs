//! The shapes of provider values that change from run to run, checked the same way by the
//! checks (against any target) and by the snapshot redactions (before a value is hidden).

/// A Coze logid: 34 characters, `YYYYMMDDHHMMSS` in Beijing time (a real date and time),
/// then 20 upper-case hex digits (observed in public reports).
pub fn logid(id: &str) -> Result<(), String> {
    if id.len() != 34 || !id.is_ascii() {
        return Err(format!("logid must be 34 ASCII characters, got {id:?}"));
    }
    let (time, hex) = id.split_at(14);
    if !time.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("logid must start with 14 digits, got {id:?}"));
    }
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        return Err(format!(
            "logid must end in 20 upper-case hex digits, got {id:?}"
        ));
    }
    let number = |range: std::ops::Range<usize>| time[range].parse::<u32>().unwrap_or(99);
    let (month, day, hour, minute, second) = (
        number(4..6),
        number(6..8),
        number(8..10),
        number(10..12),
        number(12..14),
    );
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(format!("logid must start with a date and time, got {id:?}"));
    }
    Ok(())
}

/// An icu error `msg`: `<TencentName>: <reason>`, the name dotted ASCII words starting with
/// a capital (`FailedOperation.NoSuchTask`). Returns the name.
pub fn icu_error_msg(msg: &str) -> Result<&str, String> {
    let Some((name, reason)) = msg.split_once(": ") else {
        return Err(format!("icu error msg must be `Name: reason`, got {msg:?}"));
    };
    let name_ok = !name.is_empty()
        && name.split('.').all(|part| {
            part.starts_with(|c: char| c.is_ascii_uppercase())
                && part.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    if !name_ok || reason.trim().is_empty() {
        return Err(format!("icu error msg must be `Name: reason`, got {msg:?}"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logids() {
        assert_eq!(logid("2025110522060859DE7DB648C2DCC379B3"), Ok(()));
        for bad in [
            "",
            "2025110522060859de7db648c2dcc379b3",
            "20251105220608",
            "2025130522060859DE7DB648C2DCC379B3",
            "2025110522066059DE7DB648C2DCC379B3",
            "2025110522060859DE7DB648C2DCC379B",
        ] {
            assert!(logid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn icu_messages() {
        assert_eq!(
            icu_error_msg("FailedOperation.NoSuchTask: 错误的TaskId 1"),
            Ok("FailedOperation.NoSuchTask")
        );
        for bad in [
            "",
            "NoSuchTask",
            "noSuchTask: x",
            "A..B: x",
            "Name: ",
            "Na me: x",
        ] {
            assert!(icu_error_msg(bad).is_err(), "{bad}");
        }
    }
}

//! Time arithmetic shared by the generator and fixtures: cleaning speech spans from audio
//! analysis and spreading items (sentences, words) over an interval.

/// Makes caller-supplied speech spans safe to use: clamped to `[0, duration_ms]`, empty and
/// inverted ones dropped, sorted, and overlapping or touching ones merged.
pub(crate) fn clean_spans(spans: &[(u64, u64)], duration_ms: u64) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = spans
        .iter()
        .map(|&(a, b)| (a.min(duration_ms), b.min(duration_ms)))
        .filter(|&(a, b)| b > a)
        .collect();
    out.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(out.len());
    for (a, b) in out {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// The span assumed when speech is unknown: the whole duration less a short lead-in and
/// lead-out (`lead_ms`, at most a tenth of the duration each side).
pub(crate) fn whole_span(duration_ms: u64, lead_ms: u64) -> (u64, u64) {
    let lead = lead_ms.min(duration_ms / 10);
    (lead, duration_ms - lead)
}

/// Splits `[start, end]` into consecutive intervals, one per item, with lengths proportional
/// to each item's `weight` and a silence proportional to its `pause` after it (the last
/// item's pause is ignored, so the first interval starts at `start` and the last ends at
/// `end`).
///
/// Every interval is at least 1 ms long when the interval has at least 1 ms per item;
/// otherwise the first items get 1 ms each and the rest are empty at `end`, so intervals
/// still never overlap or go backwards.
pub(crate) fn spread(start: u64, end: u64, items: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let n = items.len() as u64;
    let len = end.saturating_sub(start);
    if n == 0 {
        return Vec::new();
    }
    if len < n {
        return (0..n)
            .map(|i| (start + i.min(len), start + (i + 1).min(len)))
            .collect();
    }
    // Each item first gets 1 ms; the rest is shared out by weight. Weights are capped so the
    // products below stay far inside u128.
    let cap = |x: u64| u128::from(x.min(u64::from(u32::MAX)));
    let rest = u128::from(len - n);
    let last = items.len() - 1;
    let total: u128 = items
        .iter()
        .enumerate()
        .map(|(i, &(w, p))| cap(w) + if i < last { cap(p) } else { 0 })
        .sum();
    let (total, unit) = if total == 0 {
        (n as u128, true)
    } else {
        (total, false)
    };
    let share = |c: u128| -> u64 { u64::try_from(rest * c / total).unwrap_or(u64::MAX) };
    let mut out = Vec::with_capacity(items.len());
    let mut cum: u128 = 0;
    for (i, &(w, p)) in items.iter().enumerate() {
        let w = if unit { 1 } else { cap(w) };
        let offset = i as u64;
        out.push((
            start + offset + share(cum),
            start + offset + 1 + share(cum + w),
        ));
        cum += w;
        if !unit && i < last {
            cum += cap(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_spans_sorts_clamps_and_merges() {
        let spans = [
            (5_000, 4_000),
            (900, 2_000),
            (0, 1_000),
            (3_000, 20_000),
            (2_000, 2_500),
        ];
        assert_eq!(
            clean_spans(&spans, 10_000),
            vec![(0, 2_500), (3_000, 10_000)]
        );
        assert!(clean_spans(&[(10, 10), (20_000, 30_000)], 10_000).is_empty());
    }

    #[test]
    fn spread_tiles_the_interval_proportionally() {
        let out = spread(100, 1_100, &[(1, 0), (3, 0)]);
        assert_eq!(out.first().map(|x| x.0), Some(100));
        assert_eq!(out.last().map(|x| x.1), Some(1_100));
        assert!(out[1].1 - out[1].0 > 2 * (out[0].1 - out[0].0));
        let paused = spread(0, 1_000, &[(1, 1), (1, 0)]);
        assert!(paused[1].0 > paused[0].1);
    }

    #[test]
    fn spread_never_overlaps_even_when_squeezed() {
        for len in 0..12u64 {
            for n in 1..10usize {
                let items: Vec<(u64, u64)> = (0..n).map(|i| (i as u64 % 3, 1)).collect();
                let out = spread(50, 50 + len, &items);
                assert_eq!(out.len(), n);
                let mut prev = 50;
                for &(s, e) in &out {
                    assert!(s >= prev && e >= s && e <= 50 + len);
                    if len >= n as u64 {
                        assert!(e > s);
                    }
                    prev = e;
                }
                if len >= n as u64 {
                    assert_eq!(out[n - 1].1, 50 + len);
                }
            }
        }
        assert_eq!(
            spread(0, u64::MAX, &[(u64::MAX, u64::MAX), (1, 0)]).len(),
            2
        );
    }
}

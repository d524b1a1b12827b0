//! Streaming speech detector: energy per 20 ms window of the mono mix, a fixed threshold, then
//! gap merging and short-span removal. It keeps one window's running sum and the spans found so
//! far, never the samples, so memory does not grow with the length of the audio.

/// Window length: short enough to place word boundaries, long enough to average a pitch period.
const WINDOW_MS: u64 = 20;
/// RMS threshold of -45 dBFS, as a mean square of samples in [-1, 1]. Synthetic and recorded
/// speech sits around -20 dBFS; digital silence and a quiet room's noise floor sit below -60.
const THRESHOLD_MEAN_SQUARE: f64 = 3.162_277_660_168_379_5e-5; // 10^(-45/10)
/// Pauses shorter than this are breaths between words, not the end of an utterance.
const MERGE_GAP_MS: u64 = 300;
/// Shorter bursts are clicks and pops rather than speech.
const MIN_SPAN_MS: u64 = 100;

/// Accumulates mono samples and yields speech spans in milliseconds.
#[derive(Debug, Clone)]
pub(crate) struct Vad {
    rate: u32,
    /// Frames per window (at least 1).
    window: u64,
    /// Sum of squares and frame count of the window being filled.
    acc: f64,
    acc_frames: u64,
    /// Frames consumed so far.
    frames: u64,
    /// Open span as (first frame, end frame) of its voiced windows; may still grow.
    open: Option<(u64, u64)>,
    /// Finished spans, in frames.
    spans: Vec<(u64, u64)>,
}

impl Vad {
    pub(crate) fn new(rate: u32) -> Self {
        let rate = rate.max(1);
        let window = (u64::from(rate) * WINDOW_MS / 1000).max(1);
        Vad {
            rate,
            window,
            acc: 0.0,
            acc_frames: 0,
            frames: 0,
            open: None,
            spans: Vec::new(),
        }
    }

    /// Frames consumed so far.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    /// Frames per second.
    pub(crate) fn rate(&self) -> u32 {
        self.rate
    }

    /// Adds one mono frame (a sample in [-1, 1]).
    #[inline]
    pub(crate) fn push(&mut self, sample: f32) {
        let s = f64::from(sample);
        self.acc += s * s;
        self.acc_frames += 1;
        self.frames += 1;
        if self.acc_frames >= self.window {
            self.close_window();
        }
    }

    /// Judges the window just filled (or the partial last one) and updates the spans.
    fn close_window(&mut self) {
        if self.acc_frames == 0 {
            return;
        }
        let mean_square = self.acc / self.acc_frames as f64;
        let end = self.frames;
        let start = end.saturating_sub(self.acc_frames);
        self.acc = 0.0;
        self.acc_frames = 0;
        // NaN (from a decoder's garbage) compares false, so it counts as silence.
        if mean_square.is_nan() || mean_square <= THRESHOLD_MEAN_SQUARE {
            return;
        }
        let gap = u64::from(self.rate) * MERGE_GAP_MS / 1000;
        match self.open {
            Some((first, last_end)) if start.saturating_sub(last_end) < gap => {
                self.open = Some((first, end));
            }
            Some(done) => {
                self.keep(done);
                self.open = Some((start, end));
            }
            None => self.open = Some((start, end)),
        }
    }

    /// Stores a finished span unless it is too short to be speech.
    fn keep(&mut self, (start, end): (u64, u64)) {
        let min = u64::from(self.rate) * MIN_SPAN_MS / 1000;
        if end.saturating_sub(start) >= min {
            self.spans.push((start, end));
        }
    }

    /// Every span heard so far, in milliseconds: the finished ones and the open one once it
    /// is long enough to be kept (it can then only grow). A stream's interim results come
    /// from these.
    pub(crate) fn heard(&self) -> Vec<(u64, u64)> {
        let min = u64::from(self.rate) * MIN_SPAN_MS / 1000;
        let open = self
            .open
            .filter(|&(start, end)| end.saturating_sub(start) >= min);
        self.spans
            .iter()
            .copied()
            .chain(open)
            .map(|(s, e)| {
                (
                    super::frames_to_ms(s, self.rate),
                    super::frames_to_ms(e, self.rate),
                )
            })
            .collect()
    }

    /// Closes the last window and returns the spans in milliseconds, sorted.
    pub(crate) fn finish(mut self) -> Vec<(u64, u64)> {
        self.close_window();
        if let Some(done) = self.open.take() {
            self.keep(done);
        }
        let rate = self.rate;
        self.spans
            .into_iter()
            .map(|(s, e)| (super::frames_to_ms(s, rate), super::frames_to_ms(e, rate)))
            .collect()
    }
}

//! Provider A's operations, free of HTTP: who may call, and what an upload transcribes to.
//! The handlers call these; so can anything else that needs Coze's answer for some audio.

use std::sync::Arc;

use super::error::{CozeError, MAX_DURATION_MS};
use super::formats;
use super::logid::Logids;
use super::stream::StreamSettings;
use crate::audio::{self, ProbeOptions};
use crate::bus::{Bus, BusSlot};
use crate::clock::Clock;
use crate::config::CozeModel;
use crate::scenarios::Scenario;
use crate::stores::tokens::{AuthOutcome, TokenPolicy, CREATE_TRANSCRIPTION};
use crate::transcript::filters::{self, Filters};
use crate::transcript::{self, FixtureStore, GenerateInput, Language};

/// What provider A needs, and nothing more.
#[derive(Debug)]
pub struct CozeService {
    /// Root of the generated transcripts.
    pub seed: u64,
    /// Logids for every answer.
    pub logids: Logids,
    /// Who may call.
    pub tokens: TokenPolicy,
    /// Which model's format list applies.
    pub model: CozeModel,
    /// How uploads are probed (PCM assumptions, decode budget).
    pub probe: ProbeOptions,
    /// Transcripts registered by audio hash (shared with provider B).
    pub fixtures: Arc<FixtureStore>,
    /// The streaming endpoint's limits and handshake policy.
    pub stream: StreamSettings,
    /// Where streaming sessions are announced (the dashboard).
    pub bus: BusSlot,
}

impl CozeService {
    /// Provider A over these parts; logids run from `seed` on `clock`.
    pub fn new(
        seed: u64,
        clock: Clock,
        tokens: TokenPolicy,
        model: CozeModel,
        probe: ProbeOptions,
        fixtures: Arc<FixtureStore>,
    ) -> Self {
        CozeService {
            seed,
            logids: Logids::new(seed, clock),
            tokens,
            model,
            probe,
            fixtures,
            stream: StreamSettings::default(),
            bus: BusSlot::default(),
        }
    }

    /// The same service, announcing streaming sessions on `bus`.
    pub fn with_bus(self, bus: Bus) -> Self {
        self.bus.connect(bus);
        self
    }

    /// The same service with the streaming endpoint's settings.
    pub fn with_stream(mut self, stream: StreamSettings) -> Self {
        self.stream = stream;
        self
    }

    /// Checks the `Authorization` header against the token policy (4100, 4101).
    pub fn authorize(&self, authorization: Option<&str>) -> Result<(), CozeError> {
        match self.tokens.check(authorization, CREATE_TRANSCRIPTION) {
            AuthOutcome::Allowed => Ok(()),
            AuthOutcome::Unauthenticated => Err(CozeError::auth_invalid()),
            AuthOutcome::Forbidden => Err(CozeError::permission_denied(CREATE_TRANSCRIPTION)),
        }
    }

    /// The text for an uploaded file (`sha` is its SHA-256): the model's format list (from the
    /// magic bytes), probe (off the async workers: it decodes), the duration limit, then the transcript with provider B's
    /// default filters, so one file reads the same on both APIs.
    pub async fn transcribe(
        &self,
        filename: String,
        bytes: Vec<u8>,
        sha: [u8; 32],
        scenarios: &[Arc<Scenario>],
    ) -> Result<String, CozeError> {
        if bytes.is_empty() {
            return Err(CozeError::file_empty());
        }
        // The format list is checked on the magic bytes before anything is decoded, so a
        // format the model refuses costs nothing (a few MB of FLAC can hold hours of samples).
        if let Some(format) = audio::sniff(&bytes) {
            formats::check(self.model, format)?;
        }
        let probe = self.probe.clone();
        let (probed, filename) = tokio::task::spawn_blocking(move || {
            (audio::probe(&bytes, Some(&filename), &probe), filename)
        })
        .await
        .map_err(|_| CozeError::internal())?;
        let info = probed.map_err(|err| formats::probe_failure(self.model, &filename, &err))?;
        formats::check(self.model, info.format)?;
        if info.duration_ms >= MAX_DURATION_MS {
            return Err(CozeError::too_long(info.duration_ms));
        }
        self.text_for(sha, info.duration_ms, info.voiced.as_deref(), scenarios)
    }

    /// The text for audio already examined, shared by the upload and the streaming endpoint:
    /// the fixture registered for `sha` (the SHA-256 of the audio as sent), otherwise the
    /// generator over the speech spans, with provider B's default filters.
    pub fn text_for(
        &self,
        sha: [u8; 32],
        duration_ms: u64,
        voiced: Option<&[(u64, u64)]>,
        scenarios: &[Arc<Scenario>],
    ) -> Result<String, CozeError> {
        let transcript = transcript::transcribe(
            &self.fixtures,
            &GenerateInput {
                seed: self.seed,
                audio_sha256: sha,
                language: Language::Mandarin,
                duration_ms,
                voiced,
            },
        );
        if transcript.sentences.is_empty()
            && scenarios.iter().any(|s| s.identity.coze_no_speech_5000)
        {
            // The provider's old behaviour for audio without speech, kept as a scenario.
            return Err(CozeError::internal());
        }
        Ok(filters::apply(&transcript, &Filters::PROVIDER_DEFAULT).text())
    }

    /// The generated text for the speech heard so far in a stream, the last span possibly
    /// still being spoken (no fixture: those match the complete audio only). Spans are keyed
    /// by where they start and more speech only adds words, so without its closing
    /// punctuation (the sentence may go on) this is a prefix of [`CozeService::text_for`]'s
    /// generated text for the whole stream.
    pub fn interim_text(&self, duration_ms: u64, voiced: &[(u64, u64)]) -> String {
        let transcript = transcript::generate(&GenerateInput {
            seed: self.seed,
            audio_sha256: [0; 32],
            language: Language::Mandarin,
            duration_ms,
            voiced: Some(voiced),
        });
        let mut text = filters::apply(&transcript, &Filters::PROVIDER_DEFAULT).text();
        let said = text.trim_end_matches(|c: char| !c.is_alphanumeric()).len();
        text.truncate(said);
        text
    }
}

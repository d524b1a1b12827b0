//! `asr-mock fixtures check DIR`: the binary lints a fixtures folder the way `--fixtures DIR`
//! loads it, one line per file, with the exit codes of `scenarios check`.

use std::fs;
use std::path::Path;
use std::process::Output;

use asr_mock::MockServer;
use sha2::{Digest, Sha256};

const SHA_A: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const SHA_B: &str = "00000000000000000000000000000000000000000000000000000000000000b0";
const SHA_C: &str = "00000000000000000000000000000000000000000000000000000000000000c0";
const SHA_D: &str = "00000000000000000000000000000000000000000000000000000000000000d0";

fn check(dir: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_asr-mock"))
        .args(["fixtures", "check"])
        .arg(dir)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Good files by hash and by audio file, and one broken file per kind of mistake.
fn write_folder(dir: &Path) {
    let wav = crate::support::fixture("speech-en-16k.wav");
    fs::write(dir.join("hello.wav"), &wav).unwrap();
    let w = |name: &str, body: String| fs::write(dir.join(name), body).unwrap();
    w(
        "a-hash.toml",
        format!("sha256 = \"{SHA_A}\"\ntext = \"你好\"\n"),
    );
    w(
        "b-audio.toml",
        "audio = \"hello.wav\"\ntext = \"Hello. World.\"\n\n[[sentences]]\nstart_ms = 0\n\
         end_ms = 500\ntext = \"Hello.\"\n\n[[sentences]]\nstart_ms = 600\nend_ms = 900\n\
         text = \"World.\"\n"
            .into(),
    );
    // The same audio as a-hash.toml, its hash in capitals.
    w(
        "c-dup.toml",
        format!("text = \"again\"\nsha256 = \"{}\"\n", SHA_A.to_uppercase()),
    );
    w("d-short.toml", "sha256 = \"abc123\"\ntext = \"x\"\n".into());
    w(
        "e-syntax.toml",
        format!("sha256 = \"{SHA_B}\"\ntext = \"unclosed\n"),
    );
    w(
        "f-order.toml",
        format!(
            "sha256 = \"{SHA_C}\"\ntext = \"a。b。\"\n[[sentences]]\nstart_ms = 0\nend_ms = 10\n\
             text = \"a。\"\n[[sentences]]\nstart_ms = 5\nend_ms = 20\ntext = \"b。\"\n"
        ),
    );
    w(
        "g-empty.toml",
        format!(
            "sha256 = \"{SHA_D}\"\ntext = \"\"\n[[sentences]]\nstart_ms = 0\nend_ms = 10\n\
             text = \"\"\n"
        ),
    );
    w("h-neither.toml", "text = \"x\"\n".into());
    w(
        "i-missing-audio.toml",
        "audio = \"gone.wav\"\ntext = \"x\"\n".into(),
    );
    // Not read by the server, so not checked either: other extensions and subfolders.
    w("notes.txt", "not a fixture".into());
    fs::create_dir(dir.join("old")).unwrap();
    w("old/broken.toml", "this is not toml".into());
}

#[tokio::test]
async fn fixtures_check_names_each_broken_file_and_agrees_with_start_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_folder(dir);
    let p = |name: &str| dir.join(name).display().to_string();
    let wav_sha = hex::encode(Sha256::digest(fs::read(dir.join("hello.wav")).unwrap()));

    let out = check(dir);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let want = [
        format!("ok  {SHA_A}  {}", p("a-hash.toml")),
        format!("ok  {wav_sha}  {}", p("b-audio.toml")),
        format!(
            "error {}:2: the same audio (sha256 {SHA_A}) is already described by {}",
            p("c-dup.toml"),
            p("a-hash.toml")
        ),
        format!(
            "error {}:1: `sha256` must be 64 hex digits, got 6 characters",
            p("d-short.toml")
        ),
        format!("error {}:2:17: invalid basic string", p("e-syntax.toml")),
        format!(
            "error {}:7: sentence #2: starts at 5 ms, before the previous sentence ends (10 ms); \
             sentences must be in time order without overlap",
            p("f-order.toml")
        ),
        format!(
            "error {}:3: sentence #1: `text` is empty",
            p("g-empty.toml")
        ),
        format!(
            "error {}:1: missing `sha256` or `audio`: name the audio by its SHA-256 \
             (64 hex digits) or by the path of the audio file",
            p("h-neither.toml")
        ),
        format!(
            "error {}:1: cannot read audio file {}: ",
            p("i-missing-audio.toml"),
            p("gone.wav")
        ),
    ];
    assert_lines_start_with(&text(&out.stdout), &want);
    assert_eq!(text(&out.stderr), "9 file(s) checked, 7 invalid\n");

    // The server refuses the same folder, naming the first broken file as check did.
    let err = MockServer::builder()
        .fixtures_dir(dir)
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&want[2]["error ".len()..]), "{err}");

    // Without the broken files check passes, and the server starts with that folder.
    for name in [
        "c-dup.toml",
        "d-short.toml",
        "e-syntax.toml",
        "f-order.toml",
        "g-empty.toml",
        "h-neither.toml",
        "i-missing-audio.toml",
    ] {
        fs::remove_file(dir.join(name)).unwrap();
    }
    let out = check(dir);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(text(&out.stdout), format!("{}\n{}\n", want[0], want[1]));
    assert_eq!(text(&out.stderr), "2 file(s) checked, 0 invalid\n");
    let server = MockServer::builder()
        .fixtures_dir(dir)
        .start()
        .await
        .unwrap();
    server.shutdown().await.unwrap();
}

#[test]
fn fixtures_check_exit_codes_for_missing_and_empty_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let out = check(&tmp.path().join("missing"));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).starts_with("asr-mock: cannot read "),
        "{out:?}"
    );

    let out = check(tmp.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        format!(
            "asr-mock: no fixture files (*.toml) in {}\n",
            tmp.path().display()
        )
    );

    let no_dir = std::process::Command::new(env!("CARGO_BIN_EXE_asr-mock"))
        .args(["fixtures", "check"])
        .output()
        .unwrap();
    assert_eq!(
        no_dir.status.code(),
        Some(2),
        "clap's usage error: {no_dir:?}"
    );
}

#[tokio::test]
async fn fixtures_check_covers_the_icu_table() {
    use asr_mock::control::types::{Fixture, IcuRecording, RecordedSentence, RecordedWord};
    use asr_mock::testing::{read_fixture_file, write_fixture_toml};

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let settings = "[icu]\nengine = \"16k_zh\"\nres_text_format = 2\nchannel_num = 1\n\
                    speaker_diarization = 0\nspeaker_number = 0\nfilter_dirty = 0\n\
                    filter_modal = 0\nfilter_punc = 0\nconvert_num_mode = 1\n";
    let head = |sha: &str| format!("sha256 = \"{sha}\"\ntext = \"你好。\"\n\n");
    // A recording as the recorder writes it, read back from the file.
    let good: Fixture = toml_fixture(&format!(
        "{}{settings}\n[[icu.sentences]]\nstart_ms = 100\nend_ms = 900\ntext = \"你好。\"\n\
         words = [{{ text = \"你好。\", start_ms = 100, end_ms = 900 }}]\n",
        head(SHA_A)
    ));
    let sha_a: [u8; 32] = hex::decode(SHA_A).unwrap().try_into().unwrap();
    fs::write(
        dir.join("a-recorded.toml"),
        write_fixture_toml(&sha_a, &good),
    )
    .unwrap();
    fs::write(
        dir.join("b-engine.toml"),
        format!("{}{}", head(SHA_B), settings.replace("16k_zh", "16k_xx")),
    )
    .unwrap();
    fs::write(
        dir.join("c-word.toml"),
        format!(
            "{}{settings}\n[[icu.sentences]]\nstart_ms = 100\nend_ms = 900\ntext = \"你好。\"\n\
             words = [{{ text = \"你好。\", start_ms = 100, end_ms = 950 }}]\n",
            head(SHA_C)
        ),
    )
    .unwrap();
    fs::write(
        dir.join("d-key.toml"),
        format!("{}{settings}channel = 1\n", head(SHA_D)),
    )
    .unwrap();

    let out = check(dir);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let p = |name: &str| dir.join(name).display().to_string();
    let want = [
        format!("ok  {SHA_A}  {}", p("a-recorded.toml")),
        format!("error {}:5:10: unknown EngineModelType", p("b-engine.toml")),
        format!(
            "error {}:19: icu sentence #1 word #1: 100–950 ms lies outside its sentence \
             (100–900 ms)",
            p("c-word.toml")
        ),
        format!("error {}:14:1: unknown field `channel`", p("d-key.toml")),
    ];
    assert_lines_start_with(&text(&out.stdout), &want);

    let (sha, back) = read_fixture_file(&dir.join("a-recorded.toml")).unwrap();
    assert_eq!((sha, &back), (sha_a, &good));
    let rec: &IcuRecording = back.icu.as_ref().unwrap();
    assert_eq!(
        rec.sentences,
        [RecordedSentence {
            start_ms: 100,
            end_ms: 900,
            text: "你好。".into(),
            speaker: None,
            words: Some(vec![RecordedWord {
                text: "你好。".into(),
                start_ms: 100,
                end_ms: 900,
            }]),
        }]
    );
    for name in ["b-engine.toml", "c-word.toml", "d-key.toml"] {
        fs::remove_file(dir.join(name)).unwrap();
    }
    assert_eq!(check(dir).status.code(), Some(0));
    let server = MockServer::builder()
        .fixtures_dir(dir)
        .start()
        .await
        .unwrap();
    server.shutdown().await.unwrap();
}

/// A fixture from TOML text, through the loader.
fn toml_fixture(content: &str) -> asr_mock::control::types::Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.toml");
    fs::write(&path, content).unwrap();
    asr_mock::testing::read_fixture_file(&path).unwrap().1
}

/// Each line of `stdout` starts with the wanted text, in order, and there are as many.
fn assert_lines_start_with(stdout: &str, want: &[String]) {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), want.len(), "{stdout}");
    for (line, want) in lines.iter().zip(want) {
        assert!(
            line.starts_with(want.as_str()),
            "want {want:?}\n got {line:?}"
        );
    }
}

//! Callback bodies: the seed's example, the simulator's real ones, and junk.

use std::time::Duration;

use asr_client::icu::{
    parse_callback, parse_result, Engine, IcuClient, Source, Status, SubmitRequest, WaitOptions,
};
use asr_client::Error;

use crate::support::{mock_by_polls, sink_bodies, speech_wav};

/// The seed document's example body, byte for byte.
const SEED_BODY: &str = "code=0&requestId=4000048858&appid=12516&projectid=0&text=%5B0%3A1.640%2C0%3A4.600%5D++%E6%88%91%E5%9C%A8%E9%A9%AC%E4%B8%8A%E4%B8%8A%E5%A4%9C%E7%8F%AD%E3%80%82%0A%5B0%3A5.420%2C0%3A7.820%5D++%E6%98%8E%E5%A4%A9%E6%97%A9%E4%B8%8A%E8%AF%B4%E5%93%88%E3%80%82%0A&audioTime=8.420000&message=&resultDetail=";

fn fast() -> WaitOptions {
    WaitOptions {
        initial: Duration::from_millis(5),
        max_interval: Duration::from_millis(50),
        deadline: Duration::from_secs(20),
        ..WaitOptions::default()
    }
}

#[test]
fn the_seed_example() {
    let cb = parse_callback(SEED_BODY.as_bytes()).expect("parses");
    assert_eq!(cb.code, 0);
    assert_eq!(cb.request_id, 4000048858);
    assert_eq!(cb.appid, 12516);
    assert_eq!(cb.projectid, 0);
    assert_eq!(cb.message, "");
    assert_eq!(cb.audio_url, None);
    assert_eq!(cb.audio_time, 8.42);
    assert_eq!(cb.result_detail, None);
    assert_eq!(
        cb.text,
        "[0:1.640,0:4.600]  我在马上上夜班。\n[0:5.420,0:7.820]  明天早上说哈。\n"
    );
    let segments = parse_result(&cb.text).expect("Result text");
    assert_eq!(segments.len(), 2);
    assert_eq!((segments[1].start_ms, segments[1].end_ms), (5420, 7820));
    assert_eq!(segments[1].text, "明天早上说哈。");
}

#[test]
fn junk_is_decode_with_status_0() {
    for body in [
        &b""[..],
        b"not a form",
        b"{\"code\":0,\"requestId\":1}",
        b"code=&requestId=1",
        b"code=0",
        b"code=0&requestId=-1",
        b"code=0&requestId=18446744073709551616",
        b"code=zero&requestId=1",
        b"code=0&requestId=1&appid=x",
        b"code=0&requestId=1&audioTime=fast",
        b"code=0&requestId=1&resultDetail=%5B%7B",
        b"code=0&requestId=1&resultDetail=%7B%7D",
        b"code=0&requestId=1&resultDetail=%5B%7B%22StartMs%22%3A-1%7D%5D",
        b"\xff\xfe\x00code=0",
    ] {
        match parse_callback(body) {
            Err(Error::Decode { status: 0, raw, .. }) => assert_eq!(raw, body),
            other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
        }
    }
}

#[test]
fn null_fields_in_result_detail_read_as_empty() {
    let detail = r#"[{"FinalSentence":null,"SliceSentence":null,"StartMs":null,"EndMs":null,"WordsNum":null,"Words":null,"SpeechSpeed":null},{"Words":[{"Word":null,"OffsetStartMs":null,"OffsetEndMs":3}]}]"#;
    let body = format!(
        "code=0&requestId=7&resultDetail={}",
        url::form_urlencoded::byte_serialize(detail.as_bytes()).collect::<String>()
    );
    let cb = parse_callback(body.as_bytes()).expect("parses");
    let d = cb.result_detail.expect("present");
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].final_sentence, "");
    assert_eq!(d[0].words.len(), 0);
    assert_eq!(d[1].words[0].offset_end_ms, 3);
}

/// The callback the simulator really sends agrees with what a poll shows.
#[tokio::test]
async fn the_simulators_callback_matches_the_poll() {
    let server = mock_by_polls(1).await;
    let icu = IcuClient::new(server.base_url());
    let mut req = SubmitRequest::new(Engine::Zh16k, Source::Data(speech_wav(&server, 5).await));
    req.res_text_format = 1;
    req.callback_url = Some(format!("{}/__admin/sink", server.base_url()));
    let task_id = icu.submit(&req).await.expect("submit");
    let done = icu.wait(task_id, fast()).await.expect("wait");
    assert_eq!(done.status, Status::Success);

    let bodies = sink_bodies(&server, 1).await;
    let cb = parse_callback(bodies[0].as_bytes()).expect("the real callback parses");
    assert_eq!(cb.code, 0);
    assert_eq!(cb.request_id, task_id);
    assert_eq!(cb.appid, 12516);
    assert_eq!(cb.message, "");
    assert_eq!(cb.audio_url, None);
    assert_eq!(cb.text, done.result);
    assert_eq!(cb.result_detail.as_ref(), Some(&done.result_detail));
    assert!(
        cb.audio_time > 4.0 && cb.audio_time < 6.0,
        "{}",
        cb.audio_time
    );
}

#[tokio::test]
async fn a_failed_tasks_callback_carries_its_code() {
    let server = mock_by_polls(1).await;
    let icu = IcuClient::new(server.base_url());
    let mut req = SubmitRequest::new(
        Engine::Zh16k,
        Source::Data(b"definitely not audio".to_vec()),
    );
    req.callback_url = Some(format!("{}/__admin/sink", server.base_url()));
    let task_id = icu.submit(&req).await.expect("submit");
    let done = icu.wait(task_id, fast()).await.expect("wait");
    assert_eq!(done.status, Status::Failed);

    let bodies = sink_bodies(&server, 1).await;
    let cb = parse_callback(bodies[0].as_bytes()).expect("parses");
    assert_eq!(cb.code, 10000);
    assert_eq!(cb.request_id, task_id);
    assert_eq!(cb.message, done.error_msg);
    assert_eq!(cb.text, "");
    assert_eq!(cb.result_detail, None);
}

//! Part 7, a 5-hour Url recording: wall time from submit until `success` under the manual clock.

use std::time::{Duration, Instant};

use asr_mock::MockServer;
use serde_json::{json, Value};

use crate::client::{snippet, task_id_of, Conn, Req};
use crate::report::{fmt_ms, Report};

const FIVE_HOURS_S: u32 = 18_000;
const FIVE_HOURS_DEADLINE: Duration = Duration::from_secs(90);

pub(crate) async fn five_hours(sim: &MockServer, report: &mut Report) -> Result<(), String> {
    let addr = sim.addr();
    let url = format!(
        "{}/__admin/audio/generated/speechlike.wav?seconds={FIVE_HOURS_S}",
        sim.base_url()
    );
    let body = json!({
        "EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0,
        "SourceType": 0, "Url": url,
    })
    .to_string();
    let engine = &sim.state().icu.tasks;
    let mut conn = Conn::new(addr);
    let t0 = Instant::now();
    let answer = conn
        .request(&Req::post(
            addr,
            "/openapi/asr/voiceToText",
            "application/json",
            body,
        ))
        .await?;
    let id = task_id_of(&answer)?;
    let mut planned = None;
    let deadline = t0 + FIVE_HOURS_DEADLINE;
    loop {
        let (task, status) = engine.inspect(id).ok_or("the 5 h task vanished")?;
        if status.is_final() {
            break;
        }
        if planned.is_none() {
            if let Some(plan) = &task.plan {
                planned = Some(t0.elapsed());
                if plan.done_at_ms == i64::MAX {
                    return Err("the 5 h task is planned never to end".into());
                }
                let by = (plan.done_at_ms - sim.clock().now_ms()).max(0) + 1000;
                sim.clock().advance(Duration::from_millis(by as u64));
            }
        }
        if Instant::now() > deadline {
            return Err("the 5 h task did not end within 90 s".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let done = conn
        .request(&Req::get(
            addr,
            &format!("/openapi/asr/searchResult?TaskId={id}"),
        ))
        .await?;
    let total = t0.elapsed();
    let value: Value = serde_json::from_slice(&done.body).map_err(|e| e.to_string())?;
    let status = value["data"]["StatusStr"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    let lines = value["data"]["Result"]
        .as_str()
        .map_or(0, |r| r.lines().count());
    report.section(7, format!(
        "7. 5-hour Url recording (speechlike.wav?seconds={FIVE_HOURS_S}, 1 kHz 8-bit, {:.1} MB) under the manual clock",
        FIVE_HOURS_S as f64 * 1000.0 / 1e6
    ));
    report.row(
        "wall time submit → searchResult shows it",
        format!("{} ({status}, {lines} lines)", fmt_ms(total)),
        "",
        "",
    );
    report.row(
        "   of which download + examine (until planned)",
        planned.map(fmt_ms).unwrap_or_else(|| "—".into()),
        "",
        "",
    );
    if status != "success" {
        report.note(format!("5 h task ended {status}: {}", snippet(&done.body)));
    }
    Ok(())
}

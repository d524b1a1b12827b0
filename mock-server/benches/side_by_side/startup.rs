//! Part 1, start-up: spawn → first `GET /__admin/health` answer, as processes and in-process.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use asr_mock::MockServer;
use axum::body::Bytes;

use crate::client::{Conn, Req};
use crate::floor::start_floor;
use crate::report::{fmt_ms, median, range, ratio_of, Report};
use crate::{ASR_MOCK_BIN, CHILD_ENV};

const STARTUP_RUNS: usize = 11;
const GOAL_STARTUP: Duration = Duration::from_millis(50);

pub(crate) fn startup_processes(report: &mut Report) {
    let exe = std::env::current_exe();
    let mut sim = Vec::new();
    let mut floor = Vec::new();
    let mut error = None;
    for _ in 0..STARTUP_RUNS {
        let mut cmd = Command::new(ASR_MOCK_BIN);
        cmd.args(["--port", "0"]);
        for (key, _) in std::env::vars() {
            if key.starts_with("ASR_MOCK_") {
                cmd.env_remove(key);
            }
        }
        match process_startup(cmd) {
            Ok(d) => sim.push(d),
            Err(e) => error = Some(format!("asr-mock: {e}")),
        }
        match &exe {
            Ok(exe) => {
                let mut cmd = Command::new(exe);
                cmd.env(CHILD_ENV, "floor-server");
                match process_startup(cmd) {
                    Ok(d) => floor.push(d),
                    Err(e) => error = Some(format!("floor: {e}")),
                }
            }
            Err(e) => error = Some(format!("current_exe: {e}")),
        }
    }
    report.section(1, format!(
        "1. start-up to first answer: spawn → GET /__admin/health 200, median of {STARTUP_RUNS} (min–max)"
    ));
    let (s, f) = (median(&mut sim), median(&mut floor));
    report.row(
        "process (asr-mock --port 0 | bare axum exe)",
        s.map(|d| format!("{} ({})", fmt_ms(d), range(&sim)))
            .unwrap_or_else(|| "—".into()),
        f.map(|d| format!("{} ({})", fmt_ms(d), range(&floor)))
            .unwrap_or_else(|| "—".into()),
        ratio_of(s, f),
    );
    if let Some(e) = error {
        report.note(format!("start-up error: {e}"));
    }
    report.goal(
        "start-up < 50 ms (process, median)",
        s.map(fmt_ms).unwrap_or_else(|| "—".into()),
        s.is_some_and(|d| d < GOAL_STARTUP),
    );
}

/// Spawns `cmd`, reads the address it prints on stdout, and polls health until it answers.
fn process_startup(mut cmd: Command) -> Result<Duration, String> {
    let t0 = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut child = Reaper(child);
    let stdout = child.0.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "no address printed within 10 s".to_string())?
        .map_err(|e| format!("stdout: {e}"))?;
    let addr: SocketAddr = line
        .split("http://")
        .nth(1)
        .map(str::trim)
        .ok_or_else(|| format!("no address in {line:?}"))?
        .parse()
        .map_err(|e| format!("address in {line:?}: {e}"))?;
    let deadline = t0 + Duration::from_secs(10);
    loop {
        if health_once(addr) == Ok(200) {
            return Ok(t0.elapsed());
        }
        if Instant::now() > deadline {
            return Err("health did not answer within 10 s".into());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// A child process killed (if still running) and reaped when dropped.
pub(crate) struct Reaper(pub(crate) Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// One blocking `GET /__admin/health` on a new connection; the HTTP status. Plain std I/O
/// (no runtime in the parent at this point); only the status line is looked at.
fn health_once(addr: SocketAddr) -> Result<u16, String> {
    let mut s =
        StdTcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(|e| e.to_string())?;
    let _ = s.set_nodelay(true);
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    s.write_all(
        format!("GET /__admin/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    // Read to the end: the time counted ends once the server has answered and closed.
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    // "HTTP/1.1 200 OK\r\n…": the second word of the first line.
    let status_line = answer.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(status_line)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| "no status line".into())
}

pub(crate) async fn startup_in_process(report: &mut Report) -> Result<(), String> {
    let mut sim = Vec::new();
    let mut floor = Vec::new();
    for _ in 0..STARTUP_RUNS {
        // Simulator: build the state, bind, serve; then one answer on a new connection.
        let t0 = Instant::now();
        let server = MockServer::builder()
            .start()
            .await
            .map_err(|e| e.to_string())?;
        let mut conn = Conn::new(server.addr());
        let a = conn
            .request(&Req::get(server.addr(), "/__admin/health"))
            .await?;
        let d = t0.elapsed();
        if a.status != 200 {
            return Err(format!("in-process health: HTTP {}", a.status));
        }
        sim.push(d);
        drop(conn);
        let _ = tokio::time::timeout(Duration::from_secs(5), server.shutdown()).await;

        let t0 = Instant::now();
        let (addr, task) = start_floor(Bytes::new(), Bytes::new()).await?;
        let mut conn = Conn::new(addr);
        let a = conn.request(&Req::get(addr, "/__admin/health")).await?;
        let d = t0.elapsed();
        if a.status != 200 {
            return Err(format!("floor health: HTTP {}", a.status));
        }
        floor.push(d);
        task.abort();
    }
    let (s, f) = (median(&mut sim), median(&mut floor));
    report.resume(1);
    report.row(
        "in-process (builder().start() | bind floor router)",
        s.map(|d| format!("{} ({})", fmt_ms(d), range(&sim)))
            .unwrap_or_default(),
        f.map(|d| format!("{} ({})", fmt_ms(d), range(&floor)))
            .unwrap_or_default(),
        ratio_of(s, f),
    );
    Ok(())
}

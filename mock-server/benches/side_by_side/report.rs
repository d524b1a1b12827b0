//! The report: one table of simulator, floor and their ratio per measure, then the goals.

use std::process::Command;
use std::time::Duration;

use crate::ASR_MOCK_BIN;

#[derive(Debug, Default)]
pub(crate) struct Report {
    head: Vec<String>,
    /// (section number, line): printed in section order, in push order within one.
    rows: Vec<(u8, Line)>,
    current: u8,
    goals: Vec<(String, String, bool)>,
    notes: Vec<String>,
}

#[derive(Debug)]
enum Line {
    Section(String),
    Row([String; 4]),
}

impl Report {
    /// Starts section `n` (rows pushed from now on belong to it).
    pub(crate) fn section(&mut self, n: u8, title: String) {
        self.current = n;
        self.rows.push((n, Line::Section(title)));
    }

    /// Adds further rows to section `n`, started earlier.
    pub(crate) fn resume(&mut self, n: u8) {
        self.current = n;
    }

    pub(crate) fn row(
        &mut self,
        what: &str,
        sim: impl Into<String>,
        floor: impl Into<String>,
        ratio: impl Into<String>,
    ) {
        self.rows.push((
            self.current,
            Line::Row([what.to_owned(), sim.into(), floor.into(), ratio.into()]),
        ));
    }

    pub(crate) fn goal(&mut self, what: &str, value: String, pass: bool) {
        self.goals.push((what.to_owned(), value, pass));
    }

    pub(crate) fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    pub(crate) fn print(&self) {
        let titles = ["measure", "simulator", "floor", "sim/floor"];
        let mut widths = titles.map(|t| t.chars().count());
        let mut rows: Vec<&(u8, Line)> = self.rows.iter().collect();
        rows.sort_by_key(|(n, _)| *n);
        for (_, line) in &rows {
            if let Line::Row(cells) = line {
                for (w, c) in widths.iter_mut().zip(cells) {
                    *w = (*w).max(c.chars().count());
                }
            }
        }
        let fmt_row = |cells: [&str; 4]| {
            let mut out = format!("  {:<w$}", cells[0], w = widths[0]);
            for (i, c) in cells.iter().enumerate().skip(1) {
                let pad = widths[i].saturating_sub(c.chars().count());
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(c);
            }
            out
        };
        println!();
        for h in &self.head {
            println!("{h}");
        }
        println!();
        println!("{}", fmt_row(titles));
        for (_, line) in &rows {
            match line {
                Line::Section(title) => println!("{title}"),
                Line::Row(cells) => {
                    println!("{}", fmt_row([&cells[0], &cells[1], &cells[2], &cells[3]]))
                }
            }
        }
        println!();
        println!("goals:");
        let w = self
            .goals
            .iter()
            .map(|g| g.0.chars().count())
            .max()
            .unwrap_or(0);
        for (what, value, pass) in &self.goals {
            let pad = w - what.chars().count();
            println!(
                "  {}  {what}{}  {value}",
                if *pass { "PASS" } else { "MISS" },
                " ".repeat(pad)
            );
        }
        for n in &self.notes {
            println!("note: {n}");
        }
    }
}

pub(crate) fn header(report: &mut Report) {
    let date = Command::new("date")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "?".into());
    let nproc = Command::new("nproc")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "?".into());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_else(|| "?".into());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    report.head.push(format!("asr-mock side by side — {date}"));
    report.head.push(format!(
        "machine: {nproc} CPU(s), {model}; load average at start: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    ));
    report.head.push(format!(
        "client: hyper HTTP/1.1 client connections, keep-alive, over loopback; servers on their own 2-worker tokio runtime; binary {ASR_MOCK_BIN}"
    ));
}

pub(crate) fn median(values: &mut [Duration]) -> Option<Duration> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

pub(crate) fn range(values: &[Duration]) -> String {
    match (values.iter().min(), values.iter().max()) {
        (Some(lo), Some(hi)) => format!("{}–{}", fmt_ms(*lo), fmt_ms(*hi)),
        _ => "—".into(),
    }
}

pub(crate) fn ratio_of(sim: Option<Duration>, floor: Option<Duration>) -> String {
    match (sim, floor) {
        (Some(s), Some(f)) if !f.is_zero() => {
            format!("{:.2}×", s.as_secs_f64() / f.as_secs_f64())
        }
        _ => String::new(),
    }
}

pub(crate) fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

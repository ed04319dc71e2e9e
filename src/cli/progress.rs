//! The three views of an apply's [`Event`] stream: bars on a terminal (one line per job in
//! flight: wave, elapsed, allocations placed/healthy), plain lines otherwise, NDJSON with
//! `-json`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::apply::{Event, EventSink};

/// Which view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// indicatif bars.
    Bars,
    /// One line per event.
    Lines,
    /// One JSON object per line.
    Json,
}

impl View {
    /// Bars on a terminal, lines otherwise; `json` wins.
    pub fn choose(json: bool) -> View {
        if json {
            View::Json
        } else if std::io::stderr().is_terminal() {
            View::Bars
        } else {
            View::Lines
        }
    }
}

/// A sink rendering events in `view`.
pub fn sink(view: View) -> EventSink {
    match view {
        View::Json => Arc::new(|e: &Event| {
            if let Ok(s) = serde_json::to_string(e) {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{s}");
                let _ = out.flush();
            }
        }),
        View::Lines => Arc::new(|e: &Event| {
            if let Some(line) = line(e) {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        }),
        View::Bars => {
            let bars = Bars {
                multi: MultiProgress::new(),
                bars: Mutex::new(HashMap::new()),
            };
            Arc::new(move |e: &Event| bars.show(e))
        }
    }
}

fn secs(ms: u64) -> String {
    format!("[{:>6.1}s]", ms as f64 / 1000.0)
}

/// The plain line for an event (`None`: not shown).
pub fn line(e: &Event) -> Option<String> {
    Some(match e {
        Event::ApplyStarted { steps, parallelism } => {
            format!("Applying {steps} jobs, at most {parallelism} at once.")
        }
        Event::JobStarted {
            address,
            kind,
            wave,
            elapsed_ms,
        } => {
            format!(
                "{} {address}: {} (wave {wave})",
                secs(*elapsed_ms),
                format!("{kind:?}").to_lowercase()
            )
        }
        Event::Registered {
            address,
            eval_id,
            version,
            elapsed_ms,
        } => match version {
            // Periodic and parameterized jobs are registered without an evaluation.
            Some(v) if eval_id.is_empty() => {
                format!("{} {address}: registered version {v}", secs(*elapsed_ms))
            }
            Some(v) => format!(
                "{} {address}: registered version {v}, evaluation {}",
                secs(*elapsed_ms),
                crate::apply::short(eval_id)
            ),
            None => format!("{} {address}: stop requested", secs(*elapsed_ms)),
        },
        Event::AllocsUpdate {
            address,
            desired,
            placed,
            running,
            healthy,
            failed,
            elapsed_ms,
        } => format!(
            "{} {address}: allocations {placed}/{desired} placed, {running} running, {healthy} healthy, {failed} failed",
            secs(*elapsed_ms)
        ),
        Event::AwaitingCapacity {
            address,
            detail,
            elapsed_ms,
        } => format!("{} {address}: {detail}", secs(*elapsed_ms)),
        Event::GatePassed {
            address,
            gate,
            detail,
            elapsed_ms,
        } => {
            format!(
                "{} {address}: gate {} passed ({detail})",
                secs(*elapsed_ms),
                format!("{gate:?}").to_lowercase()
            )
        }
        Event::AwaitingPromotion {
            address,
            deployment_id,
            auto_promote,
            elapsed_ms,
        } => format!(
            "{} {address}: canaries healthy, {} deployment {}",
            secs(*elapsed_ms),
            if *auto_promote {
                "promoting"
            } else {
                "awaiting promotion of"
            },
            crate::apply::short(deployment_id)
        ),
        Event::Stopped { address, elapsed_ms } => format!("{} {address}: stopped", secs(*elapsed_ms)),
        Event::JobFailed {
            address,
            reason,
            elapsed_ms,
            ..
        } => format!("{} {address}: FAILED: {reason}", secs(*elapsed_ms)),
        Event::Journaled { .. } => return None,
        Event::Skipped { address } => format!("{address}: not started (an earlier job failed)"),
        Event::RolledBack {
            address,
            detail,
            elapsed_ms,
        } => format!("{} {address}: rolled back: {detail}", secs(*elapsed_ms)),
        Event::ApplyFinished { .. } => return None,
    })
}

struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, (ProgressBar, u32)>>,
}

impl Bars {
    fn show(&self, e: &Event) {
        let Ok(mut bars) = self.bars.lock() else { return };
        match e {
            Event::JobStarted { address, wave, .. } => {
                let bar = self.multi.add(ProgressBar::new_spinner());
                let style = ProgressStyle::with_template("{spinner} wave {prefix} [{elapsed:>4}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                bar.set_style(style);
                bar.set_prefix(wave.to_string());
                bar.set_message(format!("{address}: starting"));
                bar.enable_steady_tick(Duration::from_millis(120));
                bars.insert(address.0.clone(), (bar, *wave));
            }
            Event::Registered { address, version, .. } => {
                if let Some((bar, _)) = bars.get(&address.0) {
                    bar.set_message(match version {
                        Some(v) => format!("{address}: registered version {v}"),
                        None => format!("{address}: stopping"),
                    });
                }
            }
            Event::AllocsUpdate {
                address,
                desired,
                placed,
                healthy,
                failed,
                ..
            } => {
                if let Some((bar, _)) = bars.get(&address.0) {
                    bar.set_message(format!(
                        "{address}: {placed}/{desired} placed, {healthy} healthy, {failed} failed"
                    ));
                }
            }
            Event::GatePassed { address, detail, .. } => {
                if let Some((bar, _)) = bars.remove(&address.0) {
                    bar.finish_with_message(format!("{address}: done ({detail})"));
                }
            }
            Event::Stopped { address, .. } => {
                if let Some((bar, _)) = bars.remove(&address.0) {
                    bar.finish_with_message(format!("{address}: stopped"));
                }
            }
            Event::JobFailed { address, reason, .. } => {
                if let Some((bar, _)) = bars.remove(&address.0) {
                    bar.abandon_with_message(format!("{address}: FAILED: {reason}"));
                }
            }
            other => {
                if let Some(l) = line(other) {
                    let _ = self.multi.println(l);
                }
            }
        }
    }
}

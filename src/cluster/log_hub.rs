//! The agent's own log lines, for `/v1/agent/monitor`: a `tracing` layer that hands each
//! event to a broadcast channel while someone listens, at the most verbose level any listener
//! asked for. Nothing is formatted or kept while no one listens.
//!
//! ```text
//!  tracing::info!(..) ─► LogHub layer ─► broadcast (bounded; a slow reader skips lines)
//!                                             └──► each monitor: own level, plain or JSON
//! ```

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// How many lines a slow listener may fall behind before it skips ahead.
const BACKLOG: usize = 1024;

/// One log event, as a monitor renders it.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// Severity.
    pub level: Level,
    /// The module that logged it.
    pub target: String,
    /// The message.
    pub message: String,
    /// The event's other fields, by name.
    pub fields: Vec<(String, String)>,
    /// When, RFC 3339 with milliseconds.
    pub time: String,
    /// `file:line`, when known.
    pub location: Option<String>,
}

impl LogLine {
    /// Nomad's plain line: `TIME [LEVEL] target: message key=value` with a newline.
    pub fn plain(&self, location: bool) -> String {
        let mut s = format!("{} [{}] {}: {}", self.time, self.level, self.target, self.message);
        if let (true, Some(l)) = (location, &self.location) {
            let _ = write!(s, " @{l}");
        }
        for (k, v) in &self.fields {
            let _ = write!(s, " {k}={v}");
        }
        s.push('\n');
        s
    }

    /// Nomad's JSON line (`@level`, `@message`, `@module`, `@timestamp`, then the fields).
    pub fn json(&self, location: bool) -> String {
        let mut m = Map::new();
        m.insert("@level".into(), json!(self.level.as_str().to_lowercase()));
        m.insert("@message".into(), json!(self.message));
        m.insert("@module".into(), json!(self.target));
        m.insert("@timestamp".into(), json!(self.time));
        if let (true, Some(l)) = (location, &self.location) {
            m.insert("@caller".into(), json!(l));
        }
        for (k, v) in &self.fields {
            m.insert(k.clone(), json!(v));
        }
        let mut s = Value::Object(m).to_string();
        s.push('\n');
        s
    }
}

/// The process's log hub.
pub struct LogHub {
    sender: broadcast::Sender<LogLine>,
    /// Per level (index = `level_rank`), how many listeners want it.
    wanted: [AtomicUsize; 5],
}

/// A listener; dropping it stops the lines it asked for.
pub struct LogSubscription {
    /// The lines.
    pub lines: broadcast::Receiver<LogLine>,
    rank: usize,
}

impl Drop for LogSubscription {
    fn drop(&mut self) {
        hub().wanted[self.rank].fetch_sub(1, Ordering::Relaxed);
    }
}

/// 0 = error ... 4 = trace.
fn level_rank(level: Level) -> usize {
    match level {
        Level::ERROR => 0,
        Level::WARN => 1,
        Level::INFO => 2,
        Level::DEBUG => 3,
        Level::TRACE => 4,
    }
}

/// The process-wide hub.
pub fn hub() -> &'static LogHub {
    static HUB: OnceLock<LogHub> = OnceLock::new();
    HUB.get_or_init(|| LogHub {
        sender: broadcast::channel(BACKLOG).0,
        wanted: Default::default(),
    })
}

/// Parses Nomad's `log_level` (`trace`, `debug`, `info`, `warn`, `error`; any case).
pub fn parse_level(s: &str) -> Option<Level> {
    match s.to_ascii_lowercase().as_str() {
        "trace" => Some(Level::TRACE),
        "debug" => Some(Level::DEBUG),
        "info" => Some(Level::INFO),
        "warn" | "warning" => Some(Level::WARN),
        "error" | "err" => Some(Level::ERROR),
        _ => None,
    }
}

impl LogHub {
    /// Listens to lines at `level` and above.
    pub fn subscribe(&self, level: Level) -> LogSubscription {
        let rank = level_rank(level);
        self.wanted[rank].fetch_add(1, Ordering::Relaxed);
        LogSubscription {
            lines: self.sender.subscribe(),
            rank,
        }
    }

    /// How many listeners there are.
    pub fn listeners(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Whether any listener wants lines at `level`.
    pub fn wants(&self, level: Level) -> bool {
        let rank = level_rank(level);
        self.wanted[rank..].iter().any(|n| n.load(Ordering::Relaxed) > 0)
    }
}

/// The `tracing` layer feeding the hub; add it beside the agent's stderr output.
pub fn layer<S: Subscriber>() -> impl Layer<S> {
    HubLayer
}

struct HubLayer;

impl<S: Subscriber> Layer<S> for HubLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let hub = hub();
        let meta = event.metadata();
        if !hub.wants(*meta.level()) {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let line = LogLine {
            level: *meta.level(),
            target: meta.target().to_owned(),
            message: fields.message,
            fields: fields.rest,
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            location: meta.file().map(|f| format!("{f}:{}", meta.line().unwrap_or(0))),
        };
        let _ = hub.sender.send(line);
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.rest.push((field.name().to_owned(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn lines_reach_listeners_at_their_level_only() {
        let subscriber = tracing_subscriber::registry().with(layer());
        let sub = hub().subscribe(Level::INFO);
        let mut lines = sub.lines.resubscribe();
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!("hidden");
            tracing::info!(alloc = "a1", "shown {}", 1);
        });
        let line = lines.try_recv().expect("the info line");
        assert_eq!(line.message, "shown 1");
        assert_eq!(line.fields, vec![("alloc".to_owned(), "a1".to_owned())]);
        let plain = line.plain(false);
        assert!(
            plain.ends_with("[INFO] deploy::cluster::log_hub::tests: shown 1 alloc=a1\n"),
            "{plain}"
        );
        let json: Value = serde_json::from_str(&line.json(false)).expect("json");
        assert_eq!(json["@level"], "info");
        assert_eq!(json["@message"], "shown 1");
        assert!(lines.try_recv().is_err(), "the debug line was sent");
        drop(sub);
    }

    #[test]
    fn levels_parse_as_nomad_names_them() {
        assert_eq!(parse_level("DEBUG"), Some(Level::DEBUG));
        assert_eq!(parse_level("warn"), Some(Level::WARN));
        assert_eq!(parse_level("loud"), None);
    }
}

//! What the example programs share: where their telemetry goes, and how they
//! show what arrived.
//!
//! Every example exports to the collector named by
//! `OTEL_EXPORTER_OTLP_ENDPOINT` when that variable is set (all the other
//! `OTEL_*` variables apply as usual). Without it, the example starts
//! otlpkit's embedded test receiver on two free `127.0.0.1` ports, exports
//! there, and prints what the receiver got: so each one runs on a fresh
//! machine with nothing but the Rust toolchain.
//!
//! Each example has a protocol of its own (gRPC for `sync_cli` and
//! `tonic_service`, HTTP/protobuf for the others), used only where the
//! environment names none: `OTEL_EXPORTER_OTLP_PROTOCOL` (or a signal's
//! `OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL`) always wins. `http/json` needs
//! this package's `http-json` feature, `https://` collectors its `tls`
//! feature, `OTLPKIT_TAIL_SAMPLING=on` its `tail-sampling` feature and
//! `OTEL_*_EXPORTER=console` its `console-exporters` feature (for example
//! `cargo run -p otlpkit-examples --features tail-sampling --bin quickstart`).
//!
//! ```no_run
//! use otlpkit::core::Protocol;
//! use otlpkit_examples::Collector;
//!
//! let collector = Collector::from_env()?;
//! let telemetry = collector
//!     .configure(otlpkit::builder(), Protocol::HttpProtobuf)
//!     .with_service_name("demo")
//!     .init()?;
//! // ... the program ...
//! let report = telemetry.shutdown();
//! collector.print_received();
//! println!("{report}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;
use std::io::Write as _;

use otlpkit::core::Protocol;
use otlpkit_testkit::proto::metrics::v1::number_data_point;
use otlpkit_testkit::proto::trace::v1::span::SpanKind;
use otlpkit_testkit::proto::trace::v1::status::StatusCode;
use otlpkit_testkit::{DataPoints, Receiver, SpanTree, StartError, hex};

/// The variable that names an external collector.
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The variables that choose the protocol; when one is set, the example's
/// own default protocol is not applied.
pub const PROTOCOL_VARS: [&str; 4] = [
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
];

fn is_set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|value| !value.is_empty())
}

/// The protocol the environment names for every signal
/// (`OTEL_EXPORTER_OTLP_PROTOCOL`), if it names a valid one.
fn env_protocol() -> Option<Protocol> {
    std::env::var(PROTOCOL_VARS[0]).ok()?.parse().ok()
}

/// Where an example sends its telemetry.
#[derive(Debug)]
pub struct Collector {
    embedded: Option<Receiver>,
}

impl Collector {
    /// The collector of `OTEL_EXPORTER_OTLP_ENDPOINT`, or an embedded
    /// receiver when the variable is unset or empty.
    ///
    /// # Errors
    ///
    /// When the embedded receiver cannot start (no free port on 127.0.0.1).
    pub fn from_env() -> Result<Self, StartError> {
        let external = std::env::var_os(ENDPOINT_VAR).is_some_and(|value| !value.is_empty());
        let embedded = if external {
            None
        } else {
            Some(Receiver::start()?)
        };
        Ok(Self { embedded })
    }

    /// The embedded receiver, if the example uses one.
    pub fn receiver(&self) -> Option<&Receiver> {
        self.embedded.as_ref()
    }

    /// Sets `default` as the protocol when no `OTEL_*_PROTOCOL` variable
    /// names one (the environment wins otherwise), and points `builder` at
    /// the embedded receiver's port for the protocol in use. With an external
    /// collector, the endpoint is left to the environment.
    pub fn configure(&self, builder: otlpkit::Builder, default: Protocol) -> otlpkit::Builder {
        let env_decides = PROTOCOL_VARS.iter().any(|var| is_set(var));
        let (builder, protocol) = if env_decides {
            // An invalid value is reported by `init()` and replaced by the
            // specification's default, HTTP/protobuf.
            (builder, env_protocol().unwrap_or_default())
        } else {
            (builder.with_protocol(default), default)
        };
        match &self.embedded {
            None => builder,
            Some(receiver) => builder.with_endpoint(if protocol.is_http() {
                receiver.http_endpoint()
            } else {
                receiver.grpc_endpoint()
            }),
        }
    }

    /// Where the telemetry goes, for the program's first line of output.
    pub fn describe(&self) -> String {
        match &self.embedded {
            Some(receiver) => format!(
                "the embedded OTLP receiver (gRPC {}, HTTP {}); set {ENDPOINT_VAR} to use your collector",
                receiver.grpc_endpoint(),
                receiver.http_endpoint()
            ),
            // Never the `user:password@` or `?api_key=` of the endpoint.
            None => format!(
                "the collector at {ENDPOINT_VAR}={}",
                otlpkit::core::redact_url(&std::env::var(ENDPOINT_VAR).unwrap_or_default())
            ),
        }
    }

    /// Prints what the embedded receiver got (nothing with an external
    /// collector): [`received`].
    pub fn print_received(&self) {
        if let Some(receiver) = &self.embedded {
            print(&received(receiver));
        }
    }
}

/// Writes to standard output, ignoring a closed pipe.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// What `receiver` got, for people: the traces as indented trees with
/// durations and status, each log record with the span it belongs to, and
/// the value of each metric (otlpkit's own `otlpkit.*` metrics left out).
pub fn received(receiver: &Receiver) -> String {
    let spans = receiver.spans();
    let mut text = String::new();
    let _ = writeln!(text, "\n== traces received ({} spans)", spans.len());
    text.push_str(&tree(&SpanTree::from_spans(spans.clone())));

    let logs = receiver.logs();
    let _ = writeln!(text, "\n== logs received ({} records)", logs.len());
    for log in &logs {
        let span_id = hex(&log.record.span_id);
        let span = spans
            .iter()
            .find(|s| !span_id.is_empty() && s.span_id_hex() == span_id)
            .map_or("no span", |s| s.name());
        let _ = writeln!(
            text,
            "{:<5} {}  (in span `{span}`)",
            log.record.severity_text,
            log.body_str().unwrap_or("<not text>")
        );
    }

    let mut metrics: Vec<String> = Vec::new();
    for metric in receiver.metrics() {
        if metric.name().starts_with("otlpkit.") {
            continue;
        }
        let value = match metric.data_points() {
            DataPoints::Sum(points) | DataPoints::Gauge(points) => {
                let total: f64 = points
                    .iter()
                    .map(|p| match p.value {
                        Some(number_data_point::Value::AsInt(v)) => v as f64,
                        Some(number_data_point::Value::AsDouble(v)) => v,
                        None => 0.0,
                    })
                    .sum();
                format!("{total}")
            }
            DataPoints::Histogram(points) => {
                let count: u64 = points.iter().map(|p| p.count).sum();
                let sum: f64 = points.iter().filter_map(|p| p.sum).sum();
                format!("{count} recorded, sum {sum:.6}")
            }
            _ => "(other)".to_owned(),
        };
        metrics.push(format!("{} = {value}", metric.name()));
    }
    // Each export repeats cumulative metrics: keep the last line per name.
    let mut last: Vec<(String, String)> = Vec::new();
    for line in metrics {
        let name = line.split(" = ").next().unwrap_or_default().to_owned();
        match last.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = line,
            None => last.push((name, line)),
        }
    }
    let _ = writeln!(
        text,
        "\n== metrics received ({} instruments, otlpkit's own otlpkit.* metrics not shown)",
        last.len()
    );
    for (_, line) in last {
        let _ = writeln!(text, "{line}");
    }
    text
}

/// The span tree, one line per span: indented by depth, with the kind (when
/// not internal), the duration and the status.
pub fn tree(tree: &SpanTree) -> String {
    let mut text = String::new();
    let mut trace = None;
    for (depth, node) in tree.nodes() {
        let span = &node.span;
        if depth == 0 && trace.as_deref() != Some(span.trace_id_hex().as_str()) {
            let _ = writeln!(text, "trace {}", span.trace_id_hex());
            trace = Some(span.trace_id_hex());
        }
        let kind = match span.kind() {
            SpanKind::Server => " [server]",
            SpanKind::Client => " [client]",
            SpanKind::Producer => " [producer]",
            SpanKind::Consumer => " [consumer]",
            _ => "",
        };
        let status = match span.status_code() {
            StatusCode::Error => {
                let message = span.span.status.as_ref().map_or("", |s| s.message.as_str());
                format!("  ERROR {message}")
            }
            StatusCode::Ok => "  ok".to_owned(),
            _ => String::new(),
        };
        let _ = writeln!(
            text,
            "{}{}{kind}  {:.3?}{status}",
            "  ".repeat(depth + 1),
            span.name(),
            span.duration()
        );
    }
    text
}

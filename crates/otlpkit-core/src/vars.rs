//! Names of every environment variable otlpkit reads.
//!
//! The `OTEL_*` names are the ones defined by the OpenTelemetry specification;
//! the `OTLPKIT_*` names are otlpkit extensions (see `docs/CONFIGURATION.md`).
//! [`ALL`] lists every name, in the order of this module.

// ---------------------------------------------------------------------------
// General SDK configuration (checklist 4.1–4.9)
// ---------------------------------------------------------------------------

/// `true` disables the SDK for all signals (Boolean, default `false`).
pub const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
/// Resource attributes as `k1=v1,k2=v2`, percent-encoded.
pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
/// The `service.name` resource attribute; wins over `OTEL_RESOURCE_ATTRIBUTES`.
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// otlpkit extension: `off` leaves the detected host, OS, process, runtime and
/// container attributes out of the resource (default `on`).
pub const OTLPKIT_RESOURCE_DETECTION: &str = "OTLPKIT_RESOURCE_DETECTION";
/// Level of the SDK's own diagnostics (default `info`).
pub const OTEL_LOG_LEVEL: &str = "OTEL_LOG_LEVEL";
/// Comma-separated propagators (default `tracecontext,baggage`).
pub const OTEL_PROPAGATORS: &str = "OTEL_PROPAGATORS";
/// Trace sampler (default `parentbased_always_on`).
pub const OTEL_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
/// Argument of the trace sampler; only read when [`OTEL_TRACES_SAMPLER`] is set.
pub const OTEL_TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
/// Path of a declarative configuration file. When set, every other variable is ignored.
pub const OTEL_CONFIG_FILE: &str = "OTEL_CONFIG_FILE";
/// Older name of [`OTEL_CONFIG_FILE`], treated the same way.
pub const OTEL_EXPERIMENTAL_CONFIG_FILE: &str = "OTEL_EXPERIMENTAL_CONFIG_FILE";

// ---------------------------------------------------------------------------
// Exporter selection (checklist 4.7)
// ---------------------------------------------------------------------------

/// Trace exporters (default `otlp`).
pub const OTEL_TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
/// Metric exporters (default `otlp`).
pub const OTEL_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
/// Log exporters (default `otlp`).
pub const OTEL_LOGS_EXPORTER: &str = "OTEL_LOGS_EXPORTER";

// ---------------------------------------------------------------------------
// Batch span processor (checklist 3.1)
// ---------------------------------------------------------------------------

/// Delay between two consecutive span exports, milliseconds (default 5000).
pub const OTEL_BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
/// Maximum time one span export may take, milliseconds, `0` = no limit (default 30000).
pub const OTEL_BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
/// Span queue capacity (default 2048).
pub const OTEL_BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
/// Maximum spans per export (default 512, at most the queue size).
pub const OTEL_BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
/// otlpkit extension: what the span queue does when full (`drop_newest`, `drop_oldest`, `block`).
pub const OTLPKIT_BSP_OVERFLOW: &str = "OTLPKIT_BSP_OVERFLOW";
/// otlpkit extension: how long `block` waits for room in the span queue, milliseconds (default 1000).
pub const OTLPKIT_BSP_BLOCK_TIMEOUT: &str = "OTLPKIT_BSP_BLOCK_TIMEOUT";
/// otlpkit extension: how `otlpkit::init()` prints `tracing` events on standard error
/// (`full`, `compact`, `pretty`, `json`, `off`; default `full`).
pub const OTLPKIT_LOG_FORMAT: &str = "OTLPKIT_LOG_FORMAT";
/// otlpkit extension: export otlpkit's own `otlpkit.exporter.*` metrics (Boolean, default false).
pub const OTLPKIT_SELF_METRICS: &str = "OTLPKIT_SELF_METRICS";
/// otlpkit extension: span export calls allowed at once (default 1; more only for
/// exporters safe to call concurrently, as otlpkit's are).
pub const OTLPKIT_BSP_MAX_CONCURRENT_EXPORTS: &str = "OTLPKIT_BSP_MAX_CONCURRENT_EXPORTS";
/// otlpkit extension: a byte bound on the span queue beside the item bound (default none).
pub const OTLPKIT_BSP_MAX_QUEUE_BYTES: &str = "OTLPKIT_BSP_MAX_QUEUE_BYTES";

// ---------------------------------------------------------------------------
// Batch log record processor (checklist 3.2)
// ---------------------------------------------------------------------------

/// Delay between two consecutive log exports, milliseconds (default 1000).
pub const OTEL_BLRP_SCHEDULE_DELAY: &str = "OTEL_BLRP_SCHEDULE_DELAY";
/// Maximum time one log export may take, milliseconds, `0` = no limit (default 30000).
pub const OTEL_BLRP_EXPORT_TIMEOUT: &str = "OTEL_BLRP_EXPORT_TIMEOUT";
/// Log record queue capacity (default 2048).
pub const OTEL_BLRP_MAX_QUEUE_SIZE: &str = "OTEL_BLRP_MAX_QUEUE_SIZE";
/// Maximum log records per export (default 512, at most the queue size).
pub const OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE";
/// otlpkit extension: what the log queue does when full (`drop_newest`, `drop_oldest`, `block`).
pub const OTLPKIT_BLRP_OVERFLOW: &str = "OTLPKIT_BLRP_OVERFLOW";
/// otlpkit extension: how long `block` waits for room in the log queue, milliseconds (default 1000).
pub const OTLPKIT_BLRP_BLOCK_TIMEOUT: &str = "OTLPKIT_BLRP_BLOCK_TIMEOUT";
/// otlpkit extension: log export calls allowed at once (default 1).
pub const OTLPKIT_BLRP_MAX_CONCURRENT_EXPORTS: &str = "OTLPKIT_BLRP_MAX_CONCURRENT_EXPORTS";
/// otlpkit extension: a byte bound on the log queue beside the item bound (default none).
pub const OTLPKIT_BLRP_MAX_QUEUE_BYTES: &str = "OTLPKIT_BLRP_MAX_QUEUE_BYTES";

// ---------------------------------------------------------------------------
// Tail sampling (otlpkit extension)
// ---------------------------------------------------------------------------

/// otlpkit extension: `on` puts the tail-sampling stage in front of the span
/// queue (`on` | `off`, default `off`).
pub const OTLPKIT_TAIL_SAMPLING: &str = "OTLPKIT_TAIL_SAMPLING";
/// otlpkit extension: keep a trace with a span slower than this, milliseconds
/// (default 1000; `0` turns the latency policy off).
pub const OTLPKIT_TAIL_SAMPLING_LATENCY_MS: &str = "OTLPKIT_TAIL_SAMPLING_LATENCY_MS";
/// otlpkit extension: the ratio of the other traces kept, in `[0, 1]`, decided on
/// the trace id (default 0.1).
pub const OTLPKIT_TAIL_SAMPLING_RATIO: &str = "OTLPKIT_TAIL_SAMPLING_RATIO";
/// otlpkit extension: the longest a trace is held waiting for its local root,
/// milliseconds ≥ 1 (default 30000).
pub const OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS: &str = "OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS";
/// otlpkit extension: undecided traces held at once, ≥ 1 (default 10000).
pub const OTLPKIT_TAIL_SAMPLING_MAX_TRACES: &str = "OTLPKIT_TAIL_SAMPLING_MAX_TRACES";

// ---------------------------------------------------------------------------
// Attribute, span and log record limits (checklist 4.8)
// ---------------------------------------------------------------------------

/// General attribute value length limit (default: no limit).
pub const OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
/// General attribute count limit (default 128).
pub const OTEL_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_ATTRIBUTE_COUNT_LIMIT";
/// Span attribute value length limit (default: no limit).
pub const OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
/// Span attribute count limit (default 128).
pub const OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
/// Span event count limit (default 128).
pub const OTEL_SPAN_EVENT_COUNT_LIMIT: &str = "OTEL_SPAN_EVENT_COUNT_LIMIT";
/// Span link count limit (default 128).
pub const OTEL_SPAN_LINK_COUNT_LIMIT: &str = "OTEL_SPAN_LINK_COUNT_LIMIT";
/// Attributes per span event limit (default 128).
pub const OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT";
/// Attributes per span link limit (default 128).
pub const OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT";
/// Log record attribute count limit (default 128).
pub const OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT";
/// Log record attribute value length limit (default: no limit).
pub const OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str =
    "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT";

// ---------------------------------------------------------------------------
// OTLP exporter, all signals (checklist 1.2–1.13)
// ---------------------------------------------------------------------------

/// Endpoint for all signals; OTLP/HTTP appends `v1/<signal>`.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// Transport protocol for all signals: `grpc`, `http/protobuf` (default), `http/json`.
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// Request headers for all signals, `k1=v1,k2=v2`.
pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
/// Export timeout for all signals, milliseconds, `0` = no limit (default 10000).
pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// Compression for all signals: `none` (default), `gzip`, and the otlpkit extension `zstd`.
pub const OTEL_EXPORTER_OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
/// Trusted CA certificate file for all signals.
pub const OTEL_EXPORTER_OTLP_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
/// Client private key file (PEM, mTLS) for all signals.
pub const OTEL_EXPORTER_OTLP_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
/// Client certificate chain file (PEM, mTLS) for all signals.
pub const OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
/// Plaintext for a scheme-less gRPC endpoint, all signals (Boolean, default `false`).
pub const OTEL_EXPORTER_OTLP_INSECURE: &str = "OTEL_EXPORTER_OTLP_INSECURE";

// ---------------------------------------------------------------------------
// OTLP exporter, traces
// ---------------------------------------------------------------------------

/// Trace endpoint, used as-is.
pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// Trace protocol.
pub const OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
/// Trace headers (replace the general ones entirely).
pub const OTEL_EXPORTER_OTLP_TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
/// Trace export timeout, milliseconds.
pub const OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
/// Trace compression.
pub const OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
/// Trace CA certificate file.
pub const OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
/// Trace client key file.
pub const OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY";
/// Trace client certificate file.
pub const OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: &str =
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE";
/// Trace insecure flag.
pub const OTEL_EXPORTER_OTLP_TRACES_INSECURE: &str = "OTEL_EXPORTER_OTLP_TRACES_INSECURE";

// ---------------------------------------------------------------------------
// OTLP exporter, metrics
// ---------------------------------------------------------------------------

/// Metric endpoint, used as-is.
pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
/// Metric protocol.
pub const OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
/// Metric headers (replace the general ones entirely).
pub const OTEL_EXPORTER_OTLP_METRICS_HEADERS: &str = "OTEL_EXPORTER_OTLP_METRICS_HEADERS";
/// Metric export timeout, milliseconds.
pub const OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";
/// Metric compression.
pub const OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION";
/// Metric CA certificate file.
pub const OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE";
/// Metric client key file.
pub const OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY";
/// Metric client certificate file.
pub const OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE: &str =
    "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE";
/// Metric insecure flag.
pub const OTEL_EXPORTER_OTLP_METRICS_INSECURE: &str = "OTEL_EXPORTER_OTLP_METRICS_INSECURE";

// ---------------------------------------------------------------------------
// OTLP exporter, logs
// ---------------------------------------------------------------------------

/// Log endpoint, used as-is.
pub const OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";
/// Log protocol.
pub const OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL";
/// Log headers (replace the general ones entirely).
pub const OTEL_EXPORTER_OTLP_LOGS_HEADERS: &str = "OTEL_EXPORTER_OTLP_LOGS_HEADERS";
/// Log export timeout, milliseconds.
pub const OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT";
/// Log compression.
pub const OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION";
/// Log CA certificate file.
pub const OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE";
/// Log client key file.
pub const OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY";
/// Log client certificate file.
pub const OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE: &str =
    "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE";
/// Log insecure flag.
pub const OTEL_EXPORTER_OTLP_LOGS_INSECURE: &str = "OTEL_EXPORTER_OTLP_LOGS_INSECURE";

/// Obsolete name of [`OTEL_EXPORTER_OTLP_TRACES_INSECURE`]; not read, only reported.
pub const OTEL_EXPORTER_OTLP_SPAN_INSECURE: &str = "OTEL_EXPORTER_OTLP_SPAN_INSECURE";
/// Obsolete name of [`OTEL_EXPORTER_OTLP_METRICS_INSECURE`]; not read, only reported.
pub const OTEL_EXPORTER_OTLP_METRIC_INSECURE: &str = "OTEL_EXPORTER_OTLP_METRIC_INSECURE";

// ---------------------------------------------------------------------------
// Metrics (checklist 3.10–3.12)
// ---------------------------------------------------------------------------

/// Time between the starts of two metric export attempts, milliseconds (default 60000).
pub const OTEL_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
/// Maximum time one metric export may take, milliseconds, `0` = no limit (default 30000).
pub const OTEL_METRIC_EXPORT_TIMEOUT: &str = "OTEL_METRIC_EXPORT_TIMEOUT";
/// Temporality preference: `cumulative` (default), `delta`, `lowmemory`.
pub const OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: &str =
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
/// Default histogram aggregation: `explicit_bucket_histogram` (default) or
/// `base2_exponential_bucket_histogram`.
pub const OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: &str =
    "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION";
/// Exemplar filter: `trace_based` (default), `always_on`, `always_off`.
pub const OTEL_METRICS_EXEMPLAR_FILTER: &str = "OTEL_METRICS_EXEMPLAR_FILTER";

// ---------------------------------------------------------------------------
// Disk spool (otlpkit extension, docs/SPOOL.md)
// ---------------------------------------------------------------------------

/// otlpkit extension: the directory of the disk spool that keeps batches the
/// collector cannot take (default: unset, no spool).
pub const OTLPKIT_SPOOL_DIR: &str = "OTLPKIT_SPOOL_DIR";
/// otlpkit extension: the most bytes the spool may take on disk (default 268435456).
pub const OTLPKIT_SPOOL_MAX_BYTES: &str = "OTLPKIT_SPOOL_MAX_BYTES";
/// otlpkit extension: when the spool forces writes to disk: `always`, `never`,
/// or at most every N milliseconds (default 1000).
pub const OTLPKIT_SPOOL_FSYNC: &str = "OTLPKIT_SPOOL_FSYNC";

/// Every variable listed in this module.
pub const ALL: &[&str] = &[
    OTEL_SDK_DISABLED,
    OTEL_RESOURCE_ATTRIBUTES,
    OTEL_SERVICE_NAME,
    OTLPKIT_RESOURCE_DETECTION,
    OTEL_LOG_LEVEL,
    OTEL_PROPAGATORS,
    OTEL_TRACES_SAMPLER,
    OTEL_TRACES_SAMPLER_ARG,
    OTEL_CONFIG_FILE,
    OTEL_EXPERIMENTAL_CONFIG_FILE,
    OTEL_TRACES_EXPORTER,
    OTEL_METRICS_EXPORTER,
    OTEL_LOGS_EXPORTER,
    OTEL_BSP_SCHEDULE_DELAY,
    OTEL_BSP_EXPORT_TIMEOUT,
    OTEL_BSP_MAX_QUEUE_SIZE,
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    OTLPKIT_BSP_OVERFLOW,
    OTLPKIT_BSP_BLOCK_TIMEOUT,
    OTLPKIT_BSP_MAX_CONCURRENT_EXPORTS,
    OTLPKIT_BSP_MAX_QUEUE_BYTES,
    OTLPKIT_LOG_FORMAT,
    OTLPKIT_SELF_METRICS,
    OTEL_BLRP_SCHEDULE_DELAY,
    OTEL_BLRP_EXPORT_TIMEOUT,
    OTEL_BLRP_MAX_QUEUE_SIZE,
    OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
    OTLPKIT_BLRP_OVERFLOW,
    OTLPKIT_BLRP_BLOCK_TIMEOUT,
    OTLPKIT_BLRP_MAX_CONCURRENT_EXPORTS,
    OTLPKIT_BLRP_MAX_QUEUE_BYTES,
    OTLPKIT_TAIL_SAMPLING,
    OTLPKIT_TAIL_SAMPLING_LATENCY_MS,
    OTLPKIT_TAIL_SAMPLING_RATIO,
    OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS,
    OTLPKIT_TAIL_SAMPLING_MAX_TRACES,
    OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    OTEL_ATTRIBUTE_COUNT_LIMIT,
    OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT,
    OTEL_SPAN_EVENT_COUNT_LIMIT,
    OTEL_SPAN_LINK_COUNT_LIMIT,
    OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
    OTEL_LINK_ATTRIBUTE_COUNT_LIMIT,
    OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT,
    OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_HEADERS,
    OTEL_EXPORTER_OTLP_TIMEOUT,
    OTEL_EXPORTER_OTLP_COMPRESSION,
    OTEL_EXPORTER_OTLP_CERTIFICATE,
    OTEL_EXPORTER_OTLP_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_INSECURE,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_HEADERS,
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
    OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
    OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_TRACES_INSECURE,
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    OTEL_EXPORTER_OTLP_METRICS_HEADERS,
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
    OTEL_EXPORTER_OTLP_METRICS_COMPRESSION,
    OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
    OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_METRICS_INSECURE,
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
    OTEL_EXPORTER_OTLP_LOGS_HEADERS,
    OTEL_EXPORTER_OTLP_LOGS_TIMEOUT,
    OTEL_EXPORTER_OTLP_LOGS_COMPRESSION,
    OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE,
    OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_LOGS_INSECURE,
    OTEL_EXPORTER_OTLP_SPAN_INSECURE,
    OTEL_EXPORTER_OTLP_METRIC_INSECURE,
    OTEL_METRIC_EXPORT_INTERVAL,
    OTEL_METRIC_EXPORT_TIMEOUT,
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
    OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
    OTEL_METRICS_EXEMPLAR_FILTER,
    OTLPKIT_SPOOL_DIR,
    OTLPKIT_SPOOL_MAX_BYTES,
    OTLPKIT_SPOOL_FSYNC,
];

/// Whether the value of `var` must be treated as secret (header lists).
pub(crate) fn is_secret(var: &str) -> bool {
    var.ends_with("_HEADERS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_equals_its_value_and_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for name in ALL {
            assert!(name.starts_with("OTEL_") || name.starts_with("OTLPKIT_"));
            assert!(seen.insert(*name), "{name} listed twice");
        }
        assert_eq!(ALL.len(), 92);
    }

    #[test]
    fn header_variables_are_secret_and_others_are_not() {
        assert!(is_secret(OTEL_EXPORTER_OTLP_HEADERS));
        assert!(is_secret(OTEL_EXPORTER_OTLP_LOGS_HEADERS));
        assert!(!is_secret(OTEL_EXPORTER_OTLP_ENDPOINT));
        assert!(!is_secret(OTEL_RESOURCE_ATTRIBUTES));
    }
}

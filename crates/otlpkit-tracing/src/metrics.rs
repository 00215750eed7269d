//! The HTTP request duration histograms of the semantic conventions,
//! recorded through the OpenTelemetry metrics API by
//! [`HttpServerLayer`](crate::server::HttpServerLayer) and the reqwest
//! helpers of [`client`](crate::client).
//!
//! | instrument | recorded by | attributes |
//! |---|---|---|
//! | [`HTTP_SERVER_REQUEST_DURATION`] (`s`) | the server layer, when the response is ready | `http.request.method`, `url.scheme`, `http.route`, `http.response.status_code`, `error.type`, `network.protocol.version` |
//! | [`HTTP_CLIENT_REQUEST_DURATION`] (`s`) | the reqwest helpers, when the response headers arrived | `http.request.method`, `server.address`, `server.port`, `http.response.status_code`, `error.type`, `network.protocol.version` |
//!
//! Both use the conventions' bucket boundaries, [`DURATION_BOUNDARIES`]
//! (advisory: a view can replace them), under the instrumentation scope
//! [`SCOPE_NAME`]. Unless a layer is given a meter of its own
//! (`with_meter`), the instruments come from the global meter provider, and
//! follow it when it is replaced: telemetry recorded before
//! `otlpkit::init()` (or `opentelemetry::global::set_meter_provider`) goes
//! to the no-op provider, telemetry after it to the installed one.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry::metrics::{Histogram, Meter, MeterProvider};
use opentelemetry::{InstrumentationScope, KeyValue, global};

/// `http.server.request.duration`: the time to serve a request, in seconds.
pub const HTTP_SERVER_REQUEST_DURATION: &str = "http.server.request.duration";
/// `http.client.request.duration`: the time of a request until its response
/// headers arrived, in seconds.
pub const HTTP_CLIENT_REQUEST_DURATION: &str = "http.client.request.duration";
/// The bucket boundaries the conventions give both histograms, in seconds.
pub const DURATION_BOUNDARIES: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// The instrumentation scope of the instruments: this crate.
pub const SCOPE_NAME: &str = "otlpkit-tracing";

/// One of the two histograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Instrument {
    Server,
    #[cfg_attr(
        not(feature = "reqwest"),
        expect(dead_code, reason = "recorded by the reqwest helpers only")
    )]
    Client,
}

impl Instrument {
    fn name(self) -> &'static str {
        match self {
            Instrument::Server => HTTP_SERVER_REQUEST_DURATION,
            Instrument::Client => HTTP_CLIENT_REQUEST_DURATION,
        }
    }

    fn description(self) -> &'static str {
        match self {
            Instrument::Server => "Duration of HTTP server requests.",
            Instrument::Client => "Duration of HTTP client requests.",
        }
    }

    /// The histogram on `meter`.
    pub(crate) fn build(self, meter: &Meter) -> Histogram<f64> {
        meter
            .f64_histogram(self.name())
            .with_unit("s")
            .with_description(self.description())
            .with_boundaries(DURATION_BOUNDARIES.to_vec())
            .build()
    }

    /// The histogram of the current global meter provider.
    pub(crate) fn global(self) -> Histogram<f64> {
        static SERVER: GlobalHistogram = GlobalHistogram::new();
        static CLIENT: GlobalHistogram = GlobalHistogram::new();
        match self {
            Instrument::Server => SERVER.get(self),
            Instrument::Client => CLIENT.get(self),
        }
    }
}

/// The meter of this crate's scope on `provider`.
pub(crate) fn meter(provider: &dyn MeterProvider) -> Meter {
    provider.meter_with_scope(
        InstrumentationScope::builder(SCOPE_NAME)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    )
}

type Provider = Arc<dyn MeterProvider + Send + Sync>;

/// A histogram built on the global meter provider, built again when the
/// global provider is replaced (instruments of the no-op provider a program
/// has before `init()` would stay no-ops forever).
struct GlobalHistogram {
    cache: Mutex<Option<(Provider, Histogram<f64>)>>,
}

impl GlobalHistogram {
    const fn new() -> Self {
        Self {
            cache: Mutex::new(None),
        }
    }

    fn get(&self, instrument: Instrument) -> Histogram<f64> {
        let provider = global::meter_provider();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached, histogram)) = &*cache
            && std::ptr::addr_eq(Arc::as_ptr(cached), Arc::as_ptr(&provider))
        {
            return histogram.clone();
        }
        let histogram = instrument.build(&meter(provider.as_ref()));
        *cache = Some((provider, histogram.clone()));
        histogram
    }
}

/// Where a layer records its durations.
#[derive(Clone)]
pub(crate) enum Recorder {
    /// The global meter provider, as it is at each request.
    Global(Instrument),
    /// A histogram made from a meter the caller gave.
    Fixed(Histogram<f64>),
}

impl Recorder {
    pub(crate) fn on_meter(instrument: Instrument, meter: &Meter) -> Self {
        Recorder::Fixed(instrument.build(meter))
    }

    pub(crate) fn record(&self, seconds: f64, attributes: &[KeyValue]) {
        match self {
            Recorder::Global(instrument) => instrument.global().record(seconds, attributes),
            Recorder::Fixed(histogram) => histogram.record(seconds, attributes),
        }
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recorder::Global(instrument) => f.debug_tuple("Global").field(instrument).finish(),
            Recorder::Fixed(_) => f.write_str("Fixed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_the_conventions_and_strictly_increasing() {
        assert_eq!(DURATION_BOUNDARIES[0], 0.005);
        assert_eq!(DURATION_BOUNDARIES[13], 10.0);
        assert!(DURATION_BOUNDARIES.windows(2).all(|w| w[0] < w[1]));
    }
}

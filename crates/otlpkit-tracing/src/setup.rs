//! The one-call subscriber: OpenTelemetry span layer, log bridge, the
//! `RUST_LOG` filter and an optional fmt layer.

use std::borrow::Cow;
use std::fmt;
use std::io::IsTerminal as _;
use std::sync::Arc;

#[cfg(feature = "tracing-opentelemetry")]
use opentelemetry::InstrumentationScope;
#[cfg(feature = "tracing-opentelemetry")]
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::logs::SdkLoggerProvider;
#[cfg(feature = "tracing-opentelemetry")]
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::filter::FilterExt as _;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

use crate::SpanDetails;
use crate::directives::Directives;
use crate::error::SetupError;
use crate::filter::SelfFilter;
use crate::native::NativeSpans;
use crate::text_format::TextEvents;

/// The filter used when neither code nor the environment gives one.
pub const DEFAULT_DIRECTIVES: &str = "info";

/// The environment variable read for filter directives unless changed with
/// [`TracingSetup::with_env_var`].
pub const DEFAULT_FILTER_ENV: &str = "RUST_LOG";

/// Target prefixes kept away from the OpenTelemetry layers by default: the
/// toolkit itself and the crates that carry its exports. Their spans and
/// events still reach the fmt layer.
///
/// An entry matches the target itself and its modules (`hyper` covers
/// `hyper::proto`), never a crate that merely shares the prefix
/// (`tonic_service` or `hyperion` stay visible: they may be the
/// application's own).
pub const DEFAULT_EXCLUDED_TARGETS: &[&str] = &[
    // The toolkit's own crates (module-path targets use underscores).
    "otlpkit",
    "otlpkit_core",
    "otlpkit_bridge",
    "otlpkit_batch",
    "otlpkit_grpc",
    "otlpkit_http",
    "otlpkit_tracing",
    // The OpenTelemetry crates; their internal logs use the package name,
    // hyphens included, as the target.
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry-otlp",
    "opentelemetry_http",
    "opentelemetry-http",
    "opentelemetry_proto",
    "opentelemetry-proto",
    "opentelemetry_appender_tracing",
    "opentelemetry-appender-tracing",
    // The network stack the exporters run on.
    "h2",
    "hyper",
    "hyper_util",
    "hyper_rustls",
    "tonic",
    "reqwest",
    "tower",
    "rustls",
];

/// How the optional fmt layer prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fmt {
    /// No fmt layer (the default): telemetry goes to OpenTelemetry only.
    #[default]
    Off,
    /// `tracing-subscriber`'s default, one line per event.
    Full,
    /// Shorter lines.
    Compact,
    /// Multi-line, human-oriented output.
    Pretty,
    /// One JSON object per line.
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    Json,
}

/// Builds and installs a `tracing` subscriber that sends spans and events to
/// OpenTelemetry.
///
/// The subscriber is composed of:
///
/// - the span layer: the native one ([`with_native_spans`](Self::with_native_spans),
///   [`crate::native`]) or, with the `tracing-opentelemetry` feature (on by
///   default), `tracing-opentelemetry` on the given tracer provider:
///   `tracing` spans become OpenTelemetry spans, and entering one makes its
///   OpenTelemetry context current;
/// - the log bridge ([`LogBridge`](crate::LogBridge)) on the given logger
///   provider: events become log records carrying the trace and span ids of
///   the span they happen in;
/// - a filter in front of every layer, from directives in `RUST_LOG` syntax:
///   directives given in code win, then the environment variable
///   ([`DEFAULT_FILTER_ENV`]), then the default directives
///   ([`DEFAULT_DIRECTIVES`]). Plain `target=level` directives need no
///   feature; directives that filter on spans or fields
///   (`my_app[request]=debug`) take the `env-filter` feature and are refused
///   with [`DirectiveError::EnvFilterNotCompiled`](crate::DirectiveError::EnvFilterNotCompiled)
///   without it;
/// - an optional fmt layer ([`Fmt`]) writing to stderr.
///
/// The OpenTelemetry layers also ignore [`DEFAULT_EXCLUDED_TARGETS`], so the
/// export path never feeds itself.
///
/// The providers stay the caller's: flush and shut them down as usual.
///
/// # Example
///
/// ```no_run
/// use opentelemetry_sdk::logs::SdkLoggerProvider;
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use otlpkit_tracing::{Fmt, TracingSetup};
///
/// let tracer_provider = SdkTracerProvider::builder().build();
/// let logger_provider = SdkLoggerProvider::builder().build();
/// TracingSetup::builder()
///     .with_tracer_provider(&tracer_provider)
///     .with_logger_provider(&logger_provider)
///     .with_fmt(Fmt::Compact)
///     .try_init()?;
/// # Ok::<(), otlpkit_tracing::SetupError>(())
/// ```
pub struct TracingSetup {
    #[cfg(feature = "tracing-opentelemetry")]
    tracer_provider: Option<SdkTracerProvider>,
    native: Option<NativeSpans>,
    span_details: Option<SpanDetails>,
    logger_provider: Option<SdkLoggerProvider>,
    scope_name: Cow<'static, str>,
    directives: Option<String>,
    default_directives: String,
    env_var: Option<String>,
    fmt: Fmt,
    writer: Option<BoxMakeWriter>,
    excluded: Vec<String>,
}

impl fmt::Debug for TracingSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("TracingSetup");
        #[cfg(feature = "tracing-opentelemetry")]
        debug.field("tracer_provider", &self.tracer_provider.is_some());
        debug
            .field("native", &self.native)
            .field("span_details", &self.span_details)
            .field("logger_provider", &self.logger_provider.is_some())
            .field("scope_name", &self.scope_name)
            .field("directives", &self.directives)
            .field("default_directives", &self.default_directives)
            .field("env_var", &self.env_var)
            .field("fmt", &self.fmt)
            .field("custom_writer", &self.writer.is_some())
            .field("excluded", &self.excluded)
            .finish()
    }
}

impl Default for TracingSetup {
    fn default() -> Self {
        Self::builder()
    }
}

impl TracingSetup {
    /// A setup with no providers, the default filter and no fmt layer.
    pub fn builder() -> Self {
        Self {
            #[cfg(feature = "tracing-opentelemetry")]
            tracer_provider: None,
            native: None,
            span_details: None,
            logger_provider: None,
            scope_name: Cow::Borrowed(env!("CARGO_PKG_NAME")),
            directives: None,
            default_directives: DEFAULT_DIRECTIVES.to_owned(),
            env_var: Some(DEFAULT_FILTER_ENV.to_owned()),
            fmt: Fmt::Off,
            writer: None,
            excluded: DEFAULT_EXCLUDED_TARGETS
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
        }
    }

    /// Sends `tracing` spans to this provider (the handle is cloned) through
    /// `tracing-opentelemetry`.
    #[cfg(feature = "tracing-opentelemetry")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing-opentelemetry")))]
    pub fn with_tracer_provider(mut self, provider: &SdkTracerProvider) -> Self {
        self.tracer_provider = Some(provider.clone());
        self
    }

    /// Records `tracing` spans with the native layer ([`crate::native`])
    /// instead of `tracing-opentelemetry`: the same spans on the wire at a
    /// fraction of the cost. It wins over
    /// [`with_tracer_provider`](Self::with_tracer_provider), whose provider
    /// then serves only code that uses the OpenTelemetry API; keep the
    /// `tracing-opentelemetry` path (no native spans) when you need SDK span
    /// processors of your own to see `tracing` spans.
    ///
    /// The spans' instrumentation scope is [`with_scope_name`](Self::with_scope_name)'s
    /// (with this crate's version), unless [`NativeSpans::with_scope`] set
    /// one. A `NativeSpans` disabled by `OTEL_SDK_DISABLED` installs no span
    /// layer.
    pub fn with_native_spans(mut self, native: NativeSpans) -> Self {
        self.native = Some(native);
        self
    }

    /// The attributes spans carry beyond their own fields (`code.*`,
    /// `thread.*`, `target`, `level`, `busy_ns`/`idle_ns`), on whichever
    /// span path is installed: the native layer's settings, or
    /// `tracing-opentelemetry`'s layer options. Without this call each
    /// path keeps its own (by default the same, [`SpanDetails::default`]).
    ///
    /// ```
    /// use otlpkit_tracing::{SpanDetails, TracingSetup};
    ///
    /// let setup = TracingSetup::builder().with_span_details(SpanDetails::lean());
    /// # drop(setup);
    /// ```
    pub fn with_span_details(mut self, details: SpanDetails) -> Self {
        self.span_details = Some(details);
        self
    }

    /// Sends `tracing` events to this provider as log records (the handle is
    /// cloned).
    pub fn with_logger_provider(mut self, provider: &SdkLoggerProvider) -> Self {
        self.logger_provider = Some(provider.clone());
        self
    }

    /// The instrumentation scope name of the spans (default
    /// `otlpkit-tracing`).
    pub fn with_scope_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.scope_name = name.into();
        self
    }

    /// Filter directives (`RUST_LOG` syntax) that win over the environment.
    pub fn with_directives(mut self, directives: impl Into<String>) -> Self {
        self.directives = Some(directives.into());
        self
    }

    /// The directives used when neither [`with_directives`](Self::with_directives)
    /// nor the environment variable gives any (default [`DEFAULT_DIRECTIVES`]).
    pub fn with_default_directives(mut self, directives: impl Into<String>) -> Self {
        self.default_directives = directives.into();
        self
    }

    /// Reads filter directives from `variable` instead of
    /// [`DEFAULT_FILTER_ENV`]. An unset or empty variable means the defaults.
    pub fn with_env_var(mut self, variable: impl Into<String>) -> Self {
        self.env_var = Some(variable.into());
        self
    }

    /// Ignores the environment: only directives given in code apply.
    pub fn without_env(mut self) -> Self {
        self.env_var = None;
        self
    }

    /// Adds a fmt layer (default [`Fmt::Off`]).
    pub fn with_fmt(mut self, fmt: Fmt) -> Self {
        self.fmt = fmt;
        self
    }

    /// Where the fmt layer writes (default: stderr, colored when it is a
    /// terminal). Output to a custom writer is never colored.
    pub fn with_fmt_writer<W>(mut self, writer: W) -> Self
    where
        W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
    {
        self.writer = Some(BoxMakeWriter::new(writer));
        self
    }

    /// Keeps targets starting with `prefix` away from the OpenTelemetry
    /// layers too (matched like [`DEFAULT_EXCLUDED_TARGETS`]).
    pub fn with_excluded_target(mut self, prefix: impl Into<String>) -> Self {
        self.excluded.push(prefix.into());
        self
    }

    /// Drops the default exclusions: every target reaches the OpenTelemetry
    /// layers. Only safe when the export path itself emits no telemetry.
    pub fn without_default_exclusions(mut self) -> Self {
        self.excluded
            .retain(|t| !DEFAULT_EXCLUDED_TARGETS.contains(&t.as_str()));
        self
    }

    /// The filter directives that apply, by precedence: code, environment,
    /// defaults.
    ///
    /// # Errors
    ///
    /// When the chosen directives do not parse, or the variable is not
    /// Unicode.
    pub fn resolved_directives(&self) -> Result<String, SetupError> {
        self.resolve().map(|(text, _)| text)
    }

    /// [`resolved_directives`](Self::resolved_directives) and what they
    /// parse to, parsed once.
    fn resolve(&self) -> Result<(String, Directives), SetupError> {
        if let Some(directives) = &self.directives {
            return checked(directives, None);
        }
        if let Some(variable) = &self.env_var {
            match std::env::var(variable) {
                Ok(value) if !value.trim().is_empty() => return checked(&value, Some(variable)),
                Ok(_) | Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(SetupError::EnvNotUnicode {
                        variable: variable.clone(),
                    });
                }
            }
        }
        checked(&self.default_directives, None)
    }

    /// Builds the composed layer, for a subscriber the caller assembles.
    ///
    /// ```no_run
    /// use tracing_subscriber::layer::SubscriberExt as _;
    /// use tracing_subscriber::util::SubscriberInitExt as _;
    ///
    /// # let tracer_provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// let otel = otlpkit_tracing::TracingSetup::builder()
    ///     .with_tracer_provider(&tracer_provider)
    ///     .layer()?;
    /// tracing_subscriber::registry().with(otel).init();
    /// # Ok::<(), otlpkit_tracing::SetupError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// See [`resolved_directives`](Self::resolved_directives).
    pub fn layer<S>(self) -> Result<Box<dyn Layer<S> + Send + Sync + 'static>, SetupError>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let (text, directives) = self.resolve()?;
        let filter = || {
            directives
                .filter::<S>()
                .map_err(|source| SetupError::InvalidDirectives {
                    directives: text.clone(),
                    source,
                })
        };
        let excluded = SelfFilter::new(Arc::from(self.excluded));
        let mut layers: Vec<Box<dyn Layer<S> + Send + Sync>> = Vec::new();

        if let Some(native) = self.native {
            let native = match self.span_details {
                Some(details) => native.with_details(details),
                None => native,
            };
            if !native.is_disabled() {
                layers.push(
                    native
                        .layer_with_default_name(self.scope_name.clone())
                        .with_filter(filter()?.and(excluded.clone()))
                        .boxed(),
                );
            }
        } else {
            #[cfg(feature = "tracing-opentelemetry")]
            if let Some(provider) = &self.tracer_provider {
                let scope = InstrumentationScope::builder(self.scope_name.clone())
                    .with_version(env!("CARGO_PKG_VERSION"))
                    .build();
                let tracer = provider.tracer_with_scope(scope);
                let mut layer = tracing_opentelemetry::layer().with_tracer(tracer);
                if let Some(details) = self.span_details {
                    layer = layer
                        .with_location(details.location)
                        .with_threads(details.threads)
                        .with_target(details.target)
                        .with_level(details.level)
                        .with_tracked_inactivity(details.busy_idle);
                }
                layers.push(layer.with_filter(filter()?.and(excluded.clone())).boxed());
            }
        }
        if let Some(provider) = &self.logger_provider {
            layers.push(
                crate::LogBridge::new(provider)
                    .with_filter(filter()?.and(excluded))
                    .boxed(),
            );
        }
        let custom_writer = self.writer.is_some();
        let writer = self
            .writer
            .unwrap_or_else(|| BoxMakeWriter::new(std::io::stderr));
        let ansi = !custom_writer && std::io::stderr().is_terminal();
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi);
        // The text formats share one layer type (see `text_format`).
        let text = match self.fmt {
            Fmt::Off => None,
            Fmt::Full => Some(TextEvents::full()),
            Fmt::Compact => Some(TextEvents::compact()),
            Fmt::Pretty => Some(TextEvents::pretty()),
            #[cfg(feature = "json")]
            Fmt::Json => {
                layers.push(fmt.json().with_filter(filter()?).boxed());
                return Ok(Box::new(layers));
            }
        };
        if let Some((events, fields)) = text {
            layers.push(
                fmt.event_format(events)
                    .fmt_fields(fields)
                    .with_filter(filter()?)
                    .boxed(),
            );
        }
        Ok(Box::new(layers))
    }

    /// [`layer`](Self::layer) for a subscriber on the plain
    /// [`Registry`], as `otlpkit::init()` and [`try_init`](Self::try_init)
    /// build it. Not generic: the composed layer (the span path, the log
    /// bridge, the filters and the fmt layer in each of its formats) is
    /// compiled once, in this crate, instead of again in every crate that
    /// builds one.
    ///
    /// # Errors
    ///
    /// See [`resolved_directives`](Self::resolved_directives).
    #[inline(never)]
    pub fn registry_layer(
        self,
    ) -> Result<Box<dyn Layer<Registry> + Send + Sync + 'static>, SetupError> {
        self.layer::<Registry>()
    }

    /// Installs the subscriber as the global default.
    ///
    /// # Errors
    ///
    /// [`SetupError::AlreadyInstalled`] when a global subscriber exists, and
    /// the errors of [`layer`](Self::layer).
    pub fn try_init(self) -> Result<(), SetupError> {
        let subscriber = tracing_subscriber::registry().with(self.registry_layer()?);
        tracing::subscriber::set_global_default(subscriber).map_err(SetupError::AlreadyInstalled)
    }

    /// [`try_init`](Self::try_init) for programs that want no error handling:
    /// a failure is reported on stderr and leaves the process without this
    /// subscriber, never panics.
    pub fn init(self) {
        if let Err(error) = self.try_init() {
            eprintln!("otlpkit-tracing: the tracing subscriber was not installed: {error}");
        }
    }
}

/// Parses `directives`; an error names the variable they came from.
fn checked(directives: &str, variable: Option<&str>) -> Result<(String, Directives), SetupError> {
    match Directives::parse(directives) {
        Ok(parsed) => Ok((directives.to_owned(), parsed)),
        Err(source) => Err(match variable {
            Some(variable) => SetupError::InvalidEnvFilter {
                variable: variable.to_owned(),
                value: directives.to_owned(),
                source,
            },
            None => SetupError::InvalidDirectives {
                directives: directives.to_owned(),
                source,
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_directives_win_and_bad_ones_name_the_value() {
        let setup = TracingSetup::builder()
            .with_env_var("OTLPKIT_TRACING_TEST_UNSET_VARIABLE")
            .with_directives("warn,my_app=debug");
        assert_eq!(setup.resolved_directives().unwrap(), "warn,my_app=debug");

        let error = TracingSetup::builder()
            .with_directives("my_app=notalevel")
            .resolved_directives()
            .unwrap_err();
        assert!(
            matches!(&error, SetupError::InvalidDirectives { directives, .. } if directives == "my_app=notalevel"),
            "{error:?}"
        );
        assert!(error.to_string().contains("my_app=notalevel"), "{error}");
    }

    #[test]
    fn an_unset_variable_falls_back_to_the_default_directives() {
        let setup = TracingSetup::builder()
            .with_env_var("OTLPKIT_TRACING_TEST_UNSET_VARIABLE")
            .with_default_directives("debug");
        assert_eq!(setup.resolved_directives().unwrap(), "debug");
        let bad_default = TracingSetup::builder()
            .without_env()
            .with_default_directives("x=[");
        assert!(bad_default.resolved_directives().is_err());
    }

    #[test]
    fn exclusions_can_be_extended_and_dropped() {
        let setup = TracingSetup::builder()
            .with_excluded_target("noisy")
            .without_default_exclusions();
        assert_eq!(setup.excluded, ["noisy"]);
        assert!(format!("{setup:?}").contains("noisy"));
    }
}

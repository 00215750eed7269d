//! Batch processors, metric reader, resource and general SDK settings resolved
//! end-to-end through `OtlpConfig` (checklist §3, §4).

use std::time::Duration;

use otlpkit_core::{
    BatchConfig, ConfigWarning, ExporterKind, HistogramAggregation, InstrumentKind, LimitKind,
    LogLevel, MapEnv, MetricReaderConfig, OtlpConfig, OverflowPolicy, Propagator, ResourceConfig,
    Sampler, SdkConfig, Signal, Source, Temporality, TemporalityPreference,
};

#[test]
fn batch_span_processor_defaults_and_variables() {
    // checklist 3.1
    let config = OtlpConfig::from_env(&MapEnv::new()).unwrap().value;
    let bsp = config.span_batch();
    assert_eq!(bsp.schedule_delay(), Duration::from_millis(5000));
    assert_eq!(bsp.export_timeout(), Some(Duration::from_millis(30_000)));
    assert_eq!(bsp.max_queue_size(), 2048);
    assert_eq!(bsp.max_export_batch_size(), 512);

    let env = MapEnv::from([
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "200"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "300"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "300"),
    ]);
    let config = OtlpConfig::from_env(&env).unwrap().value;
    let bsp = config.span_batch();
    assert_eq!(bsp.schedule_delay(), Duration::from_millis(100));
    assert_eq!(bsp.export_timeout(), Some(Duration::from_millis(200)));
    assert_eq!(bsp.max_queue_size(), 300);
    assert_eq!(bsp.max_export_batch_size(), 300);
    // The log processor keeps its own defaults.
    assert_eq!(config.log_batch().max_queue_size(), 2048);
}

#[test]
fn batch_log_record_processor_defaults_and_variables() {
    // checklist 3.2
    let config = OtlpConfig::from_env(&MapEnv::new()).unwrap().value;
    let blrp = config.log_batch();
    assert_eq!(blrp.schedule_delay(), Duration::from_millis(1000));
    assert_eq!(blrp.export_timeout(), Some(Duration::from_millis(30_000)));
    assert_eq!(blrp.max_queue_size(), 2048);
    assert_eq!(blrp.max_export_batch_size(), 512);

    let env = MapEnv::from([
        ("OTEL_BLRP_SCHEDULE_DELAY", "10"),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "0"),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "20"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "5"),
    ]);
    let config = OtlpConfig::from_env(&env).unwrap().value;
    let blrp = config.log_batch();
    assert_eq!(blrp.schedule_delay(), Duration::from_millis(10));
    assert_eq!(blrp.export_timeout(), None);
    assert_eq!(blrp.max_queue_size(), 20);
    assert_eq!(blrp.max_export_batch_size(), 5);
    assert_eq!(
        config.span_batch().schedule_delay(),
        Duration::from_millis(5000)
    );
}

#[test]
fn full_queue_policy_defaults_to_drop_newest_for_both_processors() {
    // checklist 3.3
    let config = OtlpConfig::from_env(&MapEnv::new()).unwrap().value;
    assert_eq!(
        config.span_batch().overflow_policy(),
        OverflowPolicy::DropNewest
    );
    assert_eq!(
        config.log_batch().overflow_policy(),
        OverflowPolicy::DropNewest
    );
    let config = OtlpConfig::builder()
        .with_batch(
            BatchConfig::spans().with_overflow_policy(OverflowPolicy::Block {
                timeout: Duration::from_millis(50),
            }),
        )
        .build(&MapEnv::from([("OTLPKIT_BLRP_OVERFLOW", "drop_oldest")]))
        .unwrap()
        .value;
    assert_eq!(
        config.span_batch().overflow_policy(),
        OverflowPolicy::Block {
            timeout: Duration::from_millis(50)
        }
    );
    assert_eq!(
        config.log_batch().overflow_policy(),
        OverflowPolicy::DropOldest
    );
}

#[test]
fn periodic_metric_reader_interval_and_timeout() {
    // checklist 3.10
    let env = MapEnv::from([
        ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "5000"),
    ]);
    let config = OtlpConfig::from_env(&env).unwrap().value;
    assert_eq!(
        config.metric_reader().interval(),
        Duration::from_millis(15_000)
    );
    assert_eq!(
        config.metric_reader().timeout(),
        Some(Duration::from_millis(5000))
    );
    let defaults = OtlpConfig::from_env(&MapEnv::new()).unwrap().value;
    assert_eq!(
        defaults.metric_reader().interval(),
        MetricReaderConfig::DEFAULT_INTERVAL
    );
    assert_eq!(
        defaults.metric_reader().timeout(),
        Some(MetricReaderConfig::DEFAULT_TIMEOUT)
    );
}

#[test]
fn temporality_preference_from_env_drives_the_instrument_table() {
    // checklist 3.11
    let env = MapEnv::from([(
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
        "LOWMEMORY",
    )]);
    let config = OtlpConfig::from_env(&env).unwrap().value;
    let reader = config.metric_reader();
    assert_eq!(
        reader.temporality_preference(),
        TemporalityPreference::LowMemory
    );
    assert_eq!(
        reader.temporality(InstrumentKind::Counter),
        Temporality::Delta
    );
    assert_eq!(
        reader.temporality(InstrumentKind::ObservableCounter),
        Temporality::Cumulative
    );
    assert_eq!(
        reader.temporality(InstrumentKind::Histogram),
        Temporality::Delta
    );
    assert_eq!(
        reader.temporality(InstrumentKind::UpDownCounter),
        Temporality::Cumulative
    );
}

#[test]
fn default_histogram_aggregation_from_env() {
    // checklist 3.11b
    let env = MapEnv::from([(
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
        "base2_exponential_bucket_histogram",
    )]);
    let config = OtlpConfig::from_env(&env).unwrap().value;
    assert_eq!(
        config.metric_reader().histogram_aggregation(),
        HistogramAggregation::Base2ExponentialBucketHistogram
    );
    let resolved = OtlpConfig::from_env(&MapEnv::from([(
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
        "linear",
    )]))
    .unwrap();
    assert_eq!(
        resolved.value.metric_reader().histogram_aggregation(),
        HistogramAggregation::ExplicitBucketHistogram
    );
    assert_eq!(resolved.warnings.len(), 1);
}

#[test]
fn cardinality_limit_defaults_to_2000() {
    // checklist 3.12
    let config = OtlpConfig::from_env(&MapEnv::new()).unwrap().value;
    assert_eq!(config.metric_reader().cardinality_limit(), 2000);
    assert_eq!(
        config.metric_reader().sources().cardinality_limit,
        Source::Default
    );
}

#[test]
fn service_name_variable_wins_over_resource_attributes() {
    // checklist 4.1
    let env = MapEnv::from([
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=from-attributes,deployment.environment=prod",
        ),
        ("OTEL_SERVICE_NAME", "from-variable"),
    ]);
    let config = OtlpConfig::from_env(&env).unwrap().value;
    assert_eq!(config.resource().service_name(), "from-variable");
    assert_eq!(
        config.resource().get("deployment.environment"),
        Some("prod")
    );
}

#[test]
fn resource_attributes_are_decoded_and_a_bad_list_is_dropped_whole() {
    // checklist 4.2
    let env = MapEnv::from([(
        "OTEL_RESOURCE_ATTRIBUTES",
        "team=a%2Cb,note=x%3Dy,%C3%A9=%C3%A9",
    )]);
    let config = OtlpConfig::from_env(&env).unwrap().value;
    assert_eq!(config.resource().get("team"), Some("a,b"));
    assert_eq!(config.resource().get("note"), Some("x=y"));
    assert_eq!(config.resource().get("\u{e9}"), Some("\u{e9}"));

    let env = MapEnv::from([("OTEL_RESOURCE_ATTRIBUTES", "team=ok,broken=%G1")]);
    let resolved = OtlpConfig::from_env(&env).unwrap();
    assert_eq!(resolved.value.resource().get("team"), None);
    assert!(matches!(
        &resolved.warnings[0],
        ConfigWarning::InvalidResourceAttributes {
            var: "OTEL_RESOURCE_ATTRIBUTES",
            ..
        }
    ));
}

#[test]
fn default_resource_has_unknown_service_and_distro_attributes() {
    // checklist 4.3
    let config = OtlpConfig::from_env(&MapEnv::new()).unwrap().value;
    let resource = config.resource();
    assert!(
        resource.service_name().starts_with("unknown_service:"),
        "{}",
        resource.service_name()
    );
    assert_eq!(resource.get("telemetry.distro.name"), Some("otlpkit"));
    assert_eq!(
        resource.get("telemetry.distro.version"),
        Some(otlpkit_core::DISTRO_VERSION)
    );
    let resource = ResourceConfig::builder()
        .with_attribute("telemetry.distro.name", "custom")
        .build(&MapEnv::new())
        .unwrap()
        .value;
    assert_eq!(resource.get("telemetry.distro.name"), Some("custom"));
}

#[test]
fn sdk_disabled_variable() {
    // checklist 4.4
    let config = OtlpConfig::from_env(&MapEnv::from([("OTEL_SDK_DISABLED", "true")]))
        .unwrap()
        .value;
    assert!(config.sdk().disabled());
    assert_eq!(
        config.sdk().propagators(),
        [Propagator::TraceContext, Propagator::Baggage]
    );
    let resolved = OtlpConfig::from_env(&MapEnv::from([("OTEL_SDK_DISABLED", "on")])).unwrap();
    assert!(!resolved.value.sdk().disabled());
    assert_eq!(resolved.warnings[0].var(), "OTEL_SDK_DISABLED");
}

#[test]
fn sampler_and_argument_from_env() {
    // checklist 4.5
    let env = MapEnv::from([
        ("OTEL_TRACES_SAMPLER", "TraceIdRatio"),
        ("OTEL_TRACES_SAMPLER_ARG", " 0.125 "),
    ]);
    let config = OtlpConfig::from_env(&env).unwrap().value;
    assert_eq!(config.sdk().sampler().sampler(), Sampler::TraceIdRatio);
    assert_eq!(config.sdk().sampler().ratio_value(), Some(0.125));
    let env = MapEnv::from([("OTEL_TRACES_SAMPLER", "traceidratio")]);
    let config = OtlpConfig::from_env(&env).unwrap().value;
    assert_eq!(config.sdk().sampler().ratio_value(), Some(1.0));
}

#[test]
fn propagators_from_env_are_deduplicated() {
    // checklist 4.6
    let env = MapEnv::from([("OTEL_PROPAGATORS", "tracecontext,baggage,tracecontext")]);
    let config = OtlpConfig::from_env(&env).unwrap().value;
    assert_eq!(
        config.sdk().propagators(),
        [Propagator::TraceContext, Propagator::Baggage]
    );
}

#[test]
fn exporter_selection_per_signal() {
    // checklist 4.7
    let env = MapEnv::from([
        ("OTEL_TRACES_EXPORTER", "console"),
        ("OTEL_LOGS_EXPORTER", "none"),
    ]);
    let config = OtlpConfig::from_env(&env).unwrap().value;
    assert_eq!(
        config.sdk().exporters(Signal::Traces),
        [ExporterKind::Console]
    );
    assert_eq!(
        config.sdk().exporters(Signal::Metrics),
        [ExporterKind::Otlp]
    );
    assert!(config.sdk().exporters(Signal::Logs).is_empty());
}

#[test]
fn attribute_limits_model_specific_beats_general() {
    // checklist 4.8
    let env = MapEnv::from([
        ("OTEL_ATTRIBUTE_COUNT_LIMIT", "64"),
        ("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "32"),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "1024"),
    ]);
    let config = OtlpConfig::from_env(&env).unwrap().value;
    let limits = config.sdk().limits();
    assert_eq!(limits.span_attribute_count(), Some(64));
    assert_eq!(limits.logrecord_attribute_count(), Some(32));
    assert_eq!(limits.span_attribute_value_length(), Some(1024));
    assert_eq!(limits.logrecord_attribute_value_length(), Some(1024));
    assert_eq!(limits.span_event_count(), Some(128));
    assert_eq!(
        limits.source(LimitKind::SpanAttributeValueLength),
        Source::GeneralEnv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT")
    );
}

#[test]
fn log_level_variable() {
    // checklist 4.9
    let config = OtlpConfig::from_env(&MapEnv::from([("OTEL_LOG_LEVEL", "Debug")]))
        .unwrap()
        .value;
    assert_eq!(config.sdk().log_level(), LogLevel::Debug);
}

#[test]
fn every_sdk_variable_has_a_code_equivalent() {
    // checklist 1.19
    let env = MapEnv::from([
        ("OTEL_SERVICE_NAME", "env"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "10"),
        ("OTEL_TRACES_SAMPLER", "always_off"),
    ]);
    let config = OtlpConfig::builder()
        .with_resource(ResourceConfig::builder().with_service_name("code"))
        .with_batch(BatchConfig::spans().with_max_queue_size(4096))
        .with_metric_reader(MetricReaderConfig::builder().with_interval(Duration::from_secs(5)))
        .with_sdk(
            SdkConfig::builder().with_sampler(otlpkit_core::SamplerConfig::new(Sampler::AlwaysOn)),
        )
        .build(&env)
        .unwrap()
        .value;
    assert_eq!(config.resource().service_name(), "code");
    assert_eq!(config.span_batch().max_queue_size(), 4096);
    assert_eq!(config.metric_reader().interval(), Duration::from_secs(5));
    assert_eq!(config.sdk().sampler().sampler(), Sampler::AlwaysOn);
}

//! otlpkit-core: configuration, errors and shared types.

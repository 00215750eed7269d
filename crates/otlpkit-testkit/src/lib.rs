//! otlpkit-testkit: an in-process OTLP receiver.

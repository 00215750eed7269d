//! Configured headers → gRPC request metadata (checklist 1.11).

use otlpkit_core::{Headers, is_valid_grpc_metadata_key, is_valid_grpc_metadata_value};
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};

use otlpkit_exporter::BuildError;

/// Headers whose meaning belongs to the gRPC protocol itself.
const PROTOCOL_HEADERS: [&str; 3] = ["content-type", "te", "grpc-timeout"];

/// Converts the configured headers to ASCII metadata: keys lowercased, every
/// value marked sensitive (never indexed by HPACK, shown as `Sensitive` by
/// `Debug`). An invalid key or value is an error naming the key, never the
/// value.
pub(crate) fn to_metadata(headers: &Headers) -> Result<MetadataMap, BuildError> {
    let mut metadata = MetadataMap::with_capacity(headers.len());
    for (key, value) in headers.iter() {
        let invalid = |reason| BuildError::InvalidHeader {
            key: key.to_owned(),
            reason,
        };
        let lower = key.to_ascii_lowercase();
        if !is_valid_grpc_metadata_key(&lower) {
            return Err(invalid(key_problem(&lower)));
        }
        if PROTOCOL_HEADERS.contains(&lower.as_str()) {
            return Err(invalid(
                "the header is set by the gRPC protocol and cannot be overridden",
            ));
        }
        if !is_valid_grpc_metadata_value(value) {
            return Err(invalid(
                "the value must be printable ASCII (0x20-0x7E) for gRPC metadata",
            ));
        }
        let name = AsciiMetadataKey::from_bytes(lower.as_bytes())
            .map_err(|_| invalid("the key may only contain 0-9 a-z _ . -"))?;
        let mut value = AsciiMetadataValue::try_from(value)
            .map_err(|_| invalid("the value must be printable ASCII (0x20-0x7E)"))?;
        value.set_sensitive(true);
        metadata.insert(name, value);
    }
    Ok(metadata)
}

/// Why `key` (lowercased) is not a valid ASCII metadata key.
fn key_problem(key: &str) -> &'static str {
    if key.starts_with("grpc-") {
        "keys starting with `grpc-` are reserved by gRPC"
    } else if key.ends_with("-bin") {
        "keys ending in `-bin` are binary metadata, which headers cannot carry"
    } else {
        "the key may only contain 0-9 a-z _ . -"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_lowercased_and_values_kept_but_hidden() {
        // checklist 1.11 (gRPC metadata names are lowercase)
        let headers = Headers::new()
            .with("Authorization", "Bearer s3cr3t")
            .with("X-Tenant", "acme");
        let metadata = to_metadata(&headers).unwrap();
        assert_eq!(
            metadata.get("authorization").unwrap().to_str().unwrap(),
            "Bearer s3cr3t"
        );
        assert_eq!(metadata.get("x-tenant").unwrap().to_str().unwrap(), "acme");
        assert!(metadata.get("authorization").unwrap().is_sensitive());
        let debug = format!("{metadata:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }

    #[test]
    fn invalid_keys_and_values_name_the_key_only() {
        for (key, value, reason) in [
            ("x~tenant", "s3cr3t-1", "0-9 a-z"),
            ("grpc-status", "s3cr3t-2", "reserved"),
            ("trace-bin", "s3cr3t-3", "binary"),
            ("content-type", "s3cr3t-4", "protocol"),
            ("api-key", "s3cr3t-é", "printable ASCII"),
        ] {
            let error = to_metadata(&Headers::new().with(key, value)).unwrap_err();
            let text = error.to_string();
            assert!(text.contains(key), "{text}");
            assert!(text.contains(reason), "{text}");
            assert!(!text.contains(value), "{text}");
        }
    }
}

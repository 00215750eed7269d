//! The level of the SDK's own diagnostics (checklist 4.9): [`LogLevel`],
//! read from `OTEL_LOG_LEVEL`.

use crate::parse::spec_enum;

spec_enum! {
    /// `OTEL_LOG_LEVEL`: the level of the SDK's own diagnostics (default `info`).
    #[derive(Default, PartialOrd, Ord)]
    pub enum LogLevel ("log level", expected = "off | error | warn | info | debug | trace") {
        /// Nothing (`none` is accepted too).
        Off = "off" | "none",
        /// Errors.
        Error = "error",
        /// Warnings (`warning` is accepted too).
        Warn = "warn" | "warning",
        /// Informational messages (the default).
        #[default]
        Info = "info",
        /// Debugging detail.
        Debug = "debug",
        /// Everything.
        Trace = "trace",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;
    use crate::sdk::tests::sdk;

    #[test]
    fn log_level_defaults_to_info_and_is_case_insensitive() {
        // checklist 4.9
        assert_eq!(sdk(&MapEnv::new()).value.log_level(), LogLevel::Info);
        for (text, level) in [
            ("DEBUG", LogLevel::Debug),
            ("warning", LogLevel::Warn),
            ("none", LogLevel::Off),
            ("Error", LogLevel::Error),
            ("trace", LogLevel::Trace),
        ] {
            let config = sdk(&MapEnv::from([("OTEL_LOG_LEVEL", text)])).value;
            assert_eq!(config.log_level(), level);
        }
        let resolved = sdk(&MapEnv::from([("OTEL_LOG_LEVEL", "loud")]));
        assert_eq!(resolved.value.log_level(), LogLevel::Info);
        assert_eq!(resolved.warnings.len(), 1);
        assert!(LogLevel::Error < LogLevel::Debug);
    }
}

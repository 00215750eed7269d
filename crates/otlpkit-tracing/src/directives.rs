//! Filter directives in `RUST_LOG` syntax, turned into the filter in front
//! of each layer.
//!
//! Plain directives (`info`, `my_app=debug,hyper=warn`, `my_app::db`) become
//! a [`Targets`] filter, which needs no regular expressions and so keeps
//! `regex` out of a default build. Directives that filter on spans or fields
//! (`my_app[request]=debug`, `[{user_id=42}]=trace`) need
//! `tracing_subscriber`'s `EnvFilter`, compiled in with the `env-filter`
//! feature; without it they are refused with an error naming that feature,
//! never silently read as a target.
//!
//! Plain directives read as `EnvFilter` reads them: comma-separated, empty
//! ones skipped, a bare level sets the default, a bare target enables every
//! level for it, `target=` means `target=trace`, the most specific target
//! wins and a later duplicate replaces an earlier one. One difference:
//! spaces around a directive are trimmed (on both paths), where `EnvFilter`
//! alone keeps them in the target.

use std::str::FromStr as _;

use tracing::Subscriber;
use tracing_subscriber::filter::{FilterExt as _, LevelFilter, LevelParseError, Targets};
use tracing_subscriber::layer::Filter;
use tracing_subscriber::registry::LookupSpan;

/// Why filter directives were refused; the offending directive is named.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectiveError {
    /// A directive does not start with a target or a level.
    #[error(
        "directive {directive:?} does not start with a target or a level (a letter, a digit, '_', '-' or ':')"
    )]
    Malformed {
        /// The directive as given.
        directive: String,
    },
    /// A directive has more than one `=`.
    #[error("directive {directive:?} has more than one '='")]
    TooManyEquals {
        /// The directive as given.
        directive: String,
    },
    /// The level of `target=level` is not one of `off`, `error`, `warn`,
    /// `info`, `debug`, `trace` (or `0` to `5`).
    #[error("directive {directive:?}: {source}")]
    Level {
        /// The directive as given.
        directive: String,
        /// The level parser's complaint.
        #[source]
        source: LevelParseError,
    },
    /// A directive filters on spans or fields, and this build has no
    /// `env-filter` feature.
    #[error(
        "directive {directive:?} filters on spans or fields, which needs the `env-filter` feature (of otlpkit, or of otlpkit-tracing used without the facade); plain `target=level` directives need no feature"
    )]
    EnvFilterNotCompiled {
        /// The directive as given.
        directive: String,
    },
    /// `EnvFilter` refused directives that filter on spans or fields.
    #[cfg(feature = "env-filter")]
    #[cfg_attr(docsrs, doc(cfg(feature = "env-filter")))]
    #[error(transparent)]
    EnvFilter(tracing_subscriber::filter::ParseError),
}

/// Directives checked and ready to build filters from.
#[derive(Clone, Debug)]
pub(crate) enum Directives {
    /// Plain `target=level` directives.
    Plain(Targets),
    /// Directives with span or field filters, for `EnvFilter`.
    #[cfg(feature = "env-filter")]
    Spans(String),
}

impl Directives {
    /// Checks `text` and decides which filter it needs.
    pub(crate) fn parse(text: &str) -> Result<Self, DirectiveError> {
        let mut targets = Targets::new();
        for directive in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            if directive.contains(['[', ']', '{', '}']) {
                return span_directives(text, directive);
            }
            targets = plain(targets, directive)?;
        }
        Ok(Self::Plain(targets))
    }

    /// The filter these directives make, for one layer.
    pub(crate) fn filter<S>(
        &self,
    ) -> Result<Box<dyn Filter<S> + Send + Sync + 'static>, DirectiveError>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        Ok(match self {
            Self::Plain(targets) => targets.clone().boxed(),
            #[cfg(feature = "env-filter")]
            Self::Spans(text) => tracing_subscriber::EnvFilter::builder()
                .parse(text)
                .map_err(DirectiveError::EnvFilter)?
                .boxed(),
        })
    }
}

/// `targets` with one plain directive added.
fn plain(targets: Targets, directive: &str) -> Result<Targets, DirectiveError> {
    let starts_well = directive
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ':'));
    if !starts_well {
        return Err(DirectiveError::Malformed {
            directive: directive.to_owned(),
        });
    }
    let mut parts = directive.split('=');
    let head = parts.next().unwrap_or_default();
    let level = parts.next();
    if parts.next().is_some() {
        return Err(DirectiveError::TooManyEquals {
            directive: directive.to_owned(),
        });
    }
    let parse_level = |text: &str| {
        LevelFilter::from_str(text).map_err(|source| DirectiveError::Level {
            directive: directive.to_owned(),
            source,
        })
    };
    Ok(match level {
        Some("") => targets.with_target(head, LevelFilter::TRACE),
        Some(level) => targets.with_target(head, parse_level(level)?),
        None => match LevelFilter::from_str(head) {
            Ok(level) => targets.with_default(level),
            Err(_) => targets.with_target(head, LevelFilter::TRACE),
        },
    })
}

/// Directives with span or field filters: `EnvFilter`'s, when compiled in.
#[cfg(feature = "env-filter")]
fn span_directives(text: &str, _directive: &str) -> Result<Directives, DirectiveError> {
    // Trimmed as plain directives are, so a space never ends up in a target.
    let text = text
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect::<Vec<_>>()
        .join(",");
    tracing_subscriber::EnvFilter::builder()
        .parse(&text)
        .map_err(DirectiveError::EnvFilter)?;
    Ok(Directives::Spans(text))
}

/// Directives with span or field filters in a build without `EnvFilter`.
#[cfg(not(feature = "env-filter"))]
fn span_directives(_text: &str, directive: &str) -> Result<Directives, DirectiveError> {
    Err(DirectiveError::EnvFilterNotCompiled {
        directive: directive.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::Level;
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Records the target and level of every event that reaches it.
    struct Seen(Arc<Mutex<Vec<(String, Level)>>>);

    impl<S: Subscriber> Layer<S> for Seen {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let meta = event.metadata();
            self.0
                .lock()
                .unwrap()
                .push((meta.target().to_owned(), *meta.level()));
        }
    }

    macro_rules! at_every_level {
        ($($target:literal),*) => {{
            $(
                tracing::error!(target: $target, "e");
                tracing::warn!(target: $target, "w");
                tracing::info!(target: $target, "i");
                tracing::debug!(target: $target, "d");
                tracing::trace!(target: $target, "t");
            )*
        }};
    }

    /// The events of a fixed set of targets and levels that `filter` lets
    /// through.
    fn passed(
        filter: Box<dyn Filter<tracing_subscriber::Registry> + Send + Sync>,
    ) -> Vec<(String, Level)> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let subscriber =
            tracing_subscriber::registry().with(Seen(Arc::clone(&seen)).with_filter(filter));
        tracing::subscriber::with_default(subscriber, || {
            at_every_level!(
                "my_app",
                "my_app::db",
                "my_app::db::pool",
                "my_appx",
                "hyper::proto",
                "other-crate"
            );
        });
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        seen
    }

    /// Plain directives filter exactly as `EnvFilter` filters them.
    #[cfg(feature = "env-filter")]
    #[test]
    fn plain_directives_filter_as_env_filter_does() {
        for text in [
            "",
            "info",
            "INFO",
            "warn,my_app=debug",
            "my_app=debug,warn",
            "my_app",
            "my_app=",
            "my_app::db=trace,my_app=warn",
            "my_app=warn,my_app::db=trace,my_app::db::pool=off",
            "off",
            "off,my_app=info",
            "trace,hyper=off",
            "my_app=info,my_app=error",
            "3",
            "my_app=5,0",
            ",,my_app=info,,",
            "my_ap=debug",
            "other-crate=debug",
            "error,my_app::db",
        ] {
            let Directives::Plain(targets) = Directives::parse(text).unwrap() else {
                panic!("{text:?} is plain");
            };
            let reference = tracing_subscriber::EnvFilter::builder()
                .parse(text)
                .unwrap();
            assert_eq!(
                passed(Box::new(targets)),
                passed(Box::new(reference)),
                "{text:?}"
            );
        }
    }

    /// Spaces around directives are trimmed.
    #[test]
    fn spaces_around_directives_are_trimmed() {
        let spaced =
            Directives::parse(" warn , my_app = debug ".replace(" = ", "=").as_str()).unwrap();
        let tight = Directives::parse("warn,my_app=debug").unwrap();
        assert_eq!(
            passed(spaced.filter().unwrap()),
            passed(tight.filter().unwrap())
        );
        assert!(passed(tight.filter().unwrap()).contains(&("my_app".to_owned(), Level::DEBUG)));
    }

    #[test]
    fn bad_directives_are_refused_naming_the_directive() {
        for (text, directive, message) in [
            (
                "info,*=debug",
                "*=debug",
                "does not start with a target or a level",
            ),
            (
                "my_app=debug=trace",
                "my_app=debug=trace",
                "more than one '='",
            ),
            ("my_app=loud", "my_app=loud", "my_app=loud"),
        ] {
            let error = Directives::parse(text).unwrap_err();
            let shown = error.to_string();
            assert!(shown.contains(&format!("{directive:?}")), "{shown}");
            assert!(shown.contains(message), "{shown}");
        }
        assert!(matches!(
            Directives::parse("my_app=loud"),
            Err(DirectiveError::Level { .. })
        ));
    }

    /// Span and field directives go to `EnvFilter` when it is compiled in,
    /// and filter on the span.
    #[cfg(feature = "env-filter")]
    #[test]
    fn span_directives_take_env_filter() {
        let directives = Directives::parse("warn, my_app[request]=debug").unwrap();
        assert!(
            matches!(&directives, Directives::Spans(text) if text == "warn,my_app[request]=debug")
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry()
            .with(Seen(Arc::clone(&seen)).with_filter(directives.filter().unwrap()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "my_app", "outside");
            tracing::debug_span!(target: "my_app", "request").in_scope(|| {
                tracing::debug!(target: "my_app", "inside");
            });
        });
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert!(matches!(
            Directives::parse("my_app[request=debug"),
            Err(DirectiveError::EnvFilter(_))
        ));
    }

    /// Without `env-filter`, span and field directives are refused, naming
    /// the directive and the feature, never read as a target.
    #[cfg(not(feature = "env-filter"))]
    #[test]
    fn span_directives_without_env_filter_name_the_feature() {
        let error = Directives::parse("warn,my_app[request]=debug").unwrap_err();
        assert!(
            matches!(&error, DirectiveError::EnvFilterNotCompiled { directive } if directive == "my_app[request]=debug")
        );
        assert!(
            error.to_string().contains("`env-filter` feature"),
            "{error}"
        );
    }
}

//! Server throttling hints: the HTTP `Retry-After` header (checklist 2.7).

use std::time::{Duration, SystemTime};

/// Parses a `Retry-After` value, which is either delay-seconds (`"120"`) or
/// an HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`), into a delay from `now`.
///
/// A date in the past gives a zero delay. A value that is neither form gives
/// `None`: the caller then backs off exponentially as if no hint was given.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use otlpkit_exporter::parse_retry_after;
///
/// assert_eq!(parse_retry_after("3", SystemTime::now()), Some(Duration::from_secs(3)));
/// assert_eq!(parse_retry_after("soon", SystemTime::now()), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        // Absurdly long digit strings saturate instead of failing.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    // checklist 2.7: delay-seconds form.
    #[test]
    fn delay_seconds() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    // checklist 2.7: HTTP-date form, relative to now; past dates mean "now".
    #[test]
    fn http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_no_hint() {
        let now = SystemTime::now();
        for value in ["", "-1", "1.5", "soon", "Wed, 99 Oct 2015 07:28:00 GMT"] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
    }
}

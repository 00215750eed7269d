//! Checklist §5, case by case. Header values come from the W3C Trace Context
//! test suite (`test/test.py`) and the Baggage header format where they apply.

use super::*;
use opentelemetry::baggage::Baggage;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";
const VALID: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::try_from(*name).unwrap(),
            // from_bytes: non-ASCII arrives as obs-text, as it can on the wire.
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    map
}

fn extracted(pairs: &[(&str, &str)]) -> Context {
    extract_with_context(&Context::new(), &headers(pairs))
}

/// The span context extracted from one `traceparent`, if valid.
fn traceparent(value: &str) -> Option<SpanContext> {
    let cx = extracted(&[(TRACEPARENT, value)]);
    let span = cx.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| span_context.clone())
}

fn tracestate_header(pairs: &[(&str, &str)]) -> Option<String> {
    let cx = extracted(pairs);
    assert!(
        cx.span().span_context().is_valid(),
        "traceparent must survive"
    );
    let mut out = HeaderMap::new();
    inject(&cx, &mut out);
    out.get(TRACESTATE).map(|v| v.to_str().unwrap().to_owned())
}

fn injected(cx: &Context) -> HeaderMap {
    let mut out = HeaderMap::new();
    inject(cx, &mut out);
    out
}

fn remote(flags: u8, state: TraceState) -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex(TRACE).unwrap(),
        SpanId::from_hex(PARENT).unwrap(),
        TraceFlags::new(flags),
        true,
        state,
    ))
}

// --- 5.1 -------------------------------------------------------------------------

#[test]
fn valid_traceparent_is_extracted_as_a_remote_parent() {
    // checklist 5.1, 5.5 (IsRemote)
    let span_context = traceparent(VALID).unwrap();
    assert_eq!(span_context.trace_id().to_string(), TRACE);
    assert_eq!(span_context.span_id().to_string(), PARENT);
    assert!(span_context.is_sampled());
    assert!(span_context.is_remote());
    // Header names are case-insensitive on the wire.
    let cx = extract_with_context(&Context::new(), &headers(&[("TraceParent", VALID)]));
    assert!(cx.span().span_context().is_valid());
}

#[test]
fn inject_emits_lowercase_version_00_of_55_characters() {
    // checklist 5.1, 5.6
    let out = injected(&remote(0x01, TraceState::NONE));
    assert_eq!(out.get(TRACEPARENT).unwrap(), VALID);
    assert_eq!(out.get(TRACEPARENT).unwrap().len(), 55);
    assert!(out.get(TRACESTATE).is_none());
    // An invalid span context injects nothing.
    assert!(injected(&Context::new()).is_empty());
}

// --- 5.2 -------------------------------------------------------------------------

#[test]
fn every_invalid_traceparent_form_is_ignored() {
    // checklist 5.2
    let cases = [
        // version ff
        (
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "version ff",
        ),
        // version 00 with trailing data
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01.",
            "trailing .",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",
            "trailing -",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",
            "trailing -x",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-will-not-be-like",
            "future fields on 00",
        ),
        // uppercase
        (
            "0A-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "uppercase version",
        ),
        (
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "uppercase trace id",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01",
            "uppercase parent id",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0A",
            "uppercase flags",
        ),
        // non-hex
        (
            "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "non-hex version",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
            "non-hex trace id",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333g-01",
            "non-hex parent id",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g",
            "non-hex flags",
        ),
        (
            "00-+af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "sign in trace id",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-+7ad6b7169203331-01",
            "sign in parent id",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-+1",
            "sign in flags",
        ),
        // wrong field lengths
        (
            "000-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "long version",
        ),
        (
            "0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "short version",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c0-b7ad6b7169203331-01",
            "long trace id",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",
            "short trace id",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033310-01",
            "long parent id",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",
            "short parent id",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-010",
            "long flags",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
            "short flags",
        ),
        ("00-1-2-01", "tiny fields"),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "no flags",
        ),
        (
            "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",
            "wrong separators",
        ),
        ("", "empty"),
        // zero ids
        (
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "zero trace id",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "zero parent id",
        ),
        // spaces inside
        (
            "00- af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "space inside",
        ),
    ];
    for (value, why) in cases {
        assert!(
            traceparent(value).is_none(),
            "{why}: {value:?} was accepted"
        );
    }
}

#[test]
fn two_traceparent_headers_are_invalid() {
    // checklist 5.2
    let cx = extracted(&[
        (TRACEPARENT, VALID),
        (
            TRACEPARENT,
            "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01",
        ),
    ]);
    assert!(!cx.span().span_context().is_valid());
    // Even two identical ones.
    let cx = extracted(&[(TRACEPARENT, VALID), (TRACEPARENT, VALID)]);
    assert!(!cx.span().span_context().is_valid());
}

#[test]
fn an_invalid_traceparent_also_drops_tracestate() {
    // checklist 5.2, 5.7 (tracestate without traceparent is discarded)
    let cx = extracted(&[
        (
            TRACEPARENT,
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        (TRACESTATE, "foo=1"),
    ]);
    assert!(!cx.span().span_context().is_valid());
    assert!(injected(&cx).is_empty());
}

#[test]
fn surrounding_spaces_and_tabs_are_tolerated() {
    // checklist 5.2
    assert!(traceparent(&format!(" {VALID}")).is_some());
    assert!(traceparent(&format!("{VALID}\t ")).is_some());
    assert!(traceparent(&format!("\t{VALID} ")).is_some());
}

// --- 5.3 -------------------------------------------------------------------------

#[test]
fn higher_versions_are_parsed_and_re_emitted_as_00() {
    // checklist 5.3
    let base = "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    for value in [
        format!("cc-{base}"),
        format!("cc-{base}-what-the-future-will-be-like"),
        format!("01-{base}-"),
        format!("fe-{base}-x"),
    ] {
        let span_context = traceparent(&value).unwrap_or_else(|| panic!("{value} rejected"));
        let out = injected(&Context::new().with_remote_span_context(span_context));
        assert_eq!(out.get(TRACEPARENT).unwrap(), VALID, "{value}");
    }
    for value in [
        format!("cc-{base}.what-the-future-will-be-like"),
        format!("cc-{base}x"),
        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0".to_owned(),
        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01-x".to_owned(),
    ] {
        assert!(traceparent(&value).is_none(), "{value} accepted");
    }
}

// --- 5.4 -------------------------------------------------------------------------

#[test]
fn flags_keep_sampled_and_random_and_zero_the_rest() {
    // checklist 5.4
    let flags = |f: &str| {
        traceparent(&format!("00-{TRACE}-{PARENT}-{f}"))
            .unwrap()
            .trace_flags()
            .to_u8()
    };
    assert_eq!(flags("00"), 0x00);
    assert_eq!(flags("01"), 0x01);
    assert_eq!(flags("02"), 0x02);
    assert_eq!(flags("03"), 0x03);
    assert_eq!(flags("09"), 0x01);
    assert_eq!(flags("ff"), 0x03);
    assert_eq!(flags("fc"), 0x00);
    // Unknown bits are sent as zero.
    let out = injected(&remote(0xff, TraceState::NONE));
    assert!(
        out.get(TRACEPARENT)
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("-03")
    );
}

#[test]
fn a_continued_trace_keeps_the_random_flag_received() {
    // checklist 5.4: the SDK derives a child's flags from its parent's.
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let tracer = provider.tracer("w3c");
    let parent = extracted(&[(TRACEPARENT, &format!("00-{TRACE}-{PARENT}-03"))]);
    let child = tracer.start_with_context("child", &parent);
    let child_cx = Context::new().with_span(child);
    let out = injected(&child_cx);
    let header = out.get(TRACEPARENT).unwrap().to_str().unwrap();
    assert!(header.starts_with(&format!("00-{TRACE}-")), "{header}");
    assert!(header.ends_with("-03"), "{header}");
    assert!(
        !header.contains(PARENT),
        "the child has its own id: {header}"
    );
}

// --- 5.5 -------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
struct Marker(u32);

#[test]
fn bad_input_keeps_the_existing_context() {
    // checklist 5.5
    let existing = remote(0x01, TraceState::from_key_value([("a", "1")]).unwrap())
        .with_value(Marker(7))
        .with_baggage([KeyValueMetadata::new("user", "alice", "")]);
    for bad in [
        headers(&[(TRACEPARENT, "garbage")]),
        headers(&[
            (TRACEPARENT, "00-1-2-01"),
            (TRACESTATE, "x=1"),
            (BAGGAGE, "no-equals-sign"),
        ]),
        headers(&[]),
    ] {
        let cx = extract_with_context(&existing, &bad);
        assert_eq!(cx.get::<Marker>(), Some(&Marker(7)));
        assert_eq!(cx.span().span_context(), existing.span().span_context());
        assert_eq!(cx.baggage().get("user").map(|v| v.as_str()), Some("alice"));
    }
    // A header value that is not visible ASCII is rejected, not mangled.
    let mut opaque = HeaderMap::new();
    opaque.insert(TRACEPARENT, HeaderValue::from_bytes(b"00-\xff").unwrap());
    let cx = extract_with_context(&existing, &opaque);
    assert_eq!(cx.span().span_context(), existing.span().span_context());
}

#[test]
fn extract_uses_the_current_context_as_the_base() {
    // checklist 5.5
    let _guard = Context::new().with_value(Marker(3)).attach();
    let cx = extract(&headers(&[(TRACEPARENT, "bad")]));
    assert_eq!(cx.get::<Marker>(), Some(&Marker(3)));
    let cx = extract(&headers(&[(TRACEPARENT, VALID)]));
    assert_eq!(cx.get::<Marker>(), Some(&Marker(3)));
    assert!(cx.span().span_context().is_remote());
}

// --- 5.6 -------------------------------------------------------------------------

#[test]
fn inject_replaces_stale_headers_and_omits_empty_tracestate() {
    // checklist 5.6, 5.7 (accept but don't send an empty header)
    let mut out = headers(&[
        (
            TRACEPARENT,
            "00-11111111111111111111111111111111-1111111111111111-00",
        ),
        (TRACEPARENT, "another"),
        (TRACESTATE, "stale=1"),
    ]);
    inject(&remote(0x01, TraceState::NONE), &mut out);
    assert_eq!(out.get_all(TRACEPARENT).iter().count(), 1);
    assert_eq!(out.get(TRACEPARENT).unwrap(), VALID);
    assert!(out.get(TRACESTATE).is_none());
    // An empty tracestate header is accepted.
    assert_eq!(
        tracestate_header(&[(TRACEPARENT, VALID), (TRACESTATE, "")]),
        None
    );
    assert_eq!(
        tracestate_header(&[(TRACEPARENT, VALID), (TRACESTATE, " , ,")]),
        None
    );
}

/// A `TraceState` the application built refuses only `,` and `=` in its
/// values: one that breaks the W3C grammar is not sent, and neither is the
/// previous request's `tracestate` beside the new `traceparent`.
#[test]
fn inject_leaves_out_a_tracestate_outside_the_w3c_grammar() {
    for value in ["line\nbreak", "café", "tab\there"] {
        let state = TraceState::from_key_value([("vendor", value)]).unwrap();
        let mut out = headers(&[(TRACESTATE, "stale=1")]);
        inject(&remote(0x01, state), &mut out);
        assert_eq!(out.get(TRACEPARENT).unwrap(), VALID, "{value:?}");
        assert!(out.get(TRACESTATE).is_none(), "{value:?}: {out:?}");
    }
    let state = TraceState::from_key_value([("vendor", "fine")]).unwrap();
    let mut out = headers(&[(TRACESTATE, "stale=1")]);
    inject(&remote(0x01, state), &mut out);
    assert_eq!(out.get(TRACESTATE).unwrap(), "vendor=fine");
}

// --- 5.7 / 5.8 -------------------------------------------------------------------

fn members(n: usize) -> String {
    (0..n)
        .map(|i| format!("k{i}=v{i}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn tracestate_keeps_32_members_and_discards_33() {
    // checklist 5.7
    let kept = tracestate_header(&[(TRACEPARENT, VALID), (TRACESTATE, &members(32))]);
    assert_eq!(kept.as_deref(), Some(members(32).as_str()));
    assert_eq!(
        tracestate_header(&[(TRACEPARENT, VALID), (TRACESTATE, &members(33))]),
        None
    );
    // Counted across combined headers too; empty members do not count.
    let first = members(20);
    let second = (20..33)
        .map(|i| format!("k{i}=v{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        tracestate_header(&[
            (TRACEPARENT, VALID),
            (TRACESTATE, &first),
            (TRACESTATE, &second)
        ]),
        None
    );
    let padded = format!(",,{},,", members(32));
    assert!(tracestate_header(&[(TRACEPARENT, VALID), (TRACESTATE, &padded)]).is_some());
}

#[test]
fn tracestate_key_grammar() {
    // checklist 5.7
    let accepts = |key: &str| {
        tracestate_header(&[(TRACEPARENT, VALID), (TRACESTATE, &format!("{key}=1"))]).is_some()
    };
    for key in [
        "foo",
        "0foo",
        "f",
        "foo_bar-baz*qux/quux",
        "tenant@system",
        "0tenant@sys-_*/9",
        &"a".repeat(256),
        // 14 characters are allowed after `@`, but opentelemetry's
        // `TraceState` stops at 13 (see the module docs).
        &format!("{}@{}", "t".repeat(241), "s".repeat(13)),
    ] {
        assert!(accepts(key), "{key:?} rejected");
    }
    for key in [
        "Foo",
        "_foo",
        "-foo",
        "*foo",
        "/foo",
        "@foo",
        "foo@",
        "foo@0sys",
        "foo@sys@more",
        "foo.bar",
        "foo bar",
        "fóo",
        &"a".repeat(257),
        &format!("{}@s", "t".repeat(242)),
        &format!("t@{}", "s".repeat(15)),
    ] {
        assert!(!accepts(key), "{key:?} accepted");
    }
}

#[test]
fn tracestate_value_grammar() {
    // checklist 5.7
    let accepts = |value: &str| {
        tracestate_header(&[(TRACEPARENT, VALID), (TRACESTATE, &format!("foo={value}"))]).is_some()
    };
    for value in [
        "1",
        "a b",
        "!~\"#$%&'()*+-./:;<>?@[\\]^_`{|}",
        &"v".repeat(256),
    ] {
        assert!(accepts(value), "{value:?} rejected");
    }
    for value in ["", "a=b", "caf\u{e9}", &"v".repeat(257)] {
        assert!(!accepts(value), "{value:?} accepted");
    }
    // Control characters cannot be in an http header value; other carriers
    // can hold them.
    for value in ["a\u{7f}", "a\u{1}", "a\u{e9}"] {
        let carrier = std::collections::HashMap::from([
            (TRACEPARENT.to_owned(), VALID.to_owned()),
            (TRACESTATE.to_owned(), format!("foo={value}")),
        ]);
        let cx = W3cPropagator::new().extract(&carrier);
        assert!(cx.span().span_context().is_valid());
        assert_eq!(
            cx.span().span_context().trace_state().header(),
            "",
            "{value:?}"
        );
    }
    // Trailing white space belongs to the list, not the value.
    assert_eq!(
        tracestate_header(&[(TRACEPARENT, VALID), (TRACESTATE, "foo=bar \t, baz=1")]).as_deref(),
        Some("foo=bar,baz=1")
    );
}

#[test]
fn one_bad_member_or_a_duplicate_key_discards_the_whole_tracestate() {
    // checklist 5.7, 5.8 (no duplicate keys)
    for value in [
        "foo=1,bar",
        "foo=1,Bar=2",
        "foo=1,foo=2",
        "foo=1,bar=2,foo=1",
        "=1",
        "foo",
    ] {
        assert_eq!(
            tracestate_header(&[(TRACEPARENT, VALID), (TRACESTATE, value)]),
            None,
            "{value:?}"
        );
    }
    // The traceparent itself survives.
    let cx = extracted(&[(TRACEPARENT, VALID), (TRACESTATE, "foo=1,foo=2")]);
    assert!(cx.span().span_context().is_valid());
}

#[test]
fn combined_tracestate_headers_keep_their_order() {
    // checklist 5.7, 5.8
    assert_eq!(
        tracestate_header(&[
            (TRACEPARENT, VALID),
            (TRACESTATE, "z=1, y=2"),
            (TRACESTATE, ""),
            (TRACESTATE, "x=3"),
        ])
        .as_deref(),
        Some("z=1,y=2,x=3")
    );
    // Updating puts the key at the left and keeps the rest in order.
    let cx = extracted(&[(TRACEPARENT, VALID), (TRACESTATE, "z=1,y=2,x=3")]);
    let state = cx
        .span()
        .span_context()
        .trace_state()
        .insert("y", "9")
        .unwrap();
    let out = injected(&remote(0x01, state));
    assert_eq!(out.get(TRACESTATE).unwrap(), "y=9,z=1,x=3");
}

// --- 5.9 -------------------------------------------------------------------------

fn baggage_of(pairs: &[(&str, &str)]) -> Vec<(String, String, String)> {
    let cx = extracted(pairs);
    let mut out: Vec<_> = cx
        .baggage()
        .iter()
        .map(|(k, (v, m))| (k.to_string(), v.to_string(), m.as_str().to_owned()))
        .collect();
    out.sort();
    out
}

fn kv(k: &str, v: &str) -> (String, String, String) {
    (k.to_owned(), v.to_owned(), String::new())
}

#[test]
fn baggage_values_are_percent_decoded_and_keys_are_not() {
    // checklist 5.9
    assert_eq!(
        baggage_of(&[(BAGGAGE, "user=alice%20smith,k%20=v, eq = a=b , pct=100%25")]),
        [
            kv("eq", "a=b"),
            kv("k%20", "v"),
            kv("pct", "100%"),
            kv("user", "alice smith"),
        ]
    );
    // Invalid UTF-8 decodes to U+FFFD.
    assert_eq!(
        baggage_of(&[(BAGGAGE, "bad=%FFx")]),
        [kv("bad", "\u{fffd}x")]
    );
    // Empty values are allowed.
    assert_eq!(baggage_of(&[(BAGGAGE, "empty=")]), [kv("empty", "")]);
}

#[test]
fn invalid_baggage_members_are_skipped_and_the_rest_kept() {
    // checklist 5.9
    assert_eq!(
        baggage_of(&[(
            BAGGAGE,
            "ok=1,no-value,=v,sp ace=1,quote=\"x\",back=a\\b,inner=a b,k(=1,last=2"
        )]),
        [kv("last", "2"), kv("ok", "1")]
    );
}

#[test]
fn multiple_baggage_headers_are_combined() {
    // checklist 5.9
    assert_eq!(
        baggage_of(&[(BAGGAGE, "a=1"), (BAGGAGE, " b=2 ,\tc=3")]),
        [kv("a", "1"), kv("b", "2"), kv("c", "3")]
    );
}

#[test]
fn baggage_inject_percent_encodes_everything_outside_baggage_octet() {
    // checklist 5.9
    let value = "50% off, \"now\"; a\\b é=ok";
    let cx = Context::new().with_baggage([KeyValueMetadata::new("offer", value, "")]);
    let out = injected(&cx);
    let header = out.get(BAGGAGE).unwrap().to_str().unwrap();
    assert_eq!(
        header,
        "offer=50%25%20off%2C%20%22now%22%3B%20a%5Cb%20%C3%A9=ok"
    );
    // And it comes back unchanged.
    assert_eq!(baggage_of(&[(BAGGAGE, header)]), [kv("offer", value)]);
}

// --- 5.10 ------------------------------------------------------------------------

#[test]
fn baggage_keeps_64_members_and_drops_the_65th_whole() {
    // checklist 5.10
    let all = (0..65)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join(",");
    let got = baggage_of(&[(BAGGAGE, &all)]);
    assert_eq!(got.len(), 64);
    assert!(!got.iter().any(|(k, _, _)| k == "k64"));
}

#[test]
fn baggage_keeps_8192_bytes_and_drops_whole_members_beyond() {
    // checklist 5.10: two members of 4096 bytes with the comma make 8193.
    let big = |k: &str, total: usize| format!("{k}={}", "x".repeat(total - k.len() - 1));
    let exact = format!("{},{}", big("a", 4096), big("b", 4095));
    assert_eq!(exact.len(), MAX_BAGGAGE_BYTES);
    assert_eq!(baggage_of(&[(BAGGAGE, &exact)]).len(), 2);

    let over = format!("{},{},c=1", big("a", 4096), big("b", 4096));
    let got = baggage_of(&[(BAGGAGE, &over)]);
    let keys: Vec<&str> = got.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(keys, ["a", "c"], "b does not fit, the small c still does");
    assert_eq!(got[0].1.len(), 4094, "members are never cut");
}

#[test]
fn baggage_inject_stays_within_8192_bytes_without_cutting_members() {
    // checklist 5.10: each "é" is 2 bytes in the baggage, 6 on the wire.
    let mut baggage = Baggage::new();
    for key in ["a", "b", "c"] {
        baggage.insert(key, "é".repeat(600));
    }
    let cx = Context::new().with_baggage(baggage);
    let out = injected(&cx);
    let header = out.get(BAGGAGE).unwrap().to_str().unwrap();
    assert!(header.len() <= MAX_BAGGAGE_BYTES, "{}", header.len());
    let members: Vec<&str> = header.split(',').collect();
    assert_eq!(members.len(), 2, "the third member is dropped whole");
    for member in members {
        assert_eq!(member.len(), 2 + 600 * 6);
    }
}

// --- 5.11 ------------------------------------------------------------------------

#[test]
fn baggage_properties_are_kept_and_re_appended() {
    // checklist 5.11
    let got = baggage_of(&[(BAGGAGE, "k=v;p1;p2 = x ; p3=%20, Key=V, key=v2")]);
    assert_eq!(
        got,
        [
            ("Key".to_owned(), "V".to_owned(), String::new()),
            ("k".to_owned(), "v".to_owned(), "p1;p2=x;p3=%20".to_owned()),
            ("key".to_owned(), "v2".to_owned(), String::new()),
        ]
    );
    let cx = extracted(&[(BAGGAGE, "k=v;p1;p2=x")]);
    assert_eq!(injected(&cx).get(BAGGAGE).unwrap(), "k=v;p1;p2=x");
    // A malformed property invalidates its member.
    assert!(baggage_of(&[(BAGGAGE, "k=v;p 1")]).is_empty());
    // Metadata that cannot be sent is left out; the member is kept.
    let cx = Context::new().with_baggage([KeyValueMetadata::new("k", "v", "bad,meta")]);
    assert_eq!(injected(&cx).get(BAGGAGE).unwrap(), "k=v");
}

#[test]
fn the_last_of_duplicate_baggage_keys_wins() {
    // checklist 5.11 (one value per name)
    assert_eq!(baggage_of(&[(BAGGAGE, "k=1,k=2")]), [kv("k", "2")]);
}

// --- TextMapPropagator -----------------------------------------------------------

#[test]
fn the_propagator_works_with_any_carrier() {
    let mut carrier = std::collections::HashMap::new();
    let cx = remote(0x03, TraceState::from_key_value([("a", "1")]).unwrap())
        .with_baggage([KeyValueMetadata::new("k", "v w", "p")]);
    W3cPropagator::new().inject_context(&cx, &mut carrier);
    assert_eq!(carrier["traceparent"], format!("00-{TRACE}-{PARENT}-03"));
    assert_eq!(carrier["tracestate"], "a=1");
    assert_eq!(carrier["baggage"], "k=v%20w;p");
    let back = W3cPropagator::new().extract(&carrier);
    assert_eq!(back.span().span_context().trace_flags().to_u8(), 0x03);
    assert_eq!(back.baggage().get("k").map(|v| v.as_str()), Some("v w"));
    let propagator = W3cPropagator::new();
    let fields: Vec<&str> = propagator.fields().collect();
    assert_eq!(fields, [TRACEPARENT, TRACESTATE, BAGGAGE]);
}

// --- Why the SDK's propagators are not used ----------------------------------------

/// These assert the departures listed in the module docs. When one of them
/// starts failing, the SDK fixed it and the docs should say so.
#[test]
fn the_sdk_propagators_depart_from_the_specification() {
    let map = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let sdk = TraceContextPropagator::new();
    // The random flag is dropped.
    let cx = sdk.extract(&map(&[(TRACEPARENT, &format!("00-{TRACE}-{PARENT}-03"))]));
    assert_eq!(cx.span().span_context().trace_flags().to_u8(), 0x01);
    // Fields of the wrong length are accepted.
    let cx = sdk.extract(&map(&[(TRACEPARENT, "00-1-2-01")]));
    assert!(cx.span().span_context().is_valid());
    // 33 tracestate members are cut to 32 instead of discarded.
    let cx = sdk.extract(&map(&[(TRACEPARENT, VALID), (TRACESTATE, &members(33))]));
    assert_eq!(cx.span().span_context().trace_state().header(), members(32));
    // A baggage value is cut at its second `=`.
    let cx = BaggagePropagator::new().extract(&map(&[(BAGGAGE, "k=a=b")]));
    assert_eq!(cx.baggage().get("k").map(|v| v.as_str()), Some("a"));
}

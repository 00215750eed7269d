//! The request envelope shared by traces and logs:
//!
//! ```text
//! Export{Trace,Logs}ServiceRequest { 1: Resource{Spans,Logs} {
//!     1: Resource, 2: repeated Scope{Spans,Logs} {
//!         1: InstrumentationScope, 2: repeated {Span,LogRecord}, 3: schema_url },
//!     3: schema_url } }
//! ```
//!
//! Both signals use the same field numbers, so one routine groups the items
//! by scope (first-seen order), sizes every envelope, reserves the exact
//! length once and writes.

use opentelemetry::InstrumentationScope;

use crate::EncodedResource;
use crate::common::{put_scope, scope_len};
use crate::enc::{
    delimited_len, opt_bytes_len, put_delimited, put_delimited_header, put_opt_bytes,
};

// Export*ServiceRequest (the metrics encoder writes the same envelopes).
pub(crate) const REQUEST_RESOURCES: u32 = 1;
// Resource{Spans,Logs,Metrics}.
pub(crate) const RESOURCE_RESOURCE: u32 = 1;
pub(crate) const RESOURCE_SCOPES: u32 = 2;
pub(crate) const RESOURCE_SCHEMA_URL: u32 = 3;
// Scope{Spans,Logs,Metrics}.
pub(crate) const SCOPE_SCOPE: u32 = 1;
pub(crate) const SCOPE_ITEMS: u32 = 2;
pub(crate) const SCOPE_SCHEMA_URL: u32 = 3;

/// The scope an item is exported under: the SDK scope, with its name
/// possibly replaced (a log record's target).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScopeRef<'a> {
    pub(crate) scope: &'a InstrumentationScope,
    pub(crate) name: &'a str,
}

/// One span or log record: its scope, and its message encoding.
pub(crate) trait Item<'a>: Copy {
    /// The scope the item is grouped under.
    fn scope(self) -> ScopeRef<'a>;
    /// Whether two items' scopes are the same group (the reference's
    /// `HashMap` key equality).
    fn same_scope(a: ScopeRef<'a>, b: ScopeRef<'a>) -> bool;
    /// The length of the item's message body.
    fn encoded_len(self) -> usize;
    /// Writes the item's message body: exactly `encoded_len` bytes.
    fn encode(self, out: &mut Vec<u8>);
}

struct Group<'a> {
    scope: ScopeRef<'a>,
    /// The `InstrumentationScope` message body length.
    scope_len: usize,
    /// The bytes of the repeated item field.
    items_len: usize,
}

impl Group<'_> {
    /// The Scope{Spans,Logs} message body length.
    fn body_len(&self) -> usize {
        delimited_len(SCOPE_SCOPE, self.scope_len)
            + self.items_len
            + opt_bytes_len(SCOPE_SCHEMA_URL, schema_url(self.scope).as_bytes())
    }
}

fn schema_url<'a>(scope: ScopeRef<'a>) -> &'a str {
    scope.scope.schema_url().unwrap_or_default()
}

/// Appends the encoded request for the items `items()` yields (called
/// twice: once to size, once to write; it must yield the same items).
pub(crate) fn encode_request<'a, T, I>(
    items: impl Fn() -> I,
    resource: &EncodedResource,
    out: &mut Vec<u8>,
) where
    T: Item<'a>,
    I: Iterator<Item = T>,
{
    // Sizing pass: one group per distinct scope, and each item's length
    // (so the writing pass computes it only for the nested messages).
    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut slots: Vec<(usize, usize)> = Vec::with_capacity(items().size_hint().0);
    let mut last = 0;
    for item in items() {
        let scope = item.scope();
        let group = if groups
            .get(last)
            .is_some_and(|group| T::same_scope(group.scope, scope))
        {
            last
        } else if let Some(found) = groups
            .iter()
            .position(|group| T::same_scope(group.scope, scope))
        {
            found
        } else {
            groups.push(Group {
                scope,
                scope_len: scope_len(scope.scope, scope.name),
                items_len: 0,
            });
            groups.len() - 1
        };
        last = group;
        let len = item.encoded_len();
        groups[group].items_len += delimited_len(SCOPE_ITEMS, len);
        slots.push((group, len));
    }

    let resource_body_len = delimited_len(RESOURCE_RESOURCE, resource.message.len())
        + groups
            .iter()
            .map(|group| delimited_len(RESOURCE_SCOPES, group.body_len()))
            .sum::<usize>()
        + opt_bytes_len(RESOURCE_SCHEMA_URL, resource.schema_url.as_bytes());
    out.reserve(delimited_len(REQUEST_RESOURCES, resource_body_len));

    // Writing pass.
    #[cfg(debug_assertions)]
    let start = out.len();
    put_delimited_header(REQUEST_RESOURCES, resource_body_len, out);
    put_delimited(RESOURCE_RESOURCE, &resource.message, out);
    for (index, group) in groups.iter().enumerate() {
        put_delimited_header(RESOURCE_SCOPES, group.body_len(), out);
        put_delimited_header(SCOPE_SCOPE, group.scope_len, out);
        put_scope(group.scope.scope, group.scope.name, out);
        for (item, &(_, len)) in items()
            .zip(&slots)
            .filter(|(_, (slot_group, _))| *slot_group == index)
        {
            put_delimited_header(SCOPE_ITEMS, len, out);
            #[cfg(debug_assertions)]
            let item_start = out.len();
            item.encode(out);
            #[cfg(debug_assertions)]
            debug_assert_eq!(out.len() - item_start, len, "item length mismatch");
        }
        put_opt_bytes(SCOPE_SCHEMA_URL, schema_url(group.scope).as_bytes(), out);
    }
    put_opt_bytes(RESOURCE_SCHEMA_URL, resource.schema_url.as_bytes(), out);
    #[cfg(debug_assertions)]
    debug_assert_eq!(
        out.len() - start,
        delimited_len(REQUEST_RESOURCES, resource_body_len),
        "request length mismatch"
    );
}

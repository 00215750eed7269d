//! Access to a native span's live state from a `tracing::Span` handle, for
//! [`SpanExt`](crate::SpanExt): the layer is found in the span's dispatcher
//! by type, and its state in the registry's extensions.

use tracing_subscriber::Registry;
use tracing_subscriber::registry::LookupSpan as _;

use super::layer::NativeLayer;
use super::live::LiveSpan;

/// A native span's live state and the layer that records it.
pub(crate) struct NativeSpan<'a> {
    pub(crate) live: &'a mut LiveSpan,
    pub(crate) layer: &'a NativeLayer,
}

/// Applies `f` to the native layer that records `span`, without touching
/// the span's state (nothing locked): for work that may run code of the
/// application's own. `None` as for [`with_native_span`].
pub(crate) fn with_native_layer<R>(
    span: &tracing::Span,
    f: impl FnOnce(&NativeLayer) -> R,
) -> Option<R> {
    span.with_subscriber(|(_, dispatch)| dispatch.downcast_ref::<NativeLayer>().map(f))
        .flatten()
}

/// Applies `f` to `span`'s native state. `None` when the span is disabled,
/// when no native layer records it, or when the subscriber is not built on
/// `tracing_subscriber::Registry`.
pub(crate) fn with_native_span<R>(
    span: &tracing::Span,
    f: impl FnOnce(NativeSpan<'_>) -> R,
) -> Option<R> {
    span.with_subscriber(|(id, dispatch)| {
        let layer = dispatch.downcast_ref::<NativeLayer>()?;
        let registry = dispatch.downcast_ref::<Registry>()?;
        let data = registry.span(id)?;
        let mut extensions = data.extensions_mut();
        let live = extensions.get_mut::<LiveSpan>()?;
        Some(f(NativeSpan { live, layer }))
    })
    .flatten()
}

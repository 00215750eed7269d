//! The process-wide record of the `init()` pipeline that owns the
//! OpenTelemetry globals, and the providers it installs there.
//!
//! One `init()` pipeline at a time owns the global tracer provider, meter
//! provider and propagator: a second `init()` while its guard is alive is
//! refused ([`InitError::AlreadyInitialized`]) instead of replacing them, and
//! when the owning guard shuts down, the providers it installed are replaced
//! by the API's no-op ones, unless something else was installed since.

use std::cell::Cell;
use std::panic::Location;
use std::sync::{Mutex, MutexGuard, PoisonError};

use opentelemetry::InstrumentationScope;
use opentelemetry::metrics::{Meter, MeterProvider};
use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use crate::error::InitError;

/// What the process knows about otlpkit's global installations.
struct State {
    /// The live `init()` pipeline that owns the globals.
    owner: Option<Owner>,
    /// The id the next owner gets (never 0).
    next_id: u64,
    /// Where the `init()` that installed the global `tracing` subscriber was
    /// called: a subscriber, once installed, stays for the life of the
    /// process.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    subscriber_installed_at: Option<&'static Location<'static>>,
}

#[derive(Clone, Copy)]
struct Owner {
    id: u64,
    location: &'static Location<'static>,
}

static STATE: Mutex<State> = Mutex::new(State {
    owner: None,
    next_id: 1,
    subscriber_installed_at: None,
});

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The right to install the globals, taken by an `init()` before it builds
/// anything. Dropped without [`commit`](Self::commit) (the `init()` failed),
/// it gives the right back.
pub(crate) struct Claim {
    owner: Owner,
    committed: bool,
}

/// Takes the right to install the globals for the `init()` called at
/// `location`.
///
/// # Errors
///
/// [`InitError::AlreadyInitialized`] naming where the `init()` whose guard
/// is still alive was called.
pub(crate) fn claim(location: &'static Location<'static>) -> Result<Claim, InitError> {
    let mut state = state();
    if let Some(owner) = state.owner {
        return Err(InitError::AlreadyInitialized {
            initialized_at: owner.location,
        });
    }
    let owner = Owner {
        id: state.next_id,
        location,
    };
    state.next_id += 1;
    state.owner = Some(owner);
    Ok(Claim {
        owner,
        committed: false,
    })
}

impl Claim {
    /// `provider`, marked as this pipeline's, for `global::set_tracer_provider`.
    pub(crate) fn tracer_provider(&self, provider: &SdkTracerProvider) -> OwnedTracerProvider {
        OwnedTracerProvider {
            id: self.owner.id,
            inner: provider.clone(),
        }
    }

    /// `provider`, marked as this pipeline's, for `global::set_meter_provider`.
    pub(crate) fn meter_provider(&self, provider: &SdkMeterProvider) -> OwnedMeterProvider {
        OwnedMeterProvider {
            id: self.owner.id,
            inner: provider.clone(),
        }
    }

    /// Records that this `init()` installed the global `tracing` subscriber.
    #[cfg(feature = "tracing")]
    pub(crate) fn installed_subscriber(&self) {
        state().subscriber_installed_at = Some(self.owner.location);
    }

    /// The globals are installed: the guard owns them from now on.
    pub(crate) fn commit(mut self, tracer: bool, meter: bool) -> Ownership {
        self.committed = true;
        Ownership {
            id: self.owner.id,
            tracer,
            meter,
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let mut state = state();
        if state.owner.is_some_and(|owner| owner.id == self.owner.id) {
            state.owner = None;
        }
    }
}

/// Where the `init()` that installed the global `tracing` subscriber was
/// called, if one did.
#[cfg(feature = "tracing")]
pub(crate) fn subscriber_installed_at() -> Option<&'static Location<'static>> {
    state().subscriber_installed_at
}

/// The globals an `init()` pipeline installed, kept by its guard.
#[derive(Debug)]
pub(crate) struct Ownership {
    id: u64,
    tracer: bool,
    meter: bool,
}

impl Ownership {
    /// Hands the globals back as the guard shuts down: the tracer and meter
    /// providers this pipeline installed are replaced by the API's no-op
    /// ones if they are still the globals (a provider the application
    /// installed since stays), so that nothing is sent to a provider that
    /// is shut down; and another `init()` may install its own. The
    /// propagator stays: it has no state to shut down.
    pub(crate) fn release(self) {
        let mut state = state();
        if self.tracer && global_tracer_provider_is(self.id) {
            opentelemetry::global::set_tracer_provider(
                opentelemetry::trace::noop::NoopTracerProvider::new(),
            );
        }
        if self.meter && global_meter_provider_is(self.id) {
            opentelemetry::global::set_meter_provider(
                opentelemetry::metrics::noop::NoopMeterProvider::new(),
            );
        }
        if state.owner.is_some_and(|owner| owner.id == self.id) {
            state.owner = None;
        }
    }
}

thread_local! {
    /// While [`probe`] asks the global provider for a tracer or meter,
    /// `Some`: the id of the otlpkit provider that answered, or 0 if none
    /// did (yet). `None` outside a probe.
    static PROBE: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The scope the probes ask for (never exported: the probe's meter is a
/// no-op one, and its tracer starts no span).
fn probe_scope() -> InstrumentationScope {
    InstrumentationScope::builder("otlpkit.globals.probe").build()
}

/// Runs `ask` (which asks a global provider for a tracer or meter) and
/// returns the id of the otlpkit provider that answered, if one did.
fn probe(ask: impl FnOnce()) -> Option<u64> {
    PROBE.with(|cell| cell.set(Some(0)));
    ask();
    PROBE.with(|cell| cell.take()).filter(|id| *id != 0)
}

/// If a probe is running on this thread, answers it with `id`.
fn answer(id: u64) -> bool {
    PROBE.with(|cell| {
        let probing = cell.get().is_some();
        if probing {
            cell.set(Some(id));
        }
        probing
    })
}

fn global_tracer_provider_is(id: u64) -> bool {
    probe(|| {
        let _ = opentelemetry::global::tracer_provider().tracer_with_scope(probe_scope());
    }) == Some(id)
}

fn global_meter_provider_is(id: u64) -> bool {
    probe(|| {
        let _ = opentelemetry::global::meter_provider().meter_with_scope(probe_scope());
    }) == Some(id)
}

/// The tracer provider `init()` installs globally: the SDK's, marked with
/// the pipeline's id so that its guard can tell it is still the global one.
#[derive(Debug)]
pub(crate) struct OwnedTracerProvider {
    id: u64,
    inner: SdkTracerProvider,
}

impl TracerProvider for OwnedTracerProvider {
    type Tracer = SdkTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> SdkTracer {
        answer(self.id);
        self.inner.tracer_with_scope(scope)
    }
}

/// The meter provider `init()` installs globally, marked like
/// [`OwnedTracerProvider`].
#[derive(Debug)]
pub(crate) struct OwnedMeterProvider {
    id: u64,
    inner: SdkMeterProvider,
}

impl MeterProvider for OwnedMeterProvider {
    fn meter_with_scope(&self, scope: InstrumentationScope) -> Meter {
        if answer(self.id) {
            // No meter of the probe's scope in the pipeline's provider.
            return opentelemetry::metrics::noop::NoopMeterProvider::new().meter_with_scope(scope);
        }
        self.inner.meter_with_scope(scope)
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader};

    use super::*;

    fn here() -> &'static Location<'static> {
        Location::caller()
    }

    // The only test of this binary that touches the globals.
    #[test]
    fn a_release_replaces_only_the_providers_still_its_own() {
        let first = claim(here()).unwrap();
        let refused = claim(here()).map(|_| ()).unwrap_err();
        assert!(
            matches!(refused, InitError::AlreadyInitialized { initialized_at } if initialized_at.file() == file!()),
            "{refused}"
        );
        // A claim given back without installing anything frees the globals.
        drop(first);
        let claim = claim(here()).unwrap();

        let tracer = SdkTracerProvider::builder().build();
        let meter = SdkMeterProvider::builder().build();
        opentelemetry::global::set_tracer_provider(claim.tracer_provider(&tracer));
        opentelemetry::global::set_meter_provider(claim.meter_provider(&meter));
        let ownership = claim.commit(true, true);
        assert!(global_tracer_provider_is(ownership.id));
        assert!(global_meter_provider_is(ownership.id));
        assert!(!global_tracer_provider_is(ownership.id + 1));
        // Outside a probe, the providers answer nothing.
        let _ = opentelemetry::global::tracer("app");
        assert_eq!(PROBE.with(Cell::get), None);

        // The application installs a meter provider of its own meanwhile.
        let exporter = InMemoryMetricExporter::default();
        let theirs = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        opentelemetry::global::set_meter_provider(theirs.clone());
        assert!(!global_meter_provider_is(ownership.id));

        ownership.release();
        // Ours is the API's no-op one now; theirs stays.
        assert_eq!(
            probe(|| {
                let _ = opentelemetry::global::tracer("probe");
            }),
            None
        );
        opentelemetry::global::meter("app")
            .u64_counter("kept")
            .build()
            .add(1, &[]);
        theirs.force_flush().unwrap();
        let exported = exporter.get_finished_metrics().unwrap();
        assert!(
            exported
                .iter()
                .flat_map(|resource| resource.scope_metrics())
                .flat_map(|scope| scope.metrics())
                .any(|metric| metric.name() == "kept"),
            "{exported:?}"
        );
        // And another `init()` may claim the globals.
        drop(super::claim(here()).unwrap());
        let _ = theirs.shutdown();
    }
}

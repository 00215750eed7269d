//! rayon's `spawn`, `join` and `scope`, carrying the current span and
//! OpenTelemetry context onto the thread pool.
//!
//! For parallel iterators, wrap the closure with
//! [`Captured::wrap_fn`](crate::Captured::wrap_fn):
//!
//! ```
//! use otlpkit_bridge::Captured;
//! use rayon::prelude::*;
//!
//! let captured = Captured::current();
//! let squares: Vec<u64> = (1..=4_u64)
//!     .into_par_iter()
//!     .map(captured.wrap_fn(|n| n * n))
//!     .collect();
//! assert_eq!(squares, [1, 4, 9, 16]);
//! ```

use std::fmt;

use crate::captured::Captured;

/// [`rayon::spawn`], carrying the current span and context.
pub fn spawn<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    rayon::spawn(Captured::current().wrap(f));
}

/// [`rayon::spawn_fifo`], carrying the current span and context.
pub fn spawn_fifo<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    rayon::spawn_fifo(Captured::current().wrap(f));
}

/// [`rayon::join`], carrying the current span and context into both
/// closures (either may be stolen by another pool thread).
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let captured = Captured::current();
    rayon::join(captured.clone().wrap(a), captured.wrap(b))
}

/// [`rayon::scope`], carrying the current span and context into the scope
/// body and every task spawned through [`Scope::spawn`].
pub fn scope<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&Scope<'_, 'scope>) -> R + Send,
    R: Send,
{
    let captured = Captured::current();
    rayon::scope(move |inner| {
        let _guard = captured.attach();
        op(&Scope {
            inner,
            captured: captured.clone(),
        })
    })
}

/// The scope handed out by [`scope`].
pub struct Scope<'a, 'scope> {
    inner: &'a rayon::Scope<'scope>,
    captured: Captured,
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("captured", &self.captured)
            .finish_non_exhaustive()
    }
}

impl<'scope> Scope<'_, 'scope> {
    /// [`rayon::Scope::spawn`], carrying the scope's span and context.
    pub fn spawn<BODY>(&self, body: BODY)
    where
        BODY: FnOnce(&Scope<'_, 'scope>) + Send + 'scope,
    {
        let captured = self.captured.clone();
        self.inner.spawn(move |inner| {
            let _guard = captured.attach();
            body(&Scope {
                inner,
                captured: captured.clone(),
            });
        });
    }

    /// The span and context this scope carries.
    pub fn captured(&self) -> &Captured {
        &self.captured
    }
}

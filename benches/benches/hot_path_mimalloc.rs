//! Scenario 1 again with mimalloc as the global allocator: the engines over
//! the discarding exporter, and the SDK alone, with 1 and 2 producers.
//!
//! Every batch engine ends a span on the producer's thread and frees its
//! data on the export thread. With glibc's allocator those cross-thread
//! frees contend for the producer's arena; an allocator built for them
//! (mimalloc returns such blocks through a per-page list, without a lock)
//! shows how much of the hand-off cost is the allocator's and how much is
//! the engine's. Same spans, same engines, same exporter as `hot_path`.
//!
//! `cargo bench -p otlpkit-benches --bench hot_path_mimalloc`

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use otlpkit_benches::{Exporter, Spec};

fn hot_path_mimalloc(c: &mut Criterion) {
    let specs = [
        Spec::no_processor(),
        Spec::drop_processor(),
        Spec::official(Exporter::Null),
        Spec::otlpkit(Exporter::Null),
    ];
    support::hot_path::bench_group(c, "hot_path_mimalloc", &[1, 2], &specs);
}

criterion_group!(benches, hot_path_mimalloc);
criterion_main!(benches);

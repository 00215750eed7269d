//! CPU time and peak memory of this process, read from Linux's `/proc`.

use std::time::Duration;

/// Thread-name prefixes of the testkit receiver (its runtime thread and
/// workers), whose CPU is not the pipeline's. Linux truncates thread names
/// to 15 bytes.
pub const RECEIVER_THREADS: &[&str] = &["otlpkit-receive"];

/// CPU time spent on a processor by the threads of this process whose name
/// starts with one of `prefixes` (`matching == true`) or with none of them
/// (`matching == false`), from each thread's `/proc/self/task/<tid>/schedstat`
/// (nanoseconds). Threads that have exited are not counted, so take both
/// readings of a measurement while the threads are alive.
fn cpu_time(prefixes: &[&str], matching: bool) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let mut total: u64 = 0;
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let matches = prefixes
            .iter()
            .any(|prefix| name.trim_end().starts_with(prefix));
        if matches != matching {
            continue;
        }
        let on_cpu = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| {
                s.split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .unwrap_or(0);
        total = total.saturating_add(on_cpu);
    }
    Duration::from_nanos(total)
}

/// CPU time of the pipeline (every thread but the receiver's).
pub fn pipeline_cpu() -> Duration {
    cpu_time(RECEIVER_THREADS, false)
}

/// CPU time of the receiver's threads.
pub fn receiver_cpu() -> Duration {
    cpu_time(RECEIVER_THREADS, true)
}

/// Peak resident set size of this process (`VmHWM`), in bytes.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Current resident set size (`VmRSS`), in bytes.
pub fn current_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

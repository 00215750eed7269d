//! One shard of the held traces: the undecided traces with their spans, in
//! the order they were first seen, and a bounded memory of the decisions
//! made, so that late spans follow them.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::time::{Instant, SystemTime};

use opentelemetry::trace::TraceId;

/// What became of a decided trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Keep,
    Drop,
}

/// An undecided trace.
#[derive(Debug)]
pub(crate) struct Held<S> {
    /// Tells this trace from an older one with the same id in `order`.
    seq: u64,
    pub(crate) first_seen: Instant,
    /// The earliest start among the held spans: the local root, still open,
    /// started no later.
    pub(crate) earliest_start: SystemTime,
    pub(crate) spans: Vec<S>,
}

/// An entry of the first-seen order; stale once its trace is decided.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    trace_id: TraceId,
    seq: u64,
    first_seen: Instant,
}

#[derive(Debug)]
pub(crate) struct Shard<S> {
    held: HashMap<TraceId, Held<S>>,
    /// First-seen order of the held traces, oldest first, with stale entries
    /// of traces decided since (skipped, and compacted away).
    order: VecDeque<Arrival>,
    next_seq: u64,
    /// Spans held in this shard.
    spans: usize,
    decided: HashMap<TraceId, Verdict>,
    decided_order: VecDeque<TraceId>,
    decided_capacity: usize,
}

impl<S> Shard<S> {
    pub(crate) fn new(decided_capacity: usize) -> Self {
        Self {
            held: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
            spans: 0,
            decided: HashMap::new(),
            decided_order: VecDeque::new(),
            decided_capacity: decided_capacity.max(1),
        }
    }

    pub(crate) fn held_spans(&self) -> usize {
        self.spans
    }

    pub(crate) fn held_traces(&self) -> usize {
        self.held.len()
    }

    /// Adds a span to its trace if the trace is held, returning the trace's
    /// span count; hands the span back otherwise.
    pub(crate) fn push(
        &mut self,
        trace_id: &TraceId,
        span: S,
        start: SystemTime,
    ) -> Result<usize, S> {
        match self.held.get_mut(trace_id) {
            Some(held) => {
                held.spans.push(span);
                held.earliest_start = held.earliest_start.min(start);
                self.spans += 1;
                Ok(held.spans.len())
            }
            None => Err(span),
        }
    }

    /// Starts holding a trace with its first span.
    pub(crate) fn hold(&mut self, trace_id: TraceId, span: S, start: SystemTime, now: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        // Most traces held have a few spans: room for eight saves the first
        // regrowths (each one moves every span held so far).
        let mut spans = Vec::with_capacity(8);
        spans.push(span);
        self.held.insert(
            trace_id,
            Held {
                seq,
                first_seen: now,
                earliest_start: start,
                spans,
            },
        );
        self.spans += 1;
        self.order.push_back(Arrival {
            trace_id,
            seq,
            first_seen: now,
        });
        // Traces decided by their root leave stale entries behind: keep the
        // order at most about twice the held traces (amortised O(1)).
        if self.order.len() > 2 * self.held.len() + 64 {
            let held = &self.held;
            self.order
                .retain(|a| held.get(&a.trace_id).is_some_and(|h| h.seq == a.seq));
        }
    }

    /// Stops holding a trace and hands its spans over.
    pub(crate) fn take(&mut self, trace_id: &TraceId) -> Option<Held<S>> {
        let held = self.held.remove(trace_id)?;
        self.spans -= held.spans.len();
        Some(held)
    }

    /// The verdict already given for a trace, if it is still remembered.
    pub(crate) fn verdict(&self, trace_id: &TraceId) -> Option<Verdict> {
        self.decided.get(trace_id).copied()
    }

    /// Remembers a verdict, forgetting the oldest one beyond the capacity.
    pub(crate) fn remember(&mut self, trace_id: TraceId, verdict: Verdict) {
        match self.decided.entry(trace_id) {
            Entry::Occupied(mut entry) => {
                entry.insert(verdict);
                return;
            }
            Entry::Vacant(entry) => {
                entry.insert(verdict);
            }
        }
        self.decided_order.push_back(trace_id);
        while self.decided_order.len() > self.decided_capacity {
            if let Some(old) = self.decided_order.pop_front() {
                self.decided.remove(&old);
            }
        }
    }

    /// The oldest held trace: its first-seen time, id and sequence number
    /// (stale entries in front are removed on the way).
    pub(crate) fn oldest(&mut self) -> Option<(Instant, TraceId, u64)> {
        while let Some(front) = self.order.front() {
            if self
                .held
                .get(&front.trace_id)
                .is_some_and(|h| h.seq == front.seq)
            {
                return Some((front.first_seen, front.trace_id, front.seq));
            }
            self.order.pop_front();
        }
        None
    }

    /// Takes the oldest held trace if it is still the one `oldest` named.
    pub(crate) fn take_if_oldest(&mut self, trace_id: &TraceId, seq: u64) -> Option<Held<S>> {
        match self.oldest() {
            Some((_, id, s)) if id == *trace_id && s == seq => {
                self.order.pop_front();
                self.take(trace_id)
            }
            _ => None,
        }
    }

    /// Takes every held trace first seen at or before `deadline`, oldest
    /// first.
    pub(crate) fn take_expired(&mut self, deadline: Instant) -> Vec<(TraceId, Held<S>)> {
        let mut expired = Vec::new();
        while let Some((first_seen, trace_id, seq)) = self.oldest() {
            if first_seen > deadline {
                break;
            }
            self.order.pop_front();
            if let Some(held) = self.take(&trace_id) {
                debug_assert_eq!(held.seq, seq);
                expired.push((trace_id, held));
            }
        }
        expired
    }

    /// Takes every held trace.
    pub(crate) fn take_all(&mut self) -> Vec<(TraceId, Held<S>)> {
        self.order.clear();
        self.spans = 0;
        self.held.drain().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn id(n: u128) -> TraceId {
        TraceId::from(n)
    }

    #[test]
    fn traces_leave_in_first_seen_order_and_stale_entries_are_skipped() {
        let mut shard = Shard::<u32>::new(4);
        let t0 = Instant::now();
        let start = SystemTime::UNIX_EPOCH;
        for n in 1..=3 {
            shard.hold(id(n), n as u32, start, t0 + Duration::from_millis(n as u64));
        }
        assert_eq!(shard.push(&id(2), 20, start), Ok(2));
        assert_eq!(shard.push(&id(9), 90, start), Err(90));
        assert_eq!((shard.held_traces(), shard.held_spans()), (3, 4));
        // Decided out of order: trace 1's entry goes stale.
        assert_eq!(shard.take(&id(1)).unwrap().spans, [1]);
        assert_eq!(shard.oldest().map(|o| o.1), Some(id(2)));
        let expired = shard.take_expired(t0 + Duration::from_millis(2));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].1.spans, [2, 20]);
        let (_, oldest, seq) = shard.oldest().unwrap();
        assert_eq!(oldest, id(3));
        assert!(shard.take_if_oldest(&id(3), seq + 1).is_none());
        assert!(shard.take_if_oldest(&id(3), seq).is_some());
        assert_eq!((shard.held_traces(), shard.held_spans()), (0, 0));
        assert!(shard.oldest().is_none());
    }

    #[test]
    fn the_order_stays_bounded_when_traces_are_decided_by_their_root() {
        let mut shard = Shard::<u32>::new(4);
        let now = Instant::now();
        for n in 0..10_000 {
            shard.hold(id(n), 0, SystemTime::UNIX_EPOCH, now);
            shard.take(&id(n));
        }
        assert!(shard.order.len() <= 64 + 2, "{}", shard.order.len());
    }

    #[test]
    fn remembered_verdicts_are_bounded_and_the_oldest_is_forgotten() {
        let mut shard = Shard::<u32>::new(2);
        shard.remember(id(1), Verdict::Keep);
        shard.remember(id(2), Verdict::Drop);
        shard.remember(id(2), Verdict::Drop);
        shard.remember(id(3), Verdict::Keep);
        assert_eq!(shard.verdict(&id(1)), None);
        assert_eq!(shard.verdict(&id(2)), Some(Verdict::Drop));
        assert_eq!(shard.verdict(&id(3)), Some(Verdict::Keep));
        assert_eq!(shard.decided.len(), 2);
    }
}

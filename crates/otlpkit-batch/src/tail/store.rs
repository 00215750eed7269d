//! One shard of the held traces: the undecided traces with their spans, in
//! the order they were first seen, and a bounded memory of the decisions
//! made, so that late spans follow them.

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
    memory: Memory,
}

/// A remembered verdict: its place in its list (`seq`), and whether the
/// trace's local root had not ended yet when it was last seen.
#[derive(Debug, Clone, Copy)]
struct Decided {
    verdict: Verdict,
    seq: u64,
    open: bool,
}

/// The verdicts of one shard, in two lists, each least recently seen first
/// (every span that follows a verdict moves it to the back):
///
/// - `open`: traces decided before their local root ended (kept by
///   evidence, the parent or the ratio, or decided early). They can still
///   get spans from this process, so their verdict is kept until the root
///   ends, up to `open_capacity`; past it, the least recently seen one moves
///   to `ended` (it is then forgotten like a trace whose root ended).
/// - `ended`: traces whose local root ended, up to `ended_capacity`; past
///   it, the least recently seen one is forgotten.
///
/// Entries of a list are `(trace id, seq)`; one whose `seq` is no longer
/// its trace's is stale (skipped, and compacted away).
#[derive(Debug)]
struct Memory {
    decided: HashMap<TraceId, Decided>,
    open: VecDeque<(TraceId, u64)>,
    open_live: usize,
    open_capacity: usize,
    ended: VecDeque<(TraceId, u64)>,
    ended_live: usize,
    ended_capacity: usize,
    next_seq: u64,
}

impl Memory {
    fn new(ended_capacity: usize, open_capacity: usize) -> Self {
        Self {
            decided: HashMap::new(),
            open: VecDeque::new(),
            open_live: 0,
            open_capacity: open_capacity.max(1),
            ended: VecDeque::new(),
            ended_live: 0,
            ended_capacity: ended_capacity.max(1),
            next_seq: 0,
        }
    }

    /// Puts `trace_id`'s verdict at the back of the list `open` names,
    /// taking it out of the list it was in, within the capacities.
    fn place(&mut self, trace_id: TraceId, verdict: Verdict, open: bool) {
        self.insert(trace_id, verdict, open);
        self.enforce_capacity();
    }

    fn insert(&mut self, trace_id: TraceId, verdict: Verdict, open: bool) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Decided { verdict, seq, open };
        if let Some(old) = self.decided.insert(trace_id, entry) {
            if old.open {
                self.open_live -= 1;
            } else {
                self.ended_live -= 1;
            }
        }
        if open {
            self.open_live += 1;
            self.open.push_back((trace_id, seq));
        } else {
            self.ended_live += 1;
            self.ended.push_back((trace_id, seq));
        }
    }

    fn is_live(decided: &HashMap<TraceId, Decided>, (trace_id, seq): (TraceId, u64)) -> bool {
        decided.get(&trace_id).is_some_and(|d| d.seq == seq)
    }

    /// Moves the open verdicts beyond their capacity to `ended`, forgets
    /// the ended ones beyond theirs, and compacts the lists (amortised
    /// O(1): a list is compacted when at least half of it is stale).
    fn enforce_capacity(&mut self) {
        while self.open_live > self.open_capacity {
            let Some(front) = self.open.pop_front() else {
                break;
            };
            if let Some(&Decided { verdict, .. }) =
                self.decided.get(&front.0).filter(|d| d.seq == front.1)
            {
                self.insert(front.0, verdict, false);
            }
        }
        while self.ended_live > self.ended_capacity {
            let Some(front) = self.ended.pop_front() else {
                break;
            };
            if Self::is_live(&self.decided, front) {
                self.decided.remove(&front.0);
                self.ended_live -= 1;
            }
        }
        for (list, live) in [
            (&mut self.open, self.open_live),
            (&mut self.ended, self.ended_live),
        ] {
            if list.len() > 2 * live + 64 {
                let decided = &self.decided;
                list.retain(|&entry| Self::is_live(decided, entry));
            }
        }
    }
}

impl<S> Shard<S> {
    /// A shard remembering the verdicts of up to `ended_capacity` traces
    /// whose local root ended and of up to `open_capacity` traces decided
    /// before it ended.
    pub(crate) fn new(ended_capacity: usize, open_capacity: usize) -> Self {
        Self {
            held: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
            spans: 0,
            memory: Memory::new(ended_capacity, open_capacity),
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
        self.memory.decided.get(trace_id).map(|d| d.verdict)
    }

    /// The verdict a span of `trace_id` follows, if it is still remembered;
    /// the span refreshes it (its trace is the most recently seen), and
    /// when it is the local root (`root`), its trace's root has ended.
    pub(crate) fn follow(&mut self, trace_id: &TraceId, root: bool) -> Option<Verdict> {
        let decided = *self.memory.decided.get(trace_id)?;
        self.memory
            .place(*trace_id, decided.verdict, decided.open && !root);
        Some(decided.verdict)
    }

    /// Remembers a verdict; `root_open`: the trace's local root has not
    /// ended yet (the verdict is then kept until it ends, up to the open
    /// capacity).
    pub(crate) fn remember(&mut self, trace_id: TraceId, verdict: Verdict, root_open: bool) {
        self.memory.place(trace_id, verdict, root_open);
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
        let mut shard = Shard::<u32>::new(4, 4);
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
        let mut shard = Shard::<u32>::new(4, 4);
        let now = Instant::now();
        for n in 0..10_000 {
            shard.hold(id(n), 0, SystemTime::UNIX_EPOCH, now);
            shard.take(&id(n));
        }
        assert!(shard.order.len() <= 64 + 2, "{}", shard.order.len());
    }

    #[test]
    fn remembered_verdicts_are_bounded_and_the_least_recently_seen_is_forgotten() {
        let mut shard = Shard::<u32>::new(2, 4);
        shard.remember(id(1), Verdict::Keep, false);
        shard.remember(id(2), Verdict::Drop, false);
        shard.remember(id(2), Verdict::Drop, false);
        // A span following trace 1 makes it the most recently seen.
        assert_eq!(shard.follow(&id(1), false), Some(Verdict::Keep));
        shard.remember(id(3), Verdict::Keep, false);
        assert_eq!(shard.verdict(&id(2)), None);
        assert_eq!(shard.verdict(&id(1)), Some(Verdict::Keep));
        assert_eq!(shard.verdict(&id(3)), Some(Verdict::Keep));
        assert_eq!(shard.memory.decided.len(), 2);
        assert_eq!(shard.follow(&id(2), false), None);
    }

    #[test]
    fn a_verdict_given_before_the_root_ended_is_kept_until_it_ends() {
        let mut shard = Shard::<u32>::new(2, 2);
        shard.remember(id(1), Verdict::Keep, true);
        for n in 10..1_000 {
            shard.remember(id(n), Verdict::Drop, false);
        }
        // Not pushed out by the traces whose roots ended meanwhile.
        assert_eq!(shard.follow(&id(1), false), Some(Verdict::Keep));
        // Its root ends: from now on it is forgotten like any other.
        assert_eq!(shard.follow(&id(1), true), Some(Verdict::Keep));
        shard.remember(id(2), Verdict::Drop, false);
        assert_eq!(shard.verdict(&id(1)), Some(Verdict::Keep));
        shard.remember(id(3), Verdict::Drop, false);
        assert_eq!(shard.verdict(&id(1)), None);
        let memory = &shard.memory;
        assert_eq!((memory.open_live, memory.ended_live), (0, 2));
    }

    #[test]
    fn open_verdicts_past_their_capacity_are_forgotten_like_ended_ones() {
        let mut shard = Shard::<u32>::new(2, 2);
        shard.remember(id(1), Verdict::Keep, true);
        shard.remember(id(2), Verdict::Keep, true);
        // Seen again: trace 2 is now the least recently seen open trace.
        shard.follow(&id(1), false);
        shard.remember(id(3), Verdict::Drop, true);
        let memory = &shard.memory;
        assert_eq!((memory.open_live, memory.ended_live), (2, 1));
        assert!(!memory.decided[&id(2)].open);
        assert!(memory.decided[&id(1)].open && memory.decided[&id(3)].open);
        shard.remember(id(4), Verdict::Drop, false);
        shard.remember(id(5), Verdict::Drop, false);
        assert_eq!(shard.verdict(&id(2)), None);
        assert_eq!(shard.verdict(&id(1)), Some(Verdict::Keep));
    }

    #[test]
    fn the_verdict_lists_stay_bounded_when_spans_refresh_them() {
        let mut shard = Shard::<u32>::new(8, 8);
        for n in 0..10_000_u128 {
            shard.remember(id(n % 4), Verdict::Keep, n % 3 == 0);
            shard.follow(&id(n % 5), n % 7 == 0);
        }
        let memory = &shard.memory;
        assert!(memory.open.len() <= 2 * memory.open_live + 64 + 1);
        assert!(memory.ended.len() <= 2 * memory.ended_live + 64 + 1);
        assert_eq!(memory.open_live + memory.ended_live, memory.decided.len());
    }
}

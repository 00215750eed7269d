//! The parent/child structure of received spans.

use std::collections::HashMap;
use std::fmt;

use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use crate::items::{ReceivedSpan, hex};

/// One span and its children, ordered by start time.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SpanNode {
    /// The span.
    pub span: ReceivedSpan,
    /// Its children, ordered by start time, then name.
    pub children: Vec<SpanNode>,
    /// The span has a parent id but no span with that id was given: it is shown as a root.
    pub parent_missing: bool,
}

impl SpanNode {
    /// The span name.
    pub fn name(&self) -> &str {
        &self.span.span.name
    }

    /// The first direct child named `name`.
    pub fn child(&self, name: &str) -> Option<&SpanNode> {
        self.children.iter().find(|c| c.name() == name)
    }

    /// Names of the direct children, in order.
    pub fn child_names(&self) -> Vec<&str> {
        self.children.iter().map(SpanNode::name).collect()
    }
}

impl Drop for SpanNode {
    /// Drops descendants iteratively, so a very deep tree cannot overflow the stack.
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.children);
        while let Some(mut node) = stack.pop() {
            stack.append(&mut node.children);
        }
    }
}

/// A forest of spans linked by `parent_span_id` within the same trace.
///
/// Roots are spans without a parent id, spans whose parent was not received (marked
/// [`SpanNode::parent_missing`]) and spans caught in an id cycle. `Display` prints one line
/// per span, indented two spaces per level, with duration and status; [`SpanTree::outline`]
/// prints the names only, for exact assertions. Both cap the indentation at 40 levels (a
/// deeper line starts with `[depth N] `), so that printing takes time and memory linear
/// in the number of spans, however deep they nest.
///
/// ```
/// # use otlpkit_testkit::SpanTree;
/// let tree = SpanTree::from_spans(Vec::new());
/// assert!(tree.is_empty());
/// assert_eq!(tree.outline(), "");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanTree {
    roots: Vec<SpanNode>,
}

impl SpanTree {
    /// Builds the forest of `spans`.
    pub fn from_spans(spans: impl IntoIterator<Item = ReceivedSpan>) -> SpanTree {
        let spans: Vec<ReceivedSpan> = spans.into_iter().collect();
        let n = spans.len();
        let layout = Layout::of(&spans, |s| &s.span);
        // Building in reverse pre-order puts children first.
        let mut spans: Vec<Option<ReceivedSpan>> = spans.into_iter().map(Some).collect();
        let mut built: Vec<Option<SpanNode>> = vec![None; n];
        for &(i, _) in layout.order.iter().rev() {
            let kids = layout
                .children_of(i)
                .iter()
                .filter_map(|&c| built[c].take())
                .collect();
            if let Some(span) = spans[i].take() {
                built[i] = Some(SpanNode {
                    span,
                    children: kids,
                    parent_missing: layout.parent_missing[i],
                });
            }
        }
        SpanTree {
            roots: layout
                .roots
                .iter()
                .filter_map(|&r| built[r].take())
                .collect(),
        }
    }

    /// The root spans.
    pub fn roots(&self) -> &[SpanNode] {
        &self.roots
    }

    /// Every node with its depth (0 for roots), in pre-order.
    pub fn nodes(&self) -> Vec<(usize, &SpanNode)> {
        let mut out = Vec::new();
        let mut stack: Vec<(usize, &SpanNode)> = self.roots.iter().rev().map(|r| (0, r)).collect();
        while let Some((depth, node)) = stack.pop() {
            out.push((depth, node));
            stack.extend(node.children.iter().rev().map(|c| (depth + 1, c)));
        }
        out
    }

    /// Number of spans.
    pub fn len(&self) -> usize {
        self.nodes().len()
    }

    /// Whether there are no spans.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// The first node (pre-order) named `name`.
    pub fn find(&self, name: &str) -> Option<&SpanNode> {
        self.nodes()
            .into_iter()
            .map(|(_, n)| n)
            .find(|n| n.name() == name)
    }

    /// The parent of the first node named `name`; `None` if it is a root or absent.
    pub fn parent_of(&self, name: &str) -> Option<&SpanNode> {
        self.nodes()
            .into_iter()
            .map(|(_, n)| n)
            .find(|n| n.children.iter().any(|c| c.name() == name))
    }

    /// The depth of the deepest span plus one (0 for an empty tree).
    pub fn depth(&self) -> usize {
        self.nodes()
            .into_iter()
            .map(|(d, _)| d + 1)
            .max()
            .unwrap_or(0)
    }

    /// Span names, one per line, indented two spaces per level; each line ends in `\n`.
    /// Past 40 levels the indentation stays at 40 and the line starts with `[depth N] `.
    pub fn outline(&self) -> String {
        let mut out = String::new();
        for (depth, node) in self.nodes() {
            let _ = indent(&mut out, depth);
            out.push_str(node.name());
            out.push('\n');
        }
        out
    }
}

/// The shape of a forest of spans given by index: parents, children, and the pre-order
/// with depths. Built in O(n log n) time without recursion, however deep the spans nest.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    /// `(index, depth)` in pre-order: traces ordered by their earliest root, roots of one
    /// trace by start time, children by start time then name.
    pub(crate) order: Vec<(usize, usize)>,
    /// Children of all spans, ordered, those of span `i` at
    /// `children[child_start[i]..child_start[i + 1]]` (one allocation, not one per span).
    children: Vec<usize>,
    child_start: Vec<usize>,
    /// The roots, ordered.
    pub(crate) roots: Vec<usize>,
    /// The span names a parent that was not given.
    pub(crate) parent_missing: Vec<bool>,
}

impl Layout {
    /// The layout of `items`, whose spans `span_of` gives.
    pub(crate) fn of<T>(items: &[T], span_of: impl Fn(&T) -> &Span) -> Layout {
        let n = items.len();
        let spans: Vec<&Span> = items.iter().map(span_of).collect();
        let mut first_by_id: HashMap<(&[u8], &[u8]), usize> = HashMap::with_capacity(n);
        for (i, s) in spans.iter().enumerate() {
            first_by_id
                .entry((s.trace_id.as_slice(), s.span_id.as_slice()))
                .or_insert(i);
        }
        let mut parent: Vec<Option<usize>> = Vec::with_capacity(n);
        let mut parent_missing = vec![false; n];
        for (i, s) in spans.iter().enumerate() {
            if s.parent_span_id.is_empty() {
                parent.push(None);
                continue;
            }
            let found = first_by_id
                .get(&(s.trace_id.as_slice(), s.parent_span_id.as_slice()))
                .copied()
                .filter(|&p| p != i);
            parent_missing[i] = found.is_none();
            parent.push(found);
        }
        drop(first_by_id);
        break_cycles(&mut parent);

        let mut child_start = vec![0usize; n + 1];
        let mut roots: Vec<usize> = Vec::new();
        for (i, p) in parent.iter().enumerate() {
            match p {
                Some(p) => child_start[*p + 1] += 1,
                None => roots.push(i),
            }
        }
        for i in 0..n {
            child_start[i + 1] += child_start[i];
        }
        let mut children = vec![0usize; child_start[n]];
        let mut next = child_start.clone();
        for (i, p) in parent.iter().enumerate() {
            if let Some(p) = p {
                children[next[*p]] = i;
                next[*p] += 1;
            }
        }
        drop(next);
        drop(parent);
        let by_start = |a: &usize, b: &usize| {
            let (sa, sb) = (spans[*a], spans[*b]);
            sa.start_time_unix_nano
                .cmp(&sb.start_time_unix_nano)
                .then_with(|| sa.name.cmp(&sb.name))
        };
        for i in 0..n {
            children[child_start[i]..child_start[i + 1]].sort_by(by_start);
        }
        let mut trace_start: HashMap<&[u8], u64> = HashMap::new();
        for &r in &roots {
            let s = spans[r];
            let e = trace_start
                .entry(s.trace_id.as_slice())
                .or_insert(s.start_time_unix_nano);
            *e = (*e).min(s.start_time_unix_nano);
        }
        roots.sort_by(|a, b| {
            let (sa, sb) = (spans[*a], spans[*b]);
            trace_start[sa.trace_id.as_slice()]
                .cmp(&trace_start[sb.trace_id.as_slice()])
                .then_with(|| sa.trace_id.cmp(&sb.trace_id))
                .then_with(|| by_start(a, b))
        });
        drop(trace_start);

        let mut order = Vec::with_capacity(n);
        let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&r| (r, 0)).collect();
        while let Some((i, depth)) = stack.pop() {
            order.push((i, depth));
            let kids = &children[child_start[i]..child_start[i + 1]];
            stack.extend(kids.iter().rev().map(|&c| (c, depth + 1)));
        }
        Layout {
            order,
            children,
            child_start,
            roots,
            parent_missing,
        }
    }

    /// The children of span `i`, ordered.
    pub(crate) fn children_of(&self, i: usize) -> &[usize] {
        &self.children[self.child_start[i]..self.child_start[i + 1]]
    }
}

/// Indentation is capped at this many levels, so that printing a chain of n spans takes
/// O(n) characters, not O(n²); deeper lines start with their depth.
pub(crate) const MAX_INDENT: usize = 40;

/// Writes the indentation of `depth` (two spaces per level, capped at [`MAX_INDENT`]).
pub(crate) fn indent(out: &mut impl fmt::Write, depth: usize) -> fmt::Result {
    for _ in 0..depth.min(MAX_INDENT) {
        out.write_str("  ")?;
    }
    if depth > MAX_INDENT {
        write!(out, "[depth {depth}] ")?;
    }
    Ok(())
}

/// Cuts the parent link that closes a cycle, so every chain ends at a root.
fn break_cycles(parent: &mut [Option<usize>]) {
    const UNSEEN: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![UNSEEN; parent.len()];
    let mut path = Vec::new();
    for start in 0..parent.len() {
        if state[start] != UNSEEN {
            continue;
        }
        let mut cur = start;
        loop {
            state[cur] = ON_PATH;
            path.push(cur);
            match parent[cur] {
                None => break,
                Some(p) if state[p] == DONE => break,
                Some(p) if state[p] == ON_PATH => {
                    parent[cur] = None;
                    break;
                }
                Some(p) => cur = p,
            }
        }
        for i in path.drain(..) {
            state[i] = DONE;
        }
    }
}

/// One span line: `name (duration, status)`.
pub(crate) fn span_line(node: &SpanNode) -> String {
    let span = &node.span;
    let status = match span.status_code() {
        StatusCode::Unset => "unset".to_owned(),
        StatusCode::Ok => "ok".to_owned(),
        StatusCode::Error => match span.span.status.as_ref().map(|s| s.message.as_str()) {
            Some(message) if !message.is_empty() => format!("error: {message}"),
            _ => "error".to_owned(),
        },
    };
    let mut line = format!("{} ({:?}, {status})", span.name(), span.duration());
    if node.parent_missing {
        line.push_str(&format!(
            " [parent {} not received]",
            hex(&span.span.parent_span_id)
        ));
    }
    line
}

impl fmt::Display for SpanTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let traces = self
            .roots
            .iter()
            .map(|r| r.span.span.trace_id.as_slice())
            .collect::<std::collections::HashSet<_>>()
            .len();
        let mut last_trace: Option<&[u8]> = None;
        for (depth, node) in self.nodes() {
            let trace = node.span.span.trace_id.as_slice();
            if depth == 0 && traces > 1 && last_trace != Some(trace) {
                writeln!(f, "trace {}", hex(trace))?;
                last_trace = Some(trace);
            }
            indent(f, if traces > 1 { depth + 1 } else { depth })?;
            writeln!(f, "{}", span_line(node))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::Origin;
    use crate::request::Protocol;
    use opentelemetry_proto::tonic::trace::v1::{Span, Status};

    fn span(trace: u8, id: u8, parent: Option<u8>, name: &str, start: u64) -> ReceivedSpan {
        ReceivedSpan {
            origin: Origin {
                resource: Default::default(),
                resource_schema_url: String::new(),
                scope: Default::default(),
                scope_schema_url: String::new(),
                request_seq: 1,
                protocol: Protocol::Grpc,
            },
            span: Span {
                trace_id: vec![trace; 16],
                span_id: vec![id; 8],
                parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
                name: name.into(),
                start_time_unix_nano: start,
                end_time_unix_nano: start + 1_500_000,
                ..Default::default()
            },
        }
    }

    #[test]
    fn builds_nested_tree_ordered_by_start() {
        let tree = SpanTree::from_spans(vec![
            span(1, 3, Some(1), "late-child", 30),
            span(1, 4, Some(2), "grandchild", 25),
            span(1, 1, None, "root", 10),
            span(1, 2, Some(1), "early-child", 20),
        ]);
        assert_eq!(
            tree.outline(),
            "root\n  early-child\n    grandchild\n  late-child\n"
        );
        assert_eq!(tree.len(), 4);
        assert_eq!(tree.depth(), 3);
        assert_eq!(tree.parent_of("grandchild").unwrap().name(), "early-child");
        assert!(tree.parent_of("root").is_none());
        assert_eq!(tree.roots()[0].child_names(), ["early-child", "late-child"]);
        assert!(tree.find("nope").is_none());
    }

    #[test]
    fn display_shows_duration_status_and_missing_parents() {
        let mut failing = span(1, 2, Some(1), "child", 20);
        failing.span.status = Some(Status {
            message: "boom".into(),
            code: StatusCode::Error as i32,
        });
        let orphan = span(1, 5, Some(9), "orphan", 40);
        let tree = SpanTree::from_spans(vec![span(1, 1, None, "root", 10), failing, orphan]);
        assert_eq!(
            tree.to_string(),
            "root (1.5ms, unset)\n  child (1.5ms, error: boom)\n\
             orphan (1.5ms, unset) [parent 0909090909090909 not received]\n"
        );
        assert!(tree.find("orphan").unwrap().parent_missing);
    }

    #[test]
    fn separates_traces_and_survives_cycles() {
        let tree = SpanTree::from_spans(vec![
            span(2, 1, None, "second-trace-root", 50),
            span(1, 1, None, "first-trace-root", 10),
            // Same span ids in another trace must not be linked across traces.
            span(2, 2, Some(1), "second-child", 60),
            // A cycle: a -> b -> a.
            span(3, 7, Some(8), "a", 70),
            span(3, 8, Some(7), "b", 80),
            // A span that names itself as parent.
            span(4, 6, Some(6), "selfish", 90),
        ]);
        assert_eq!(tree.len(), 6);
        let text = tree.to_string();
        assert!(
            text.starts_with(&format!("trace {}\n  first-trace-root", "01".repeat(16))),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "trace {}\n  second-trace-root (1.5ms, unset)\n    second-child",
                "02".repeat(16)
            )),
            "{text}"
        );
        let outline = tree.outline();
        assert!(
            outline.contains("a\n  b\n") || outline.contains("b\n  a\n"),
            "{outline}"
        );
        assert!(tree.find("selfish").unwrap().parent_missing);
    }

    #[test]
    fn deep_chains_do_not_recurse() {
        let n = 20_000u32;
        let spans = (0..n).map(|i| {
            let mut s = span(1, 0, None, &format!("s{i}"), u64::from(i));
            s.span.span_id = (u64::from(i) + 1).to_be_bytes().to_vec();
            if i > 0 {
                s.span.parent_span_id = u64::from(i).to_be_bytes().to_vec();
            }
            s
        });
        let tree = SpanTree::from_spans(spans);
        assert_eq!(tree.depth(), n as usize);
        assert_eq!(tree.roots().len(), 1);
        assert_eq!(tree.len(), n as usize);
        // Printing is linear: the indentation stops growing at MAX_INDENT levels.
        let text = tree.to_string();
        let longest = text.lines().map(str::len).max().unwrap();
        assert!(longest < 2 * MAX_INDENT + 60, "{longest}");
        assert!(
            text.ends_with("[depth 19999] s19999 (1.5ms, unset)\n"),
            "{}",
            &text[text.len() - 200..]
        );
        let outline = tree.outline();
        assert!(outline.len() < n as usize * (2 * MAX_INDENT + 20));
        // Dropping must not recurse either.
        drop(tree);
    }
}

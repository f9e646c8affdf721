//! When invited accounts accept: with `--accept-after-ms`, an invitation pending that long
//! reads as accepted from then on. Pending accounts wait in the order they became pending,
//! so finding the due ones looks at the front of a queue only.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use jiff::Timestamp;

#[derive(Default)]
pub(super) struct Pending {
    /// The line of each pending user, with when it became pending (monotonic and wall time).
    since: HashMap<u32, (Instant, Timestamp)>,
    /// Lines in the order they became pending. An entry whose time no longer matches `since`
    /// is stale (the user left the state, or entered it again later) and is skipped.
    queue: VecDeque<(u32, Instant)>,
}

/// Whether an `externalUserState` is PendingAcceptance (the docs also write it with a space).
pub(super) fn is_pending(state: Option<&str>) -> bool {
    state.is_some_and(|s| s.replace(' ', "").eq_ignore_ascii_case("PendingAcceptance"))
}

pub(super) fn is_accepted(state: Option<&str>) -> bool {
    state.is_some_and(|s| s.trim().eq_ignore_ascii_case("Accepted"))
}

/// A time as Graph writes it: RFC 3339, UTC, to the second.
pub(super) fn rfc3339(t: Timestamp) -> String {
    t.round(jiff::Unit::Second).unwrap_or(t).to_string()
}

impl Pending {
    /// Notes a user's line changing state: the clock starts when it becomes pending, and
    /// stops when it is no longer; staying pending keeps the first time.
    pub(super) fn track(&mut self, line: u32, was: bool, is: bool, now: Instant) {
        match (was, is) {
            (false, true) => {
                self.since.insert(line, (now, Timestamp::now()));
                self.queue.push_back((line, now));
            }
            (_, false) => {
                self.since.remove(&line);
            }
            (true, true) => {}
        }
    }

    /// Whether some user may have waited `after` by `now`: a look at the queue's front.
    pub(super) fn due(&self, after: Duration, now: Instant) -> bool {
        self.queue
            .front()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= after)
    }

    /// The users pending for `after` by `now`, with when they accepted (became pending +
    /// `after`, in wall time); they are no longer tracked.
    pub(super) fn take_due(&mut self, after: Duration, now: Instant) -> Vec<(u32, Timestamp)> {
        let mut due = Vec::new();
        while let Some(&(line, at)) = self.queue.front() {
            if now.saturating_duration_since(at) < after {
                break;
            }
            self.queue.pop_front();
            if let Some(&(since, wall)) = self.since.get(&line)
                && since == at
            {
                self.since.remove(&line);
                due.push((line, wall.checked_add(after).unwrap_or(wall)));
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_due_once_it_has_waited_and_only_once() {
        let start = Instant::now();
        let after = Duration::from_millis(500);
        let mut p = Pending::default();
        p.track(1, false, true, start);
        p.track(2, false, true, start + Duration::from_millis(300));
        assert!(!p.due(after, start + Duration::from_millis(499)));
        assert!(
            p.take_due(after, start + Duration::from_millis(499))
                .is_empty()
        );
        let due = p.take_due(after, start + Duration::from_millis(600));
        assert_eq!(due.iter().map(|d| d.0).collect::<Vec<_>>(), vec![1]);
        assert!(
            p.take_due(after, start + Duration::from_millis(700))
                .is_empty()
        );
        assert_eq!(p.take_due(after, start + Duration::from_secs(1)).len(), 1);
    }

    #[test]
    fn leaving_the_state_stops_the_clock_and_staying_keeps_it() {
        let start = Instant::now();
        let after = Duration::from_millis(100);
        let mut p = Pending::default();
        p.track(1, false, true, start);
        p.track(1, true, false, start + Duration::from_millis(10));
        p.track(1, false, true, start + Duration::from_millis(50));
        p.track(1, true, true, start + Duration::from_millis(90));
        // The first entry is stale; the second became due at 150 ms.
        assert!(
            p.take_due(after, start + Duration::from_millis(120))
                .is_empty()
        );
        assert_eq!(
            p.take_due(after, start + Duration::from_millis(150)).len(),
            1
        );
    }

    #[test]
    fn states_are_read_as_graph_and_its_docs_write_them() {
        assert!(is_pending(Some("Pending Acceptance")));
        assert!(is_pending(Some("PendingAcceptance")));
        assert!(!is_pending(None));
        assert!(is_accepted(Some("accepted")));
    }
}

//! Per-host circuit breaker state machine: closed → open after N consecutive failures →
//! half-open (one probe) after a cool-down → closed on the probe's success, open again on its
//! failure. Pure and clock-injected so it is tested without sleeping; `http` owns the locking.

use std::time::{Duration, Instant};

use crate::telemetry::BreakerState;

/// Admission of one attempt. Carries the breaker generation it was admitted under, so results of
/// attempts admitted before a state change (stragglers) do not count towards the new state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    generation: u64,
    /// This attempt is the single half-open probe.
    pub probe: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed { consecutive_failures: u32 },
    Open { until: Instant },
    HalfOpen { probe_in_flight: bool },
}

/// One host's breaker.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    state: State,
    /// Bumped on every transition.
    generation: u64,
    trips: u64,
}

/// What `admit` decided, plus the state transition it caused (open → half-open), if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    pub ticket: Option<Ticket>,
    pub transition: Option<BreakerState>,
}

impl CircuitBreaker {
    /// `threshold` consecutive failures open the breaker (0 is treated as 1).
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        CircuitBreaker {
            threshold: threshold.max(1),
            cooldown,
            state: State::Closed {
                consecutive_failures: 0,
            },
            generation: 0,
            trips: 0,
        }
    }

    pub fn state(&self) -> BreakerState {
        match self.state {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// How many times the breaker has opened.
    pub fn trips(&self) -> u64 {
        self.trips
    }

    fn transition(&mut self, state: State) -> Option<BreakerState> {
        self.state = state;
        self.generation += 1;
        Some(self.state())
    }

    fn ticket(&self, probe: bool) -> Option<Ticket> {
        Some(Ticket {
            generation: self.generation,
            probe,
        })
    }

    /// May an attempt go out now? Open → rejected until the cool-down ends, then the first
    /// caller becomes the half-open probe and everyone else is rejected until it reports.
    pub fn admit(&mut self, now: Instant) -> Admission {
        match self.state {
            State::Closed { .. } => Admission {
                ticket: self.ticket(false),
                transition: None,
            },
            State::Open { until } if now >= until => {
                let transition = self.transition(State::HalfOpen {
                    probe_in_flight: true,
                });
                Admission {
                    ticket: self.ticket(true),
                    transition,
                }
            }
            State::HalfOpen {
                probe_in_flight: false,
            } => {
                self.state = State::HalfOpen {
                    probe_in_flight: true,
                };
                Admission {
                    ticket: self.ticket(true),
                    transition: None,
                }
            }
            State::Open { .. } | State::HalfOpen { .. } => Admission {
                ticket: None,
                transition: None,
            },
        }
    }

    /// The host answered (any status that says it is up).
    pub fn on_success(&mut self, ticket: Ticket) -> Option<BreakerState> {
        if ticket.generation != self.generation {
            return None;
        }
        match self.state {
            State::Closed { .. } => {
                self.state = State::Closed {
                    consecutive_failures: 0,
                };
                None
            }
            State::HalfOpen { .. } if ticket.probe => self.transition(State::Closed {
                consecutive_failures: 0,
            }),
            _ => None,
        }
    }

    /// The host failed (connection error, timeout, 5xx).
    pub fn on_failure(&mut self, ticket: Ticket, now: Instant) -> Option<BreakerState> {
        if ticket.generation != self.generation {
            return None;
        }
        match self.state {
            State::Closed {
                consecutive_failures,
            } => {
                let failures = consecutive_failures + 1;
                if failures >= self.threshold {
                    self.trips += 1;
                    self.transition(State::Open {
                        until: now + self.cooldown,
                    })
                } else {
                    self.state = State::Closed {
                        consecutive_failures: failures,
                    };
                    None
                }
            }
            State::HalfOpen { .. } if ticket.probe => {
                self.trips += 1;
                self.transition(State::Open {
                    until: now + self.cooldown,
                })
            }
            _ => None,
        }
    }

    /// Should an attempt admitted under `ticket`, but still queued for a connection slot, be
    /// dropped? Yes when the breaker opened since: a queued request must not go to a host
    /// already declared down (only the half-open probe goes).
    pub fn rejects_queued(&self, ticket: Ticket) -> bool {
        matches!(self.state, State::Open { .. }) && ticket.generation != self.generation
    }

    /// The probe was cancelled before it learned anything: let the next caller probe.
    pub fn on_abandoned(&mut self, ticket: Ticket) {
        if ticket.probe
            && ticket.generation == self.generation
            && matches!(self.state, State::HalfOpen { .. })
        {
            self.state = State::HalfOpen {
                probe_in_flight: false,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOLDOWN: Duration = Duration::from_secs(30);

    fn admitted(b: &mut CircuitBreaker, now: Instant) -> Ticket {
        b.admit(now).ticket.expect("admitted")
    }

    #[test]
    fn opens_after_threshold_consecutive_failures_only() {
        let now = Instant::now();
        let mut b = CircuitBreaker::new(3, COOLDOWN);
        let t = admitted(&mut b, now);
        assert_eq!(b.on_failure(t, now), None);
        assert_eq!(b.on_failure(t, now), None);
        // A success in between resets the count.
        assert_eq!(b.on_success(t), None);
        assert_eq!(b.on_failure(t, now), None);
        assert_eq!(b.on_failure(t, now), None);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.on_failure(t, now), Some(BreakerState::Open));
        assert_eq!(b.trips(), 1);
        assert_eq!(b.admit(now).ticket, None);
        assert_eq!(b.admit(now + COOLDOWN / 2).ticket, None);
    }

    #[test]
    fn half_open_admits_a_single_probe_then_closes_on_success() {
        let now = Instant::now();
        let mut b = CircuitBreaker::new(1, COOLDOWN);
        let t = admitted(&mut b, now);
        assert_eq!(b.on_failure(t, now), Some(BreakerState::Open));
        let later = now + COOLDOWN;
        let probe = b.admit(later);
        assert_eq!(probe.transition, Some(BreakerState::HalfOpen));
        let probe = probe.ticket.expect("probe admitted");
        assert!(probe.probe);
        assert_eq!(b.admit(later).ticket, None, "only one probe at a time");
        assert_eq!(b.on_success(probe), Some(BreakerState::Closed));
        assert!(b.admit(later).ticket.is_some());
    }

    #[test]
    fn failed_probe_reopens_for_another_cooldown() {
        let now = Instant::now();
        let mut b = CircuitBreaker::new(1, COOLDOWN);
        let t = admitted(&mut b, now);
        b.on_failure(t, now);
        let later = now + COOLDOWN;
        let probe = admitted(&mut b, later);
        assert_eq!(b.on_failure(probe, later), Some(BreakerState::Open));
        assert_eq!(b.trips(), 2);
        assert_eq!(b.admit(later + COOLDOWN / 2).ticket, None);
        assert!(b.admit(later + COOLDOWN).ticket.is_some());
    }

    #[test]
    fn stragglers_from_before_a_transition_are_ignored() {
        let now = Instant::now();
        let mut b = CircuitBreaker::new(1, COOLDOWN);
        let early = admitted(&mut b, now);
        let straggler = admitted(&mut b, now);
        b.on_failure(early, now);
        // The straggler's success must not close the open breaker.
        assert_eq!(b.on_success(straggler), None);
        assert_eq!(b.state(), BreakerState::Open);
        let probe = admitted(&mut b, now + COOLDOWN);
        assert_eq!(b.on_failure(straggler, now + COOLDOWN), None);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.on_success(probe), Some(BreakerState::Closed));
    }

    #[test]
    fn abandoned_probe_lets_the_next_caller_probe() {
        let now = Instant::now();
        let mut b = CircuitBreaker::new(1, COOLDOWN);
        let t = admitted(&mut b, now);
        b.on_failure(t, now);
        let probe = admitted(&mut b, now + COOLDOWN);
        assert_eq!(b.admit(now + COOLDOWN).ticket, None);
        b.on_abandoned(probe);
        let next = admitted(&mut b, now + COOLDOWN);
        assert!(next.probe);
    }
}

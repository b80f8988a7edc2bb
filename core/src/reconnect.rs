//! The reconnect policy shared by every transport: exponential backoff with
//! full jitter.

use std::time::Duration;

use rand::Rng;

use crate::error::{Error, ErrorKind};

/// When and how often to reconnect after a session is lost.
///
/// The delay before attempt `n` (1-based) is drawn uniformly from
/// `[0, min(max_delay, initial_delay * 2^(n-1))]` ("full jitter"), so that
/// many clients cut off at once do not come back at once. A delay the
/// server asks for (SSE `retry:`, `Retry-After`) replaces the drawn one.
///
/// ```
/// use std::time::Duration;
/// let r = rtwire::Reconnect::default()
///     .initial_delay(Duration::from_millis(100))
///     .max_delay(Duration::from_secs(5))
///     .max_attempts(3);
/// assert!(r.delay(1) <= Duration::from_millis(100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconnect {
    /// Reconnect at all. Default `true`.
    pub enabled: bool,
    /// Upper bound of the first delay, default 500 ms.
    pub initial_delay: Duration,
    /// Cap on every delay, default 30 s.
    pub max_delay: Duration,
    /// Give up after this many failed attempts in a row; `None` (default)
    /// never gives up.
    pub max_attempts: Option<u32>,
    /// Also retry when the very first connection attempt fails. Default
    /// `false`: `connect` then returns the error, as a mistyped URL or a
    /// refused port is more often a mistake than an outage.
    pub retry_initial: bool,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            enabled: true,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_attempts: None,
            retry_initial: false,
        }
    }
}

impl Reconnect {
    /// A policy that never reconnects.
    pub fn disabled() -> Self {
        Reconnect {
            enabled: false,
            ..Self::default()
        }
    }

    /// Sets the upper bound of the first delay.
    pub fn initial_delay(mut self, d: Duration) -> Self {
        self.initial_delay = d;
        self
    }

    /// Sets the cap on every delay.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Gives up after `n` failed attempts in a row.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    /// Retries a failing first attempt too.
    pub fn retry_initial(mut self, yes: bool) -> Self {
        self.retry_initial = yes;
        self
    }

    /// Whether attempt `attempt` (1-based) is allowed.
    pub fn allows(&self, attempt: u32) -> bool {
        self.enabled && self.max_attempts.is_none_or(|m| attempt <= m)
    }

    /// The backoff ceiling for attempt `attempt` (1-based), before jitter.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(31);
        self.initial_delay
            .checked_mul(1u32 << shift)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// A jittered delay for attempt `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        if ceiling.is_zero() {
            return ceiling;
        }
        let nanos = rand::rng().random_range(0..=ceiling.as_nanos().min(u64::MAX as u128) as u64);
        Duration::from_nanos(nanos)
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.max_delay < self.initial_delay {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "reconnect max_delay must not be below initial_delay",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_then_caps() {
        let r = Reconnect::default();
        assert_eq!(r.ceiling(1), Duration::from_millis(500));
        assert_eq!(r.ceiling(2), Duration::from_millis(1000));
        assert_eq!(r.ceiling(4), Duration::from_millis(4000));
        assert_eq!(r.ceiling(7), Duration::from_secs(30));
        assert_eq!(r.ceiling(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn delay_is_within_ceiling_and_jittered() {
        let r = Reconnect::default();
        let draws: Vec<_> = (0..200).map(|_| r.delay(3)).collect();
        assert!(draws.iter().all(|d| *d <= Duration::from_secs(2)));
        let distinct: std::collections::HashSet<_> = draws.iter().collect();
        assert!(distinct.len() > 150, "full jitter gives spread-out delays");
    }

    #[test]
    fn attempts_are_bounded_when_asked() {
        let r = Reconnect::default().max_attempts(2);
        assert!(r.allows(1) && r.allows(2) && !r.allows(3));
        assert!(!Reconnect::disabled().allows(1));
        assert!(Reconnect::default().allows(u32::MAX));
    }
}

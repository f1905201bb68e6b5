//! Styles for every element of the dashboard, in one place. A calm palette on color terminals;
//! with `NO_COLOR` set (<https://no-color.org>) no color at all, only bold and reverse.

use ratatui::style::{Color, Modifier, Style};

use crate::model::{Outcome, PackageStatus, Severity};
use crate::telemetry::BreakerState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// Colors unless `NO_COLOR` is set to a non-empty value.
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    pub fn colored() -> Self {
        Theme { color: true }
    }

    /// No colors: bold and reverse only.
    pub fn plain() -> Self {
        Theme { color: false }
    }

    /// `color` on color terminals, `fallback` modifiers otherwise.
    fn fg(&self, color: Color, fallback: Modifier) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new().add_modifier(fallback)
        }
    }

    pub fn text(&self) -> Style {
        Style::new()
    }

    /// Secondary text: labels, units, hints.
    pub fn muted(&self) -> Style {
        self.fg(Color::Gray, Modifier::empty())
    }

    pub fn border(&self) -> Style {
        self.fg(Color::DarkGray, Modifier::empty())
    }

    pub fn title(&self) -> Style {
        self.fg(Color::Cyan, Modifier::BOLD)
            .add_modifier(Modifier::BOLD)
    }

    pub fn accent(&self) -> Style {
        self.fg(Color::Cyan, Modifier::BOLD)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan, Modifier::BOLD)
            .add_modifier(Modifier::BOLD)
    }

    pub fn table_header(&self) -> Style {
        self.muted().add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::DarkGray)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn tab_active(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green, Modifier::empty())
    }

    pub fn warning(&self) -> Style {
        self.fg(Color::Yellow, Modifier::empty())
    }

    pub fn violation(&self) -> Style {
        self.fg(Color::Red, Modifier::BOLD)
    }

    /// Unknowns are never a pass: as loud as a warning, never green.
    pub fn unknown(&self) -> Style {
        self.fg(Color::Magenta, Modifier::BOLD)
    }

    pub fn gauge_filled(&self) -> Style {
        self.fg(Color::Cyan, Modifier::BOLD)
    }

    pub fn gauge_unfilled(&self) -> Style {
        self.border()
    }

    pub fn sparkline(&self) -> Style {
        self.fg(Color::Cyan, Modifier::empty())
    }

    /// The big verdict badge: reverse video of the outcome's color.
    pub fn badge(&self, base: Style) -> Style {
        if self.color {
            let bg = base.fg.unwrap_or(Color::Gray);
            Style::new()
                .fg(Color::Black)
                .bg(bg)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub fn status(&self, status: PackageStatus) -> Style {
        match status {
            PackageStatus::Ok => self.ok(),
            PackageStatus::Warning => self.warning(),
            PackageStatus::Unknown => self.unknown(),
            PackageStatus::Violation => self.violation(),
        }
    }

    pub fn severity(&self, severity: Severity) -> Style {
        match severity {
            Severity::Error => self.violation(),
            Severity::Warning => self.warning(),
            Severity::Note => self.muted(),
        }
    }

    pub fn outcome(&self, outcome: Outcome) -> Style {
        match outcome {
            Outcome::Clean => self.ok(),
            Outcome::Violations => self.violation(),
            Outcome::Incomplete => self.unknown(),
        }
    }

    pub fn breaker(&self, state: BreakerState) -> Style {
        match state {
            BreakerState::Closed => self.ok(),
            BreakerState::HalfOpen => self.warning(),
            BreakerState::Open => self.violation(),
        }
    }

    /// Style for a count that is bad when non-zero (violations, failures).
    pub fn count(&self, n: usize, bad: Style) -> Style {
        if n == 0 { self.muted() } else { bad }
    }
}

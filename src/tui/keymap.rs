//! Keys → actions, aware of whether a text field (search, exception reason) has focus.
//! `KEY_HELP` documents every binding and is what the help overlay shows: keep them together.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::Action;
use super::app::Screen;

/// Whether keys go to commands or to a text field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputMode {
    Normal,
    Text,
}

/// Every binding, as the help overlay lists it: (keys, what they do).
pub const KEY_HELP: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "next / previous screen"),
    ("1 2 3 4", "Overview, Packages, Violations, Performance"),
    ("j k  ↓ ↑", "move selection / scroll"),
    ("PgDn PgUp", "move a page"),
    ("g G  Home End", "first / last row"),
    (
        "Enter",
        "drill down, or expand / collapse a package's findings",
    ),
    (
        "→ l  ← h",
        "expand / collapse a package's findings (Violations)",
    ),
    ("Esc", "close overlay, clear filter"),
    ("/", "search packages (Enter keeps, Esc clears)"),
    ("s / S", "cycle sort column / reverse order"),
    (
        "f",
        "cycle status filter: all, violations, warnings, unknown, ok",
    ),
    ("e", "write a policy exception for the finding"),
    ("r", "re-run (cached answers allowed)"),
    ("R", "re-run with a forced refresh"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

/// The action for a key press, or `None` for keys that mean nothing in this mode.
pub fn action_for(key: KeyEvent, mode: InputMode) -> Option<Action> {
    // Key releases and repeats (reported by some terminals) are not presses.
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C')) {
        return Some(Action::Quit);
    }
    match mode {
        InputMode::Text => text_action(key.code, ctrl),
        InputMode::Normal => normal_action(key.code, ctrl),
    }
}

fn text_action(code: KeyCode, ctrl: bool) -> Option<Action> {
    match code {
        KeyCode::Enter => Some(Action::Submit),
        KeyCode::Esc => Some(Action::Cancel),
        KeyCode::Backspace => Some(Action::Backspace),
        KeyCode::Char(c) if !ctrl => Some(Action::Input(c)),
        _ => None,
    }
}

fn normal_action(code: KeyCode, ctrl: bool) -> Option<Action> {
    let action = match code {
        KeyCode::Char('d') if ctrl => Action::PageDown,
        KeyCode::Char('u') if ctrl => Action::PageUp,
        _ if ctrl => return None,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Tab => Action::NextScreen,
        KeyCode::BackTab => Action::PrevScreen,
        KeyCode::Char('1') => Action::GoTo(Screen::Overview),
        KeyCode::Char('2') => Action::GoTo(Screen::Packages),
        KeyCode::Char('3') => Action::GoTo(Screen::Violations),
        KeyCode::Char('4') => Action::GoTo(Screen::Performance),
        KeyCode::Char('j') | KeyCode::Down => Action::Down,
        KeyCode::Char('k') | KeyCode::Up => Action::Up,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::Char('g') | KeyCode::Home => Action::Top,
        KeyCode::Char('G') | KeyCode::End => Action::Bottom,
        KeyCode::Enter => Action::Select,
        KeyCode::Char('l') | KeyCode::Right => Action::Expand,
        KeyCode::Char('h') | KeyCode::Left => Action::Collapse,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('r') => Action::Rerun,
        KeyCode::Char('R') => Action::Refresh,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Char('s') => Action::CycleSort,
        KeyCode::Char('S') => Action::ReverseSort,
        KeyCode::Char('f') => Action::CycleStatusFilter,
        KeyCode::Char('/') => Action::StartSearch,
        KeyCode::Char('e') => Action::Exception,
        _ => return None,
    };
    Some(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn same_key_means_different_things_by_mode() {
        let q = key(KeyCode::Char('q'));
        assert_eq!(action_for(q, InputMode::Normal), Some(Action::Quit));
        assert_eq!(action_for(q, InputMode::Text), Some(Action::Input('q')));
        let enter = key(KeyCode::Enter);
        assert_eq!(action_for(enter, InputMode::Normal), Some(Action::Select));
        assert_eq!(action_for(enter, InputMode::Text), Some(Action::Submit));
        let esc = key(KeyCode::Esc);
        assert_eq!(action_for(esc, InputMode::Normal), Some(Action::Back));
        assert_eq!(action_for(esc, InputMode::Text), Some(Action::Cancel));
    }

    #[test]
    fn ctrl_c_quits_in_every_mode_and_releases_are_ignored() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(ctrl_c, InputMode::Normal), Some(Action::Quit));
        assert_eq!(action_for(ctrl_c, InputMode::Text), Some(Action::Quit));
        let mut release = key(KeyCode::Char('q'));
        release.kind = KeyEventKind::Release;
        assert_eq!(action_for(release, InputMode::Normal), None);
    }

    #[test]
    fn shifted_letters_are_distinct_commands() {
        let r = key(KeyCode::Char('r'));
        let shift_r = KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(action_for(r, InputMode::Normal), Some(Action::Rerun));
        assert_eq!(
            action_for(shift_r, InputMode::Normal),
            Some(Action::Refresh)
        );
        let back_tab = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(
            action_for(back_tab, InputMode::Normal),
            Some(Action::PrevScreen)
        );
    }
}

//! What the user asked for, independent of which key said it. `keymap` turns keys into these;
//! `App::update` turns these into state changes and, sometimes, an `Intent` for the outside.

use super::app::Screen;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    NextScreen,
    PrevScreen,
    GoTo(Screen),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Enter in normal mode: open the drill-down of the selected row.
    Select,
    /// → / l: expand the selected package's findings (violations screen).
    Expand,
    /// ← / h: collapse the package the selection is in (violations screen).
    Collapse,
    /// Esc in normal mode: close the top overlay, else clear the filter.
    Back,
    Rerun,
    Refresh,
    ToggleHelp,
    CycleSort,
    ReverseSort,
    CycleStatusFilter,
    StartSearch,
    /// Start writing a policy exception for the selected finding (asks for a reason first).
    Exception,
    /// A typed character while a text field has focus.
    Input(char),
    Backspace,
    /// Enter while a text field has focus.
    Submit,
    /// Esc while a text field has focus.
    Cancel,
    /// The terminal changed size (columns, rows).
    Resize(u16, u16),
}

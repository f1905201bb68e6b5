//! Updates from the user: actions become state changes, and intents for the outside world
//! (re-run, quit, write a policy exception).

use crate::model::{Check, Finding};

use super::view_state::paths_for;
use super::*;
use crate::tui::action::Action;
use crate::tui::exceptions::{ExceptionKind, PolicyException, license_ids, parse_expiry};
use crate::tui::keymap::InputMode;

/// What the outside world must do after an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    Rerun { refresh: bool },
    Quit,
    WriteException(PolicyException),
}

impl App {
    // ---- exceptions ----------------------------------------------------------------------

    /// The exception that would permit `finding` (reason left empty), or why there is none.
    pub fn exception_for(&self, finding: &Finding) -> Result<PolicyException, String> {
        let package = finding
            .package
            .clone()
            .ok_or("this finding is not about one package")?;
        let kind = match finding.check {
            Check::Licenses => {
                let report = self
                    .package(&package)
                    .ok_or("the package's license is known once the run finishes")?;
                let expression = report.license.expression.as_deref().ok_or(
                    "the license is unresolved: fix the metadata or the resolution, an exception needs a license id",
                )?;
                let ids = license_ids(expression)
                    .filter(|ids| !ids.is_empty())
                    .ok_or_else(|| format!("`{expression}` is not an SPDX expression"))?;
                ExceptionKind::License { ids }
            }
            Check::Vulnerabilities => ExceptionKind::Vulnerability {
                id: finding
                    .advisory
                    .clone()
                    .ok_or("this finding names no advisory")?,
            },
            _ => return Err("exceptions exist for license and vulnerability findings".into()),
        };
        Ok(PolicyException {
            package,
            kind,
            reason: String::new(),
            until: None,
        })
    }

    // ---- user input ----------------------------------------------------------------------

    /// Apply a user action. Returns what the outside world must do, if anything.
    pub fn update(&mut self, action: Action) -> Option<Intent> {
        self.dirty = true;
        if let Action::Resize(w, h) = action {
            self.set_viewport(w, h);
            self.clamp_offset_packages();
            self.clamp_offset_violations();
            return None;
        }
        self.status = None;
        if action == Action::Quit {
            return Some(Intent::Quit);
        }
        if self.input_mode() == InputMode::Text {
            return self.update_text(action);
        }
        match self.overlays.last() {
            Some(Overlay::Help) => {
                if matches!(action, Action::Back | Action::ToggleHelp) {
                    self.overlays.pop();
                    return None;
                }
            }
            Some(Overlay::Detail(_)) => return self.update_detail(action),
            _ => {}
        }
        match action {
            Action::NextScreen => self.screen = self.screen.offset(1),
            Action::PrevScreen => self.screen = self.screen.offset(-1),
            Action::GoTo(screen) => self.screen = screen,
            Action::ToggleHelp => self.overlays.push(Overlay::Help),
            Action::Rerun => return Some(self.rerun(false)),
            Action::Refresh => return Some(self.rerun(true)),
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-(self.page() as isize)),
            Action::PageDown => self.move_selection(self.page() as isize),
            Action::Top => self.move_selection(isize::MIN / 2),
            Action::Bottom => self.move_selection(isize::MAX / 2),
            Action::StartSearch => {
                self.overlays.clear();
                self.screen = Screen::Packages;
                self.packages_view.searching = true;
            }
            Action::CycleSort if self.screen == Screen::Packages => {
                self.packages_view.sort = self.packages_view.sort.next();
                self.packages_view.reverse = false;
                self.refilter();
            }
            Action::ReverseSort if self.screen == Screen::Packages => {
                self.packages_view.reverse = !self.packages_view.reverse;
                self.refilter();
            }
            Action::CycleStatusFilter if self.screen == Screen::Packages => {
                self.packages_view.status_filter = self.packages_view.status_filter.next();
                self.refilter();
            }
            Action::Select if self.screen == Screen::Violations => {
                if matches!(
                    self.selected_violation(),
                    Some(ViolationRow::Package { .. })
                ) {
                    self.toggle_package(None);
                } else {
                    self.open_detail();
                }
            }
            Action::Select => self.open_detail(),
            Action::Expand if self.screen == Screen::Violations => self.toggle_package(Some(true)),
            Action::Collapse if self.screen == Screen::Violations => {
                self.toggle_package(Some(false))
            }
            Action::Exception => {
                if let Some(ViolationRow::Finding(i)) = self
                    .selected_violation()
                    .filter(|_| self.screen == Screen::Violations)
                {
                    let finding = self.findings()[*i].clone();
                    self.start_prompt(&finding);
                } else {
                    self.set_status(
                        MessageKind::Info,
                        "select a license or vulnerability finding (Violations, 3) to write an exception",
                    );
                }
            }
            // Overlays were handled above: here Esc clears a kept search filter.
            Action::Back
                if self.screen == Screen::Packages && !self.packages_view.filter.is_empty() =>
            {
                self.packages_view.filter.clear();
                self.refilter();
            }
            _ => {}
        }
        None
    }

    pub(super) fn rerun(&mut self, refresh: bool) -> Intent {
        if self.phase == Phase::Running {
            self.pending_rerun = Some(refresh);
        }
        let what = if refresh {
            "re-run with refresh"
        } else {
            "re-run"
        };
        let text = if self.phase == Phase::Running {
            format!("{what} queued: starts when this run finishes")
        } else {
            format!("{what} requested")
        };
        self.set_status(MessageKind::Info, text);
        Intent::Rerun { refresh }
    }

    pub(super) fn update_text(&mut self, action: Action) -> Option<Intent> {
        if let Some(Overlay::Prompt(prompt)) = self.overlays.last_mut() {
            let field = match prompt.field {
                PromptField::Reason => &mut prompt.input,
                PromptField::Until => &mut prompt.until,
            };
            match action {
                Action::Input(c) => field.push(c),
                Action::Backspace => {
                    field.pop();
                }
                Action::Cancel => {
                    self.overlays.pop();
                }
                // An exception without a reason is a silent pass later: refused, the prompt stays.
                Action::Submit if prompt.input.trim().is_empty() => {
                    prompt.field = PromptField::Reason;
                    self.set_status(
                        MessageKind::Error,
                        "a reason is required: say why this exception is acceptable",
                    );
                }
                // Every exception expires (`until`): one without an end is forgotten.
                Action::Submit if prompt.field == PromptField::Reason => {
                    prompt.field = PromptField::Until;
                }
                Action::Submit => {
                    let mut exception = prompt.exception.clone();
                    if prompt.field == PromptField::Until {
                        match parse_expiry(&prompt.until, self.today) {
                            Ok(date) => exception.until = Some(date),
                            Err(why) => {
                                self.set_status(MessageKind::Error, why.to_string());
                                return None;
                            }
                        }
                    }
                    exception.reason = prompt.input.trim().to_string();
                    self.overlays.pop();
                    return Some(Intent::WriteException(exception));
                }
                _ => {}
            }
            return None;
        }
        let view = &mut self.packages_view;
        match action {
            Action::Input(c) => view.filter.push(c),
            Action::Backspace => {
                view.filter.pop();
            }
            Action::Submit => view.searching = false,
            Action::Cancel => {
                view.searching = false;
                view.filter.clear();
            }
            _ => return None,
        }
        self.refilter();
        None
    }

    pub(super) fn update_detail(&mut self, action: Action) -> Option<Intent> {
        let page = self.page() as u16;
        let Some(Overlay::Detail(detail)) = self.overlays.last_mut() else {
            return None;
        };
        match action {
            Action::Back | Action::Select => {
                self.overlays.pop();
            }
            Action::Up => detail.scroll = detail.scroll.saturating_sub(1),
            Action::Down => detail.scroll = detail.scroll.saturating_add(1),
            Action::PageUp => detail.scroll = detail.scroll.saturating_sub(page),
            Action::PageDown => detail.scroll = detail.scroll.saturating_add(page),
            Action::Top => detail.scroll = 0,
            Action::ToggleHelp => self.overlays.push(Overlay::Help),
            Action::Exception => {
                if let DetailSubject::Finding(finding) = &detail.subject {
                    let finding = finding.clone();
                    self.start_prompt(&finding);
                } else {
                    self.set_status(
                        MessageKind::Info,
                        "exceptions are written for findings (Violations, 3)",
                    );
                }
            }
            Action::Rerun => return Some(self.rerun(false)),
            Action::Refresh => return Some(self.rerun(true)),
            _ => {}
        }
        None
    }

    pub(super) fn start_prompt(&mut self, finding: &Finding) {
        match self.exception_for(finding) {
            Ok(exception) => self.overlays.push(Overlay::Prompt(Prompt {
                exception,
                input: String::new(),
                until: String::new(),
                field: PromptField::Reason,
            })),
            Err(why) => self.set_status(MessageKind::Error, format!("no exception: {why}")),
        }
    }

    /// Expand (`Some(true)`), collapse (`Some(false)`) or toggle the package the selection is
    /// on or inside; the selection lands on the package's line.
    pub(super) fn toggle_package(&mut self, to: Option<bool>) {
        let view = &self.violations_view;
        let Some(&row) = view.selectable.get(view.selected) else {
            return;
        };
        // A finding inside an expanded package: its package is the nearest package line above.
        let owner = view.rows[..=row].iter().rev().find_map(|r| match r {
            ViolationRow::Package {
                group,
                package,
                members,
                ..
            } => Some((*group, package.clone(), members.clone())),
            _ => None,
        });
        let Some((group, package, _)) = owner.filter(|(_, _, members)| {
            matches!(&view.rows[row], ViolationRow::Package { .. })
                || matches!(&view.rows[row], ViolationRow::Finding(i) if members.contains(i))
        }) else {
            return;
        };
        let key = (group, package);
        let open = to.unwrap_or(!self.violations_view.expanded.contains(&key));
        if open {
            self.violations_view.expanded.insert(key.clone());
        } else {
            self.violations_view.expanded.remove(&key);
        }
        self.rebuild_violations();
        let view = &mut self.violations_view;
        if let Some(at) = view.selectable.iter().position(|&r| {
            matches!(&view.rows[r], ViolationRow::Package { group, package, .. }
                if (*group, package.as_str()) == (key.0, key.1.as_str()))
        }) {
            view.selected = at;
        }
        self.clamp_offset_violations();
    }

    pub(super) fn move_selection(&mut self, by: isize) {
        let step = |current: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            (current as isize)
                .saturating_add(by)
                .clamp(0, len as isize - 1) as usize
        };
        match self.screen {
            Screen::Packages => {
                let view = &mut self.packages_view;
                view.selected = step(view.selected, view.visible.len());
                view.anchor = view
                    .visible
                    .get(view.selected)
                    .and_then(|&i| self.rows.get(i))
                    .map(|r| r.normalized.clone());
                self.clamp_offset_packages();
            }
            Screen::Violations => {
                let view = &mut self.violations_view;
                view.selected = step(view.selected, view.selectable.len());
                self.clamp_offset_violations();
            }
            Screen::Overview | Screen::Performance => {}
        }
    }

    pub(super) fn open_detail(&mut self) {
        let subject = match self.screen {
            Screen::Violations => match self.selected_violation() {
                Some(ViolationRow::Finding(i)) => {
                    DetailSubject::Finding(self.findings()[*i].clone())
                }
                Some(ViolationRow::Unknown(i)) => {
                    DetailSubject::Unknown(self.unknowns()[*i].clone())
                }
                _ => return,
            },
            Screen::Packages => match self.selected_package() {
                Some(row) => DetailSubject::Package(row.normalized.clone()),
                None => return,
            },
            Screen::Overview | Screen::Performance => return,
        };
        let packages = self.report.as_ref().map_or(&[][..], |r| &r.packages[..]);
        let paths = paths_for(packages, &subject);
        self.overlays.push(Overlay::Detail(Detail {
            subject,
            paths,
            scroll: 0,
        }));
    }
}

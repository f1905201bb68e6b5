//! The vocabulary license resolution works in: what one piece of evidence says (an exact SPDX
//! license, a whole SPDX expression, a vague family such as "BSD", or a statement with no SPDX
//! meaning), before the sources are weighed against each other.

use std::borrow::Cow;

/// Whether a GNU-style grant includes later versions of the license.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grant {
    /// Not a versioned-grant license (MIT, BSD, ...): no suffix.
    NotGnu,
    /// `-only`.
    Only,
    /// `-or-later` (or `+` on a non-GNU id).
    OrLater,
    /// A GNU license whose evidence does not say (a bare license text, "GPLv3"). Rendered as
    /// `-only`, the narrower grant: assuming "or later" could wrongly satisfy a policy.
    Unstated,
}

/// One identified license.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ident {
    /// SPDX id; GNU ids without their `-only`/`-or-later` suffix (`LGPL-2.1`).
    pub base: Cow<'static, str>,
    pub grant: Grant,
    /// An SPDX exception (`WITH`), part of the license as granted.
    pub exception: Option<Cow<'static, str>>,
}

/// GNU licenses are the ones written with `-only`/`-or-later` suffixes in SPDX.
pub(crate) fn is_gnu_base(base: &str) -> bool {
    ["GPL-", "LGPL-", "AGPL-", "GFDL-"]
        .iter()
        .any(|p| base.starts_with(p))
}

impl Ident {
    /// A license without a version-grant suffix.
    pub const fn plain(id: &'static str) -> Ident {
        Ident {
            base: Cow::Borrowed(id),
            grant: Grant::NotGnu,
            exception: None,
        }
    }

    /// A GNU license by its bare base (`GPL-3.0`).
    pub const fn gnu(base: &'static str, later: Grant) -> Ident {
        Ident {
            base: Cow::Borrowed(base),
            grant: later,
            exception: None,
        }
    }

    /// From an SPDX id as written in an expression (`GPL-2.0-or-later`, `MIT`, `Apache-1.1` with `+`).
    pub fn from_spdx(name: &str, plus: bool) -> Ident {
        let (base, later) = if let Some(b) = name.strip_suffix("-or-later") {
            (b, Grant::OrLater)
        } else if let Some(b) = name.strip_suffix("-only") {
            (b, Grant::Only)
        } else if plus {
            (name, Grant::OrLater)
        } else if is_gnu_base(name) {
            (name, Grant::Unstated)
        } else {
            (name, Grant::NotGnu)
        };
        Ident {
            base: Cow::Owned(base.to_string()),
            grant: later,
            exception: None,
        }
    }

    /// The SPDX form.
    pub fn render(&self) -> String {
        let gnu = is_gnu_base(&self.base);
        let license = match (self.grant, gnu) {
            (Grant::OrLater, true) => format!("{}-or-later", self.base),
            (Grant::Only | Grant::Unstated, true) => format!("{}-only", self.base),
            (Grant::OrLater, false) => format!("{}+", self.base),
            _ => self.base.to_string(),
        };
        match &self.exception {
            Some(e) => format!("{license} WITH {e}"),
            None => license,
        }
    }

    pub fn same_license(&self, other: &Ident) -> bool {
        self.base == other.base
    }
}

/// A license family named without enough detail to pick one SPDX id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    Bsd,
    Mit,
    /// GPL, optionally with a known major version.
    Gpl(Option<u8>),
    Lgpl(Option<u8>),
    Agpl,
    Gfdl,
    Apache,
    Mpl,
    Artistic,
    Afl,
    Apsl,
    Efl,
    Npl,
    Epl,
    Eupl,
    Zope,
    Python,
    PublicDomain,
    /// "Other/Proprietary": anything could refine it.
    Other,
}

impl Family {
    /// Whether an identified license belongs to this family.
    pub fn matches(self, base: &str) -> bool {
        let versioned = |prefix: &str, major: Option<u8>| match base.strip_prefix(prefix) {
            None => false,
            Some(rest) => match major {
                None => true,
                Some(m) => rest.split('.').next().and_then(|v| v.parse::<u8>().ok()) == Some(m),
            },
        };
        match self {
            Family::Bsd => base.starts_with("BSD-") || base == "0BSD",
            Family::Mit => base == "MIT" || base.starts_with("MIT-"),
            Family::Gpl(major) => versioned("GPL-", major),
            Family::Lgpl(major) => versioned("LGPL-", major),
            Family::Agpl => base.starts_with("AGPL-"),
            Family::Gfdl => base.starts_with("GFDL-"),
            Family::Apache => base.starts_with("Apache-"),
            Family::Mpl => base.starts_with("MPL-"),
            Family::Artistic => base.starts_with("Artistic-"),
            Family::Afl => base.starts_with("AFL-"),
            Family::Apsl => base.starts_with("APSL-"),
            Family::Efl => base.starts_with("EFL-"),
            Family::Npl => base.starts_with("NPL-"),
            Family::Epl => base.starts_with("EPL-"),
            Family::Eupl => base.starts_with("EUPL-"),
            Family::Zope => base.starts_with("ZPL-"),
            Family::Python => matches!(
                base,
                "PSF-2.0" | "Python-2.0" | "Python-2.0.1" | "CNRI-Python"
            ),
            Family::PublicDomain => matches!(
                base,
                "CC0-1.0" | "Unlicense" | "CC-PDDC" | "LicenseRef-Public-Domain"
            ),
            Family::Other => true,
        }
    }

    /// What is missing, for messages: "BSD License" → "clauses unspecified".
    pub fn missing_detail(self) -> &'static str {
        match self {
            Family::Bsd => "which BSD variant (clauses) is unspecified",
            Family::Mit => "only MIT-like, not the MIT text itself",
            Family::Gpl(None) | Family::Lgpl(None) | Family::Agpl | Family::Gfdl => {
                "version unspecified"
            }
            Family::Gpl(Some(_)) | Family::Lgpl(Some(_)) => "minor version unspecified",
            Family::Python => "PSF-2.0, Python-2.0 or CNRI-Python is unspecified",
            Family::PublicDomain => "public domain has no SPDX license id",
            Family::Other => "no license named",
            _ => "version unspecified",
        }
    }
}

/// A family with no usable id, and what to fall back to when nothing refines it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Vague {
    pub family: Family,
    /// For GNU families: what the evidence said about later versions.
    pub grant: Grant,
    /// The words of the evidence, quoted in notes and reasons.
    pub said: Cow<'static, str>,
    /// Used when nothing more specific and consistent exists, with the reason recorded as a note.
    pub fallback: Option<(Ident, &'static str)>,
}

/// What one piece of evidence says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Term {
    Exact(Ident),
    /// A whole valid SPDX expression (possibly compound), canonical form.
    Expr(String),
    Vague(Vague),
    /// A statement with no SPDX meaning ("DFSG approved", "Dual License").
    Statement(Cow<'static, str>),
}

impl Term {
    pub fn is_specific(&self) -> bool {
        matches!(self, Term::Exact(_) | Term::Expr(_))
    }

    /// The identified licenses in this term (empty for vague terms and statements).
    pub fn idents(&self) -> Vec<Ident> {
        match self {
            Term::Exact(i) => vec![i.clone()],
            Term::Expr(e) => expression_idents(e),
            _ => Vec::new(),
        }
    }

    /// Whether `ident` is something this term could mean.
    pub fn admits(&self, ident: &Ident) -> bool {
        match self {
            Term::Exact(i) => i.same_license(ident),
            Term::Expr(_) => self.idents().iter().any(|i| i.same_license(ident)),
            Term::Vague(v) => v.family.matches(&ident.base),
            Term::Statement(_) => false,
        }
    }

    /// SPDX text when specific.
    pub fn render(&self) -> Option<String> {
        match self {
            Term::Exact(i) => Some(i.render()),
            Term::Expr(e) => Some(e.clone()),
            _ => None,
        }
    }
}

/// How a source's several terms combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Join {
    Or,
    And,
}

/// Everything one source says, as terms and how they combine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reading {
    pub terms: Vec<Term>,
    pub join: Join,
}

impl Reading {
    pub fn single(term: Term) -> Reading {
        Reading {
            terms: vec![term],
            join: Join::Or,
        }
    }

    /// Terms other than statements carry meaning.
    pub fn meaningful(&self) -> impl Iterator<Item = &Term> {
        self.terms
            .iter()
            .filter(|t| !matches!(t, Term::Statement(_)))
    }

    /// Every meaningful term is exact (statements alongside exact terms are ignored).
    pub fn is_specific(&self) -> bool {
        self.meaningful().next().is_some() && self.meaningful().all(Term::is_specific)
    }

    pub fn idents(&self) -> Vec<Ident> {
        self.terms.iter().flat_map(Term::idents).collect()
    }

    /// Render the specific terms as one SPDX expression (statements skipped, duplicates dropped).
    pub fn render(&self) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        for term in self.meaningful() {
            let text = term.render()?;
            if !parts.contains(&text) {
                parts.push(text);
            }
        }
        match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => {
                let op = match self.join {
                    Join::Or => " OR ",
                    Join::And => " AND ",
                };
                let wrapped: Vec<String> = parts
                    .into_iter()
                    .map(|p| {
                        if p.contains(" OR ") || p.contains(" AND ") {
                            format!("({p})")
                        } else {
                            p
                        }
                    })
                    .collect();
                Some(wrapped.join(op))
            }
        }
    }
}

/// The licenses named in a valid SPDX expression.
pub(crate) fn expression_idents(expression: &str) -> Vec<Ident> {
    let Ok(parsed) = spdx::Expression::parse_mode(expression, super::expression::LENIENT) else {
        return Vec::new();
    };
    parsed
        .requirements()
        .map(|r| match &r.req.license {
            spdx::LicenseItem::Spdx { id, or_later } => Ident::from_spdx(id.name, *or_later),
            spdx::LicenseItem::Other(other) => Ident {
                base: Cow::Owned(other.to_string()),
                grant: Grant::NotGnu,
                exception: None,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_idents_render_with_suffixes() {
        assert_eq!(
            Ident::gnu("GPL-3.0", Grant::OrLater).render(),
            "GPL-3.0-or-later"
        );
        assert_eq!(
            Ident::gnu("LGPL-2.1", Grant::Unstated).render(),
            "LGPL-2.1-only"
        );
        assert_eq!(Ident::plain("MIT").render(), "MIT");
        assert_eq!(Ident::from_spdx("Apache-1.1", true).render(), "Apache-1.1+");
        let i = Ident::from_spdx("GPL-2.0-or-later", false);
        assert_eq!((i.base.as_ref(), i.grant), ("GPL-2.0", Grant::OrLater));
    }

    #[test]
    fn families_match_their_members_only() {
        assert!(Family::Bsd.matches("BSD-3-Clause"));
        assert!(Family::Bsd.matches("0BSD"));
        assert!(!Family::Bsd.matches("MIT"));
        assert!(Family::Lgpl(Some(2)).matches("LGPL-2.1"));
        assert!(!Family::Lgpl(Some(2)).matches("LGPL-3.0"));
        assert!(!Family::Gpl(None).matches("LGPL-3.0"));
        assert!(Family::Other.matches("MIT"));
    }

    #[test]
    fn reading_renders_or_of_distinct_terms_with_parens() {
        let r = Reading {
            terms: vec![
                Term::Exact(Ident::plain("MIT")),
                Term::Expr("Apache-2.0 AND BSD-3-Clause".into()),
                Term::Exact(Ident::plain("MIT")),
                Term::Statement("Dual License".into()),
            ],
            join: Join::Or,
        };
        assert!(r.is_specific());
        assert_eq!(r.render().unwrap(), "MIT OR (Apache-2.0 AND BSD-3-Clause)");
    }
}

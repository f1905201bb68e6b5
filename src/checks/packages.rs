//! Approved, banned and required packages, with PEP 440 version specifiers.

//! Licenses: resolve each package's license to SPDX with provenance, and judge it against policy.

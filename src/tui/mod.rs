//! The interactive terminal dashboard: renders engine state, sends intents.

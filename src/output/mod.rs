//! Report renderers: text and JSON, all from the one `Report`.

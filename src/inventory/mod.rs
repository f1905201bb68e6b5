//! Inventory: which distributions are installed (site-packages) or pinned (requirements files).

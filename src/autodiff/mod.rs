//! autodiff

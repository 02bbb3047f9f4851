//! Every flag checked before anything is read or written: finite and in range, with one
//! message naming the flag, the value and the range.

use super::args::{ModelChoice, TrainArgs};
use autoenc::{limits, Error, Result};

/// The widest layer or code accepted (the memory budget usually binds first).
pub const MAX_WIDTH: usize = 1 << 24;
/// The largest batch accepted.
pub const MAX_BATCH: usize = 1 << 20;

/// `lo <= v <= hi` (`open_lo`: `lo < v`), finite.
pub fn real(flag: &str, v: f32, lo: f32, hi: f32, open_lo: bool) -> Result<()> {
    let above = if open_lo { v > lo } else { v >= lo };
    if v.is_finite() && above && v <= hi {
        return Ok(());
    }
    let bracket = if open_lo { "(" } else { "[" };
    Err(Error::Config(format!("{flag} must be a finite number in {bracket}{lo}, {hi}], got {v}")))
}

/// `lo <= v <= hi` for a count.
pub fn count(flag: &str, v: usize, lo: usize, hi: usize) -> Result<()> {
    if (lo..=hi).contains(&v) {
        return Ok(());
    }
    if hi == usize::MAX {
        return Err(Error::Config(format!("{flag} must be at least {lo}, got {v}")));
    }
    Err(Error::Config(format!("{flag} must be in [{lo}, {hi}], got {v}")))
}

/// The checks of `autoenc train` that need no data.
pub fn train_flags(a: &TrainArgs) -> Result<()> {
    count("--batch-size", a.batch_size, 1, MAX_BATCH)?;
    count("--check-every", a.check_every, 1, usize::MAX)?;
    count("--save-every", a.save_every, 1, usize::MAX)?;
    real("--lr", a.lr, 0.0, 1e4, true)?;
    real("--lr-decay", a.lr_decay, 0.0, 1.0, true)?;
    real("--momentum", a.momentum, 0.0, 0.999, false)?;
    real("--weight-decay", a.weight_decay, 0.0, 1.0, false)?;
    real("--l1", a.l1, 0.0, 1e3, false)?;
    real("--rho", a.rho, 0.0, 0.999, true)?;
    if let Some(beta) = a.beta {
        real("--beta", beta, 0.0, 1e3, false)?;
    }
    real("--lambda", a.lambda, 0.0, 1e3, false)?;
    if let Some(lr) = a.finetune_lr {
        real("--finetune-lr", lr, 0.0, 1e4, true)?;
    }
    if let Some(n) = a.validation {
        count("--validation", n, 1, usize::MAX)?;
    }
    if let Some(n) = a.limit_train {
        count("--limit-train", n, 1, usize::MAX)?;
    }
    if let Some(n) = a.limit_test {
        count("--limit-test", n, 1, usize::MAX)?;
    }
    count("--code", a.code, 1, MAX_WIDTH)?;
    for &h in &a.hidden {
        count("--hidden", h, 0, MAX_WIDTH)?;
    }
    if a.model == ModelChoice::Stacked {
        for &w in &a.layers {
            count("--layers", w, 1, MAX_WIDTH)?;
        }
        if a.pretrain_epochs + a.finetune_epochs == 0 {
            return Err(Error::Config(
                "--pretrain-epochs and --finetune-epochs are both 0: nothing would be trained".into(),
            ));
        }
        count("--pretrain-epochs", a.pretrain_epochs, 0, 1_000_000)?;
        count("--finetune-epochs", a.finetune_epochs, 0, 1_000_000)?;
    } else {
        count("--epochs", a.epochs, 1, 1_000_000)?;
    }
    Ok(())
}

/// The memory a dense stack of `widths` needs to train with `batch`, against the budget.
pub fn dense_memory(flag: &str, widths: &[usize], batch: usize) -> Result<()> {
    limits::check(&format!("the model of {flag} {widths:?}"), limits::dense_training_bytes(widths, batch))
}

//! Training: one loop ([`fit`]) for every phase, generic over a [`Task`] (what a step
//! computes and how an epoch is evaluated). The reconstruction objective of the
//! autoencoders ([`ReconstructionTask`], [`train`]) and the supervised phase of the
//! stacked classifier ([`ClassifierTask`], [`train_classifier`]) are the two tasks; the
//! models know nothing of this module.

pub mod classifier;
pub mod config;
pub mod elbo;
pub mod evaluate;
pub mod fit;
pub mod guard;
pub mod infer;
pub mod progress;
pub mod reconstruction;

pub use classifier::{train_classifier, train_classifier_from, ClassifierEpoch, ClassifierTask};
pub use config::TrainConfig;
pub use elbo::{evaluate_elbo, ElboEvaluation};
pub use evaluate::{evaluate, evaluate_against, Evaluation};
pub use fit::{fit, fit_from, EpochEnd, EpochStats, Resume, Task};
pub use infer::{decode, encode, reconstruct, INFER_BATCH};
pub use progress::epoch_line;
pub use reconstruction::{train, train_from, EpochMetrics, NoisyInputEvaluation, ReconstructionTask};

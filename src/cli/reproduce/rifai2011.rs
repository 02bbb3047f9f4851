//! `rifai2011`: contractive autoencoder pretraining of one 1000-unit layer, then supervised
//! fine-tuning (Rifai et al. 2011, Table 1: MNIST test error CAE 1.14%).

use super::train_runs::{Metric, TrainRecipe, TrainRun};

pub const RECIPE: TrainRecipe = TrainRecipe {
    title: "Contractive autoencoder pretraining (Rifai et al. 2011)",
    setting: "MNIST (60,000 train, 10,000 test). One sigmoid layer 784-1000 pretrained as a contractive \
              autoencoder (BCE + lambda ||J_f(x)||_F^2 with lambda 1e-3, Adam 1e-3, 10 epochs, batch 64), then a \
              softmax head and the layer fine-tuned with labels for 60 epochs at Adam 3e-3, both phases' rates \
              decayed 0.95 per epoch, its training images masked at 0.2. Schedule chosen on a validation split (`--validation 10000`, \
              docs/RESULTS.md).",
    figure: "test error (%)",
    runs: &[TrainRun {
        label: "CAE-1 + fine-tuning",
        flags: "--model stacked --dataset mnist --layers 784,1000 --pretrain contractive --lambda 1e-3 --pretrain-epochs 10 --finetune-epochs 60 --finetune-lr 3e-3 --lr-decay 0.95 --batch-size 64 --finetune-noise masking:0.2",
        quick: "--model stacked --dataset bundled --layers 784,256 --pretrain contractive --lambda 1e-3 --pretrain-epochs 3 --finetune-epochs 20 --finetune-lr 3e-3 --batch-size 64 --finetune-noise masking:0.2",
        metric: Metric::StackedTestErrorPercent,
        published: Some("1.14"),
    }],
    notes: &["Our reconstruction loss is a mean over the 784 pixels, so our lambda is about 1/784 of the same number \
         on a per-image sum, as in the paper.",
        "The paper fine-tuned by SGD with early stopping; here Adam, and masking noise on the fine-tuning images \
         (`--finetune-noise`), which the paper did not use. SGD fine-tuning (`--finetune-optimizer sgd`, momentum \
         0.9) was tried: at rate 0.05 it ended at 1.91% validation error after 60 epochs, at 0.01 it was at 3.55% \
         after 22 and was stopped.",
        "Tried on the validation split before this run (docs/RESULTS.md): lambda 1e-4, 3e-4, 1e-3 and 1e-2, \
         fine-tuning rates 1e-3, 3e-3 and 1e-2, 10 and 20 pretraining epochs, fine-tuning with and without \
         masking, 30, 60 and 100 fine-tuning epochs; the best reached 1.23% validation error (60 epochs). The \
         last-epoch figure moves by about 0.1 point from epoch to epoch. The same net without pretraining ended at \
         1.29% on the same schedule (1.23% with it): in this setting the pretraining adds little, unlike the \
         paper's (AE 1.78%, CAE 1.14%)."],
};

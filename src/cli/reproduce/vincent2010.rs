//! `vincent2010`: stacked denoising autoencoders, three hidden layers of 1000 units,
//! greedy pretraining then supervised fine-tuning (Vincent et al. 2010, Table 3: MNIST
//! test error SdA-3 1.28%, SAE-3 1.40%).

use super::train_runs::{Metric, TrainRecipe, TrainRun};

pub const RECIPE: TrainRecipe = TrainRecipe {
    title: "Stacked denoising autoencoders (Vincent et al. 2010)",
    setting: "MNIST (60,000 train, 10,000 test). Three sigmoid layers 784-1000-1000-1000, each pretrained as an \
              autoencoder (BCE, Adam 1e-3, 20 epochs per layer, batch 64) on the codes of the layers below, \
              masking noise 0.25 for SdA-3 and none for SAE-3; then a softmax head and the whole stack \
              fine-tuned with labels for 30 epochs, the rate decayed 0.9 per epoch, its training images masked \
              at 0.2. Schedule chosen on a validation split (`--validation 10000`, docs/RESULTS.md).",
    figure: "test error (%)",
    runs: &[
        TrainRun {
            label: "SdA-3 (masking 0.25)",
            flags: "--model stacked --dataset mnist --layers 784,1000,1000,1000 --pretrain denoising --noise masking:0.25 --pretrain-epochs 20 --finetune-epochs 30 --lr-decay 0.9 --batch-size 64 --finetune-noise masking:0.2",
            quick: "--model stacked --dataset bundled --layers 784,256,256,256 --pretrain denoising --noise masking:0.25 --pretrain-epochs 3 --finetune-epochs 20 --batch-size 64 --finetune-noise masking:0.2",
            metric: Metric::StackedTestErrorPercent,
            published: Some("1.28"),
        },
        TrainRun {
            label: "SAE-3 (no noise)",
            flags: "--model stacked --dataset mnist --layers 784,1000,1000,1000 --pretrain ae --pretrain-epochs 20 --finetune-epochs 30 --lr-decay 0.9 --batch-size 64 --finetune-noise masking:0.2",
            quick: "--model stacked --dataset bundled --layers 784,256,256,256 --pretrain ae --pretrain-epochs 3 --finetune-epochs 20 --batch-size 64 --finetune-noise masking:0.2",
            metric: Metric::StackedTestErrorPercent,
            published: Some("1.40"),
        },
    ],
    notes: &["The paper trained by SGD with early stopping and chose layer sizes, noise level, learning rates and \
         epochs by a search on its validation set; here Adam with a per-epoch decay of the rate, and masking noise on \
         the fine-tuning images (`--finetune-noise`), which the paper did not use.",
        "Tried on the validation split before this run (docs/RESULTS.md): 10 and 20 pretraining epochs per layer, \
         weight decay 1e-5 and 1e-4, fine-tuning images masked at 0, 0.1 and 0.2, fine-tuning rates 1e-3 and 3e-3; \
         the chosen schedule reached 1.32% validation error (SdA-3), and with 10 pretraining epochs 1.42% (SAE-3). \
         The last-epoch figure moves by about 0.1 point from epoch to epoch."],
};

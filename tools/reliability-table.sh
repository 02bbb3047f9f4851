#!/usr/bin/env bash
# Runs every bad input and fault of docs/RELIABILITY.md against the built `autoenc` and
# rewrites the table there (between its table markers) with the exit status and the
# message each one really gets, so the document stays true.
#   tools/reliability-table.sh            (after cargo build --release)
set -u
cd "$(dirname "$0")/.."
BIN=${AUTOENC:-$PWD/target/release/autoenc}
DOC=docs/RELIABILITY.md
W=$(mktemp -d /tmp/autoenc-reliability.XXXXXX)
trap 'rm -rf "$W"' EXIT
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
SMALL=(--limit-train 128 --limit-test 16 --hidden 32 --code 8 --no-progress)
ROWS="$W/rows.md"
: >"$ROWS"
n=0

# row KIND ARGS...: runs `autoenc ARGS` in $W; records the exit status and the error line
# (else the last line it printed).
row() {
    local kind=$1
    shift
    local msg rc
    rc=$(cd "$W" && "$BIN" "$@" >"$W/stdout" 2>"$W/stderr"; echo $?)
    msg=$(grep '^error' "$W/stderr" | tail -n 1)
    [ -n "$msg" ] || msg=$(cat "$W/stderr" "$W/stdout" | grep -v '^\s*$' | tail -n 1)
    n=$((n + 1))
    printf '| %d | %s | `autoenc %s` | %s | %s |\n' "$n" "$kind" "$(echo "$*" | sed "s#$W/##g")" "$rc" \
        "$(echo "$msg" | sed "s#$W/##g; s/|/\\\\|/g")" >>"$ROWS"
}

# note KIND WHAT RESULT: a fault checked by a script step rather than one command.
note() {
    n=$((n + 1))
    printf '| %d | %s | %s | %s | %s |\n' "$n" "$1" "$2" "$3" "$4" >>"$ROWS"
}

(cd "$W" && "$BIN" train --out run --epochs 1 "${SMALL[@]}" >/dev/null 2>&1) || { echo "the good run failed" >&2; exit 1; }
(cd "$W" && "$BIN" train --out stacked --model stacked --layers 784,16 --pretrain-epochs 1 --finetune-epochs 1 \
    --limit-train 128 --limit-test 16 --no-progress >/dev/null 2>&1)
python3 tools/make-bad-inputs.py "$W" "$W/run"
before=$(cd "$W/run" && md5sum config.json metrics.csv model.safetensors)
T=(train --out run "${SMALL[@]}")

# Flags of train.
row "learning rate NaN" "${T[@]}" --lr nan
row "learning rate negative" "${T[@]}" --lr=-1
row "learning rate infinite" "${T[@]}" --lr inf
row "learning rate absurd" "${T[@]}" --lr 1e9
row "lr decay 0" "${T[@]}" --lr-decay 0
row "lr decay above 1" "${T[@]}" --lr-decay 2
row "momentum NaN" "${T[@]}" --optimizer sgd --momentum nan
row "momentum above 1" "${T[@]}" --optimizer sgd --momentum 1.5
row "weight decay negative" "${T[@]}" --weight-decay=-10
row "L1 weight negative" "${T[@]}" --model sparse --l1=-1
row "KL weight negative" "${T[@]}" --model sparse --beta=-3
row "sparsity target 0" "${T[@]}" --model sparse --rho 0
row "sparsity target above 1" "${T[@]}" --model sparse --rho 1.5
row "contractive weight negative" "${T[@]}" --model contractive --lambda=-5
row "contractive weight NaN" "${T[@]}" --model contractive --lambda nan
row "batch size 0" "${T[@]}" --batch-size 0
row "batch size absurd" "${T[@]}" --batch-size 100000000
row "epochs 0" "${T[@]}" --epochs 0
row "epochs not a number" "${T[@]}" --epochs many
row "hidden layer of a billion" "${T[@]}" --hidden 1000000000
row "hidden layer over the memory budget" --max-memory 10M "${T[@]}" --hidden 100000
row "code size 0" train --out run --code 0
row "hidden list malformed" "${T[@]}" --hidden 64,,x
row "stacked layer of a billion" train --out s --model stacked --layers 784,1000000000
row "stacked layers not starting at the input" train --out s --model stacked --layers 100,10
row "stacked layer of width 0" train --out s --model stacked --layers 784,0
row "stacked with nothing to train" train --out s --model stacked --pretrain-epochs 0 --finetune-epochs 0
row "stacked fine-tune lr NaN" train --out s --model stacked --finetune-lr nan
row "unknown pretraining" train --out s --model stacked --pretrain foo
row "fine-tuning noise out of range" train --out s --model stacked --finetune-noise masking:2
row "fine-tuning noise on a frozen stack" train --out s --model stacked --classifier-only --finetune-noise masking:0.1
row "unknown fine-tuning optimizer" train --out s --model stacked --finetune-optimizer lbfgs
row "memory budget 0" --max-memory 0 "${T[@]}"
row "memory budget unit unknown" --max-memory 5X "${T[@]}"
row "limit-train 0" train --out run --limit-train 0
row "limit-test 0" train --out run --limit-test 0 --no-progress
row "noise probability above 1" "${T[@]}" --model denoising --noise masking:2
row "noise sigma negative" "${T[@]}" --model denoising --noise gaussian:-1
row "noise kind unknown" "${T[@]}" --model denoising --noise foo:1
row "noise without value" "${T[@]}" --model denoising --noise masking
row "unknown optimizer" "${T[@]}" --optimizer rmsprop
row "unknown loss" "${T[@]}" --loss huber
row "unknown activation" "${T[@]}" --activation swish
row "unknown conv decoder" "${T[@]}" --model conv --decoder foo
row "unknown model" "${T[@]}" --model foo
row "check interval 0" "${T[@]}" --check-every 0
row "checkpoint interval 0" "${T[@]}" --save-every 0
row "--out is a file" train --out a-file "${SMALL[@]}"
row "--out is a folder that is not a run" train --out not-a-run "${SMALL[@]}"
row "--resume of a missing run" train --resume nowhere
row "--resume of a complete stacked run (not an error)" train --resume stacked
row "--resume of a run without optimizer state" train --resume run-no-optimizer
row "--resume of a complete run (not an error)" train --resume run

# Datasets.
row "dataset folder missing" "${T[@]}" --dataset /nonexistent/folder
row "dataset file missing" "${T[@]}" --dataset ds-missing
row "IDX truncated" "${T[@]}" --dataset ds-truncated
row "IDX bad magic" "${T[@]}" --dataset ds-bad-magic
row "IDX of floats" "${T[@]}" --dataset ds-float-type
row "IDX trailing bytes" "${T[@]}" --dataset ds-trailing
row "IDX header of 4e9 x 4e9 images" "${T[@]}" --dataset ds-huge-header
row "IDX images of 0 rows" "${T[@]}" --dataset ds-zero-rows
row "labels and images disagree in count" "${T[@]}" --dataset ds-count-mismatch
row "a label of 200 in a 10-class set" "${T[@]}" --dataset ds-label-200
row "labels with 2 dimensions" "${T[@]}" --dataset ds-labels-2d
row "train and test image sizes differ" "${T[@]}" --dataset ds-size-mismatch
row "empty training set" "${T[@]}" --dataset ds-empty-train
row "gzip bomb (784 bytes promised, 60 MB inside)" "${T[@]}" --dataset ds-gzip-bomb
row "gzip stream corrupt" "${T[@]}" --dataset ds-gzip-corrupt

# Run directories read by reconstruct / interpolate.
row "run missing" reconstruct --run nowhere
row "config.json: unknown model" reconstruct --run run-banana
row "config.json: negative layer size" reconstruct --run run-negative-hidden
row "config.json: layer of a billion" reconstruct --run run-huge-hidden
row "config.json: not JSON" reconstruct --run run-bad-json
row "config.json: lr NaN" reconstruct --run run-lr-nan
row "config.json edited after training" reconstruct --run run-seed-edited
row "model.safetensors truncated" reconstruct --run run-truncated-model
row "model.safetensors garbage" reconstruct --run run-garbage-model
row "model.safetensors missing" reconstruct --run run-no-model
row "NaN weights in the checkpoint" reconstruct --run run-nan-weights
row "a stacked run has no decoder" reconstruct --run stacked
row "reconstruct --count 0" reconstruct --run run --count 0
row "reconstruct from a set with 0 test images" reconstruct --run run --dataset ds-no-test
row "reconstruct --out an existing file" reconstruct --run run --out a-file
row "interpolate --steps of a billion" interpolate --run run --steps 1000000000
row "interpolate --steps 1" interpolate --run run --steps 1
row "interpolate from a test image that does not exist" interpolate --run run --from 100000

# Faults during training.
row "divergence: Adam at --lr 1000" train --out run --epochs 2 --limit-test 16 --no-progress --lr 1000
row "divergence: SGD at --lr 100 (loss NaN)" "${T[@]}" --model linear --optimizer sgd --lr 100 --epochs 3
row "divergence: conv, SGD at --lr 1e4" train --out run --model conv --optimizer sgd --lr 1e4 --epochs 1 \
    --limit-train 256 --limit-test 16 --no-progress
after=$(cd "$W/run" && md5sum config.json metrics.csv model.safetensors)
[ "$before" = "$after" ] && kept="run/ unchanged (md5 of config, metrics, weights)" || kept="run/ CHANGED"
note "every failed train above into the existing run/" "the rows above with --out run" "-" "$kept"

(cd "$W" && exec "$BIN" train --out busy --epochs 30 "${SMALL[@]}" >/dev/null 2>&1) &
writer=$!
until ls -a "$W" | grep -q '\.busy\.staging'; do sleep 0.05; done
row "a second writer of the same directory" train --out busy --epochs 1 "${SMALL[@]}"
wait $writer

(cd "$W" && exec "$BIN" train --out killed --epochs 400 "${SMALL[@]}" >/dev/null 2>&1) &
victim=$!
sleep 1.5
kill -9 $victim 2>/dev/null
wait $victim 2>/dev/null
touch "$W/killed/model.safetensors.4242.tmp"
staged=$(ls -a "$W" | grep -c '\.killed\.staging' || true)
row "reconstruct a run after SIGKILL mid-training" reconstruct --run killed
(cd "$W" && "$BIN" train --out killed --epochs 1 "${SMALL[@]}" >/dev/null 2>&1)
left=$( (ls -a "$W" | grep '\.killed\.staging'; ls "$W/killed" | grep '\.tmp$') | wc -l)
note "leftovers of a killed writer" "SIGKILL, then train --out killed" "0" \
    "$staged staging dir(s) and 1 .tmp file before; $left left after the next run"

python3 - "$DOC" "$ROWS" <<'PY'
import sys
doc, rows = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read()
start, end = "<!-- table:start -->\n", "<!-- table:end -->"
head = "| # | bad input or fault | command | exit | message |\n| --- | --- | --- | --- | --- |\n"
a, b = text.index(start) + len(start), text.index(end)
open(doc, "w").write(text[:a] + head + rows + text[b:])
PY
echo "$n rows written to $DOC"

#!/usr/bin/env bash
# Every reward-side GPU check and bench in one run (< 8 min on one H200), logs under $OUT (default /tmp/gpu_check).
#
#   python bench/make_checkpoint.py --export-tokenizer bench/.tokenizer   # here, once (ignored by git)
#   bash bench/gpu_check.sh                                              # on the GPU machine; carry bench/.tokenizer
#   DRY=1 bash bench/gpu_check.sh                                        # the same steps on the CPU, tiny shapes
#
# Steps: environment; CPU tests of the device and neighbour logic; FlexAttention vs SDPA scores on the GPU;
# random-weight SmolLM2 checkpoints (135m, 1.7b); bench_train (1.7b, paper-shaped pairs, 8 and 48 pairs/step,
# ours / one pair per sequence / TRL); bench_rerank (135m, 16 instructions x 64 candidates vs the original).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export SPARSE_FEEDBACK_OFFLINE=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
CK=${CK:-/tmp/gpu_check_ckpt}
if [ "${DRY:-0}" = 1 ]; then
  DEVICE=cpu; LAYERS="--layers 2"; BIG=135m; PAIRS=12; STEPS="8"; TRAIN_LEN=512; INSTR=2; N=8; BASE_C=8
  LIMIT=900
else
  DEVICE=cuda; LAYERS=""; BIG=1.7b; PAIRS=384; STEPS="8 48"; TRAIN_LEN=1024; INSTR=16; N=64; BASE_C=0
  LIMIT=240
fi
step() {  # step NAME TIMEOUT COMMAND...: run, log to $OUT/NAME.log, never stop the script
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  echo "== $name: $*"
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "   exit $rc in $((SECONDS - t0)) s"; grep -v -i "warn\|loading weights\|writing model\|it/s\]" "$OUT/$name.log" | tail -n 12
}

step env 60 bash -c 'nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | head -3;
  python -c "import torch, transformers, peft, accelerate, importlib.util as u; print(\"torch\", torch.__version__,
  \"cuda\", torch.version.cuda, \"gpu\", torch.cuda.is_available(), \"transformers\", transformers.__version__, \"peft\",
  peft.__version__, \"accelerate\", accelerate.__version__, \"trl\", bool(u.find_spec(\"trl\")), \"triton\",
  bool(u.find_spec(\"triton\")), \"bitsandbytes\", bool(u.find_spec(\"bitsandbytes\")))"; nproc; uptime'
step unit_tests 180 python -m pytest -q -x -p no:cacheprovider -m "not slow" tests/test_reward_device.py tests/test_reward_neighbours.py \
  tests/test_device.py
step make_135m 120 python bench/make_checkpoint.py --shape 135m --out "$CK/135m" --device "$DEVICE" $LAYERS
step equivalence 120 python - "$CK/135m" "$DEVICE" <<'PY'
import sys, torch
from sparse_feedback.hub import load_sequence_classifier
from sparse_feedback.reward.attention import BLOCK
from sparse_feedback.reward.collate import Group, PackedCollator
from sparse_feedback.reward.model import PackedRewardModel
path, device = sys.argv[1], sys.argv[2]
g = torch.Generator().manual_seed(0)
ids = lambda n: torch.randint(3, 40000, (n,), generator=g).tolist()
groups = [Group(ids(300), [ids(40), ids(200), ids(900)]), Group(ids(120), [ids(n) for n in (60, 61, 160, 5)])]
out = {}
for attention in ("sdpa", "flex_attention") if device == "cuda" else ("sdpa",):
    torch.manual_seed(0)
    model, _ = load_sequence_classifier(path, dtype=torch.float32, attn_implementation=attention)
    batch = PackedCollator(2, 1024, pad_to_multiple_of=BLOCK)(groups)
    rm = PackedRewardModel(model.to(device).eval())
    run = lambda gs: rm(**{k: v.to(device) for k, v in PackedCollator(2, 1024, pad_to_multiple_of=BLOCK)(gs).items()})
    with torch.no_grad():
        out[attention] = run(groups)
        alone = [run([Group(gr.prompt, [r])]).item() for gr in groups for r in gr.responses]
    print(attention, "packed vs alone max |diff|", (out[attention].cpu() - torch.tensor(alone)).abs().max().item())
if len(out) == 2:
    print("flex vs sdpa max |diff| (fp32):", (out["sdpa"] - out["flex_attention"]).abs().max().item())
PY
step make_big 180 python bench/make_checkpoint.py --shape "$BIG" --out "$CK/$BIG" --device "$DEVICE" $LAYERS
for per_step in $STEPS; do
  methods=ours,trl; [ "$per_step" = 8 ] && methods=ours,ours-one-pair,trl
  step "train_${BIG}_${per_step}" "$LIMIT" python bench/bench_train.py --model "$CK/$BIG" --device "$DEVICE" --data paper \
    --pairs "$PAIRS" --pairs-per-step "$per_step" --max-length "$TRAIN_LEN" --methods "$methods" \
    --json "$OUT/train_${BIG}_${per_step}.json"
done
step rerank_135m 180 python bench/bench_rerank.py --model "$CK/135m" --device "$DEVICE" --instructions "$INSTR" --n "$N" \
  --baseline-candidates "$BASE_C"
echo "== done in $SECONDS s; logs in $OUT"

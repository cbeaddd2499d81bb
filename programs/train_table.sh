#!/usr/bin/env bash
# Seggers and van der Veen's accuracy table under rep3 (three processes): the
# shallow and the deep network, exact ReLU and its order-3 polynomial, secure
# softmax and the paper's public softmax (INSECURE: it opens the logits), one
# epoch each, beside the same training in f64 (train_reference). Prints one
# line per run: accuracy, f64 accuracy, seconds. About 1.5 hours on 2 cores.
# Usage: bash programs/train_table.sh [shallow|deep ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin mpcc --bin mpcvm --bin train_files --bin train_reference
work=target/train_table
mkdir -p "$work"
nets=("${@:-shallow deep}")
for net in ${nets[@]}; do
  target/release/train_files "$work/$net" --net "$net" > /dev/null
  for relu in true false; do
    poly=$([ "$relu" = true ] && echo "" || echo "--poly")
    reference=$(target/release/train_reference --net "$net" $poly | sed -n 's/.*test accuracy \([0-9.]*%\).*/\1/p')
    for public in false true; do
      name="$net-relu_$relu-public_$public"
      sed -e "s/^const EXACT_RELU = [a-z]*;/const EXACT_RELU = $relu;/" \
          -e "s/^const PUBLIC_SOFTMAX = [a-z]*;/const PUBLIC_SOFTMAX = $public;/" \
          "programs/train_$net.mpc" > "$work/$name.mpc"
      target/release/mpcc "$work/$name.mpc" -o "$work/$name.mpcb" 2> /dev/null
      rm -rf "$work/$name.out"
      start=$(date +%s)
      target/release/mpcvm run-local --protocol rep3 --quiet "$work/$name.mpcb" \
        --input 0="$work/$net/data" --input 1="$work/$net/model" --out "$work/$name.out" > "$work/$name.log" 2>&1
      seconds=$(( $(date +%s) - start ))
      hits=$(sed -n 's/^party 1: hits = \([0-9]*\).*/\1/p' "$work/$name.log")
      echo "$net exact_relu=$relu public_softmax=$public: $(( hits / 100 )).$(printf %02d $(( hits % 100 )))% (f64 $reference) in $seconds s"
    done
  done
done

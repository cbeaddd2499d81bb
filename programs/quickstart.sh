#!/usr/bin/env bash
# Quick start: builds mpcc and mpcvm, compiles programs/mnist_dense.mpc, and runs
# it with the model owner's weights (party 0) and one MNIST test image (party 1).
# Usage: bash programs/quickstart.sh [IMAGE_INDEX]
set -euo pipefail
cd "$(dirname "$0")/.."
index="${1:-0}"
cargo build --release --quiet --bin mpcc --bin mpcvm --bin mnist_image
work=target/quickstart
mkdir -p "$work"
label=$(target/release/mnist_image "$index" "$work/image.npy")
target/release/mpcc programs/mnist_dense.mpc -o "$work/mnist_dense.mpcb"
echo "MNIST test image $index (true label $label):"
target/release/mpcvm run-local "$work/mnist_dense.mpcb" \
  --input 0=programs/mnist_dense/weights --input 1="$work/image.npy" --out "$work/out"

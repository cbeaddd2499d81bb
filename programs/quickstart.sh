#!/usr/bin/env bash
# Quick start: builds mpcc and mpcvm, compiles programs/mnist_dense.mpc, and runs
# it under rep3 as three processes on loopback (mutually authenticated TLS): the
# model owner (party 0) inputs the weights, the client (party 1) one MNIST test
# image, party 2 only computes; the client alone learns the predicted digit.
# Usage: bash programs/quickstart.sh [IMAGE_INDEX]
set -euo pipefail
cd "$(dirname "$0")/.."
index="${1:-0}"
cargo build --release --quiet --bin mpcc --bin mpcvm --bin mnist_image
work=target/quickstart
rm -rf "$work/out"
mkdir -p "$work"
label=$(target/release/mnist_image "$index" "$work/image.npy")
target/release/mpcc programs/mnist_dense.mpc -o "$work/mnist_dense.mpcb"
echo "MNIST test image $index (true label $label):"
target/release/mpcvm run-local --protocol rep3 "$work/mnist_dense.mpcb" \
  --input 0=programs/mnist_dense/weights --input 1="$work/image.npy" --out "$work/out"

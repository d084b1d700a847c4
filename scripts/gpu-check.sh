#!/usr/bin/env bash
# GPU check for a host with an accelerator (or without one: then it says so and proves the WebGPU path on
# SwiftShader). Reports the GPU, the providers that load, the pixel difference of each from the CPU provider
# for both shipped models, and DDIM-50 / DDPM-1000 timings at batch 1 and 16 (scripts/gpu-check.ts).
# Usage: scripts/gpu-check.sh   (from the repository root; writes bench-results/gpu-check.md)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== GPU"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else
  echo "no nvidia-smi: no NVIDIA GPU or driver here"
fi

echo "== onnxruntime-node providers installed"
ort_bin=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
if [ -e "$ort_bin/libonnxruntime_providers_cuda.so" ]; then
  echo "CUDA provider library present"
else
  echo "CUDA provider library absent (install with ONNXRUNTIME_NODE_INSTALL=cuda12, docs/gpu.md)"
fi

echo "== Vulkan (WebGPU goes through Dawn on Vulkan)"
# A host with a GPU has its vendor's ICD in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d; without one, Debian's
# chromium ships SwiftShader, which runs Vulkan on the CPU: the WebGPU code path works there, slowly.
icds=$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null | grep -v lvp_icd || true)
swiftshader=/usr/lib/chromium/vk_swiftshader_icd.json
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -z "$icds" ] && [ -e "$swiftshader" ]; then
  echo "no GPU Vulkan driver; using SwiftShader ($swiftshader): WebGPU on the CPU, proof of the code path only"
  export VK_ICD_FILENAMES=$swiftshader
elif [ -n "$icds" ]; then
  echo "Vulkan drivers: $icds"
fi
if ! ls /usr/lib/*/libvulkan.so.1 /usr/lib/libvulkan.so.1 >/dev/null 2>&1 && [ -e /usr/lib/chromium/libvulkan.so.1 ]; then
  echo "no system Vulkan loader (apt install libvulkan1); using chromium's"
  export LD_LIBRARY_PATH=/usr/lib/chromium${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

echo "== providers, pixel differences and timings"
exec node --import tsx scripts/gpu-check.ts

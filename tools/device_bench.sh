#!/bin/bash
# The bench on a GPU machine lent through the workplace's `device` tool (no registry there), run
# from the repository root: `bash tools/device_bench.sh` with $OUT set; results in $OUT/all.tar.
# Carried (ignored) paths it expects, prepared on this machine:
#   .gl/                 Vulkan/GL loader .debs (apt-get download libvulkan1 libegl1 libglvnd0 …)
#   .devtools/deno.xz    the pinned Deno binary (xz; the raw binary is over the 64 MiB carry limit)
#   .devtools/denodir/npm/registry.npmjs.org/{semver,@webgpu}   Deno's npm cache for the library
#   .devtools/deno.json  {"imports": {"semver": "npm:semver@7.8.6"}, "unstable": ["webgpu"],
#                         "lock": false}  (the project's deno.json would fetch esbuild/playwright)
#   .bench-cache/tfjs-4.22.0.deno.js, bench/npm/node_modules/@jax-js   the peers (ORT-web is too big)
# Each step has its own timeout and the tarball is rewritten after each, so a cut run keeps what
# finished.
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
python3 -c "import lzma,shutil;shutil.copyfileobj(lzma.open('.devtools/deno.xz'),open('/tmp/deno','wb'))" && chmod +x /tmp/deno
export DENO_DIR=$PWD/.devtools/denodir XDG_RUNTIME_DIR=/tmp
D="/tmp/deno run -A --cached-only --config .devtools/deno.json"
R=/tmp/res; mkdir -p $R
pack() { tar cf $OUT/all.tar -C $R . ; }
step() { local t=$1 name=$2; shift 2; echo "== $name ($(date +%T))"; timeout $t "$@" > $R/$name.txt 2> $R/$name.err; echo "rc $? $(date +%T)"; tail -3 $R/$name.err; pack; }
nvidia-smi -L
$D bench/main.ts --device-info | tee $R/device.txt
step 45 peak $D bench/peak.ts --json $R/peak.json
cat $R/peak.txt
SYS=ours,ours-eager,tfjs-webgpu,jax-js
step 100 b_matmul $D bench/main.ts --only matmul --full --systems $SYS --json $R/b_matmul.json
step 90 b_red $D bench/main.ts --only matvec,gelu,softmax,layernorm,rmsnorm --systems $SYS --json $R/b_red.json
step 60 b_dec $D bench/main.ts --only decoder --systems $SYS --json $R/b_dec.json
step 60 b_disp $D bench/main.ts --only dispatch,compile --systems $SYS --json $R/b_disp.json
step 45 b_llm $D bench/main.ts --only llm --systems ours,ours-eager,tfjs-webgpu --json $R/b_llm.json
step 60 layouts $D bench/layouts.ts --rounds 3 --json $R/layouts.json
step 60 variants $D bench/matmul_variants.ts --shapes 1024,2048,4096 --reps 3 --only ours,sh64x64x16-4x4,sh128x128x8-8x8-p,sh128x128x16-8x8-p,sh64x128x16-4x8-p,sh64x64x16-4x4-p
step 60 b_tuned env WEBGPU_INDUCTOR_MAX_AUTOTUNE=1 $D bench/main.ts --only matmul,matvec,softmax,layernorm,rmsnorm,decoder --systems ours --json $R/b_tuned.json
cat $R/b_*.txt | grep -E "^(matmul|matvec|gelu|softmax|layernorm|rmsnorm|decoder|dispatch|compile|llm)" ; cat $R/variants.txt | tail -20

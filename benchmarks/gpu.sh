#!/usr/bin/env bash
# The GPU measurements of issues 4 and 5, as one prepared run on a machine with CUDA (no WeasyPrint needed).
#
#   benchmarks/gpu.sh ch2|ch1|ch1-build|report|env DATA OUT
#
# DATA is a folder laid out like ../shared (data/15SceneData, data/imagenet_val_25.npz, weights/); OUT receives
# the log and each cold build's results.json. `ch2` needs only the validation images and the weights, `ch1` the
# whole of 15 Scene too. Each part runs two configurations: the practical's networks with random weights (timing;
# configs/practical-random.toml) and the offline network with its real weights (configs/offline.toml: the answers
# computed on the GPU, and the mixed-precision accuracy check). DEVICE=cpu, PYTHON=..., STEPS=N (class-visualization
# steps of the chapter 2 comparison) and SETS="--set key=value ..." (passed to the builds) rehearse it on a CPU.
#
# Carrying the data to a lent machine (64 MiB a call): 15 Scene's train split, the validation images and the weights
# in one call, its test split in the next, back to back while the machine is warm. The repository's ignored folders
# do not survive from one call to the next there, but /tmp does: copy the first part to /tmp in its call, then
# assemble DATA from /tmp and the second part. With random weights the SVM sweeps of chapter 1 (`svm_c`,
# `layer_sweep`) converge slowly and are not representative: `ch1` times VGG16's extraction only, and the whole
# chapter with the offline network's real weights (CH1_RANDOM_BUILD= builds VGG16's chapter too). `ch1-build` builds
# chapter 1 cold with both configurations and nothing else (the extraction comparison left out), VGG16 first.
# `report` builds the whole report cold with the practical's networks (random weights), sequentially and then with
# `-j JOBS` (default 8: one worker has the GPU, the others run the SVM fits and other CPU work beside it), side by
# side (benchmarks/parallel.py); each build's results.json lands in OUT.
set -u
part=$1
data=$(cd "$2" && pwd)
out=$(mkdir -p "$3" && cd "$3" && pwd)
device=${DEVICE:-cuda}
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
mkdir -p gpu/configs
for c in offline practical-random; do
    sed "s#\.\./shared#$data#g" "configs/$c.toml" >"gpu/configs/$c.toml"
done

step() {  # step NAME SECONDS COMMAND...: run with a time limit, its output into the part's log
    local name=$1 limit=$2 start=$SECONDS
    shift 2
    echo "== $name"
    timeout "$limit" "$@" 2>&1
    echo "== $name: exit $? after $((SECONDS - start)) s"
}

{
    step env 60 sh -c "nvidia-smi -L 2>/dev/null; nproc; $py -c 'import sys, torch, torchvision, timm, sklearn, numpy
print(sys.version.split()[0], \"torch\", torch.__version__, \"torchvision\", torchvision.__version__, \"timm\",
      timm.__version__, \"sklearn\", sklearn.__version__, \"numpy\", numpy.__version__,
      torch.cuda.get_device_name() if torch.cuda.is_available() else \"no CUDA\")'"
    case $part in
    ch2)
        step cuda-tests 120 "$py" -m pytest -q -p no:cacheprovider -k cuda tests/experiments/methods
        step ch2-random 240 "$py" benchmarks/ch2.py --device "$device" --config "$PWD/gpu/configs/practical-random.toml" \
            --results "$out/ch2-random.json" ${STEPS:+--steps $STEPS} ${SETS:-}
        step ch2-offline 240 "$py" benchmarks/ch2.py --device "$device" --config "$PWD/gpu/configs/offline.toml" \
            --results "$out/ch2-offline.json" ${STEPS:+--steps $STEPS} ${SETS:-} ;;
    ch1)
        step ch1-random 300 "$py" benchmarks/ch1.py --device "$device" --config "$PWD/gpu/configs/practical-random.toml" \
            ${CH1_RANDOM_BUILD---no-build} --results "$out/ch1-random.json" ${SETS:-}
        step ch1-offline 300 "$py" benchmarks/ch1.py --device "$device" --config "$PWD/gpu/configs/offline.toml" \
            --results "$out/ch1-offline.json" ${SETS:-} ;;
    ch1-build)
        step ch1-random-build 300 "$py" benchmarks/ch1.py --device "$device" --build-only \
            --config "$PWD/gpu/configs/practical-random.toml" --results "$out/ch1-random.json" ${SETS:-}
        step ch1-offline-build 300 "$py" benchmarks/ch1.py --device "$device" --build-only \
            --config "$PWD/gpu/configs/offline.toml" --results "$out/ch1-offline.json" ${SETS:-} ;;
    report)
        step report 540 "$py" benchmarks/parallel.py --device "$device" -j "${JOBS:-8}" \
            --config "$PWD/gpu/configs/practical-random.toml" --results-dir "$out" ${SETS:-} ;;
    env) ;;
    *) echo "unknown part '$part': use ch2, ch1, ch1-build, report or env" ;;
    esac
} 2>&1 | tee "$out/$part.log"

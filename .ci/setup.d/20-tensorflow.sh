# The native tensorflow backend, by the offline route: TensorFlow's C library from the
# tensorflow-cpu wheel on PyPI, tfjs-node's binding compiled against it by `deno task setup`.
# The wheel, its unpacked library and the built binding stay in ~/.cache/voxlab/tensorflow, so a
# second run only copies the binding and runs the smoke test. Then the backend tests must run on
# tensorflow: VOXLAB_REQUIRE_TENSORFLOW=1 turns their "not installed" skip into a failure.
tf_cache="${XDG_CACHE_HOME:-$HOME/.cache}/voxlab/tensorflow"
tf_wheel_glob="tensorflow_cpu-2.21.0-cp311-cp311-manylinux*_x86_64.whl"
mkdir -p "$tf_cache"
tf_wheel=$(find "$tf_cache" -maxdepth 1 -name "$tf_wheel_glob" | head -n 1)
if [ -z "$tf_wheel" ]; then
  echo "ci: tensorflow: downloading the tensorflow-cpu 2.21.0 wheel (270 MB) from PyPI"
  # One fixed wheel (Python 3.11 tags), whatever Python runs pip, so the cache key is stable.
  timeout 900 python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux_2_27_x86_64 tensorflow-cpu==2.21.0 -d "$tf_cache"
  tf_wheel=$(find "$tf_cache" -maxdepth 1 -name "$tf_wheel_glob" | head -n 1)
fi
if ! command -v g++ >/dev/null 2>&1 && ! command -v c++ >/dev/null 2>&1; then
  echo "ci: tensorflow: installing a C++ compiler"
  tf_sudo=""
  [ "$(id -u)" -eq 0 ] || tf_sudo="sudo"
  timeout 300 $tf_sudo apt-get update -qq && timeout 600 $tf_sudo apt-get install -y -qq g++ >/dev/null
fi
timeout 900 deno task setup tensorflow --libtensorflow "$tf_wheel"
export VOXLAB_REQUIRE_TENSORFLOW=1

# CI part: a Python with torch for tests/torch_parity_test.ts (the PyTorch parity of
# exported weights, and the bench's PyTorch reference). Sourced by .ci/run.
#
# Uses $VOXLAB_PYTHON, else python3. When it cannot import torch, installs
# torch==2.13.0+cpu with pip (timeout-bounded; retried with --break-system-packages
# when the Python is externally managed). Exports VOXLAB_REQUIRE_TORCH=1 so that the
# parity tests fail, not skip, if torch is still missing. Safe to run twice: an
# installed torch is kept.
torch_python="${VOXLAB_PYTHON:-python3}"
torch_version="2.13.0+cpu"
torch_log="${TMPDIR:-/tmp}/voxlab-torch-pip.log"
if ! command -v "$torch_python" >/dev/null 2>&1; then
  echo "ci: torch: no '$torch_python' on PATH (set VOXLAB_PYTHON); the parity tests will fail"
elif "$torch_python" -c "import torch" >/dev/null 2>&1; then
  echo "ci: torch: $("$torch_python" -c 'import torch; print(torch.__version__)' 2>/dev/null) already installed"
else
  echo "ci: torch: installing torch==$torch_version with pip (log in $torch_log)"
  torch_start=$(date +%s)
  torch_pip=("$torch_python" -m pip install --disable-pip-version-check --retries 1 "torch==$torch_version")
  if ! timeout 900 "${torch_pip[@]}" >"$torch_log" 2>&1; then
    if grep -q "externally-managed-environment" "$torch_log"; then
      timeout 900 "${torch_pip[@]}" --break-system-packages >>"$torch_log" 2>&1 || true
    fi
  fi
  if "$torch_python" -c "import torch" >/dev/null 2>&1; then
    echo "ci: torch: installed in $(($(date +%s) - torch_start)) s"
  else
    echo "ci: torch: install failed; last lines of $torch_log:"
    tail -n 5 "$torch_log" || true
  fi
fi
export VOXLAB_PYTHON="$torch_python"
export VOXLAB_REQUIRE_TORCH=1
unset torch_python torch_version torch_log torch_start torch_pip
